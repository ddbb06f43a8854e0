"""Job kinds for the multi-process tests; worker processes import this module through
TESSERA_JOB_MODULES. Each run writes a row to ``job_probe`` in the job's own transaction, so a
job whose effect committed twice shows up as two rows (the table has no unique constraint on
purpose: it counts, it does not prevent)."""

from __future__ import annotations

import os
import time
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from tessera.job.registry import job_handler

CREATE_TABLE = "CREATE TABLE job_probe (job_key VARCHAR(100) NOT NULL, pid INTEGER NOT NULL)"


def create_probe_table(connection: Connection) -> None:
    connection.execute(text("DROP TABLE IF EXISTS job_probe"))
    connection.execute(text(CREATE_TABLE))


def record(session: Session, key: str) -> None:
    session.execute(
        text("INSERT INTO job_probe (job_key, pid) VALUES (:key, :pid)"),
        {"key": key, "pid": os.getpid()},
    )


@job_handler("probe.recorded")
def recorded(session: Session, payload: dict[str, Any]) -> None:
    """Sleeps ``wait`` seconds, records the run, then holds the transaction ``hold`` seconds
    (so a worker killed then dies with the record uncommitted)."""
    time.sleep(payload.get("wait", 0))
    record(session, payload["key"])
    time.sleep(payload.get("hold", 0))


@job_handler("probe.batched", batchable=True)
def batched(session: Session, payload: dict[str, Any]) -> None:
    """``probe.recorded`` for a batchable kind: the worker runs several in one transaction."""
    recorded(session, payload)
