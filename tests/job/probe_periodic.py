"""A periodic kind for the multi-process test: every second, recorded in ``job_probe``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from tessera.job.registry import periodic
from tests.job.probes import record


@periodic("probe.ticked", every=timedelta(seconds=1))
def ticked(session: Session, payload: dict[str, Any]) -> None:
    record(session, payload["slot"])
