"""The job system's own jobs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tessera.job.registry import periodic
from tessera.job.service import JobService

# Succeeded jobs are kept for 7 days (long enough to answer "did last week's sync run?" from
# the API), then deleted so the table holds what is pending, failing or recent. Dead and
# cancelled jobs are never pruned: an operator must look at them. An idempotency key is
# remembered only while its job is kept.
SUCCEEDED_RETENTION = timedelta(days=7)
PRUNE_BATCH = 5000


@periodic("job.pruned", every=timedelta(hours=1), priority=200)
def prune_succeeded_jobs(session: Session, payload: dict[str, Any]) -> None:
    """Delete succeeded jobs that finished 7 days before the slot, 5,000 per run.

    A full batch enqueues a follow-up run for the same slot at once, so a backlog drains in
    short transactions. Safe to run twice: rows already deleted are not deleted again. The
    cut-off comes from the payload's slot, not the clock, so a re-run deletes the same rows.
    """
    slot = datetime.fromisoformat(payload["slot"])
    service = JobService(session)
    deleted = service.prune_succeeded(slot - SUCCEEDED_RETENTION, PRUNE_BATCH)
    if deleted == PRUNE_BATCH:
        service.enqueue("job.pruned", {"slot": payload["slot"]}, priority=200)
