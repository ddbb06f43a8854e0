"""Identify's jobs: stitch what Collect stored, and announce merges to other modules."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tessera.identity.intake import STITCH_JOB
from tessera.identity.service import SUBSCRIBERS, IdentityService, record_from_json
from tessera.job.registry import job_handler


@job_handler(STITCH_JOB)
def stitch(session: Session, payload: dict[str, Any]) -> None:
    """Link the identifiers of a batch of stored events; safe to run twice."""
    records = [record_from_json(r) for r in payload["records"]]
    IdentityService(session).stitch(payload["workspace_id"], records)


@job_handler("customer.merged")
def announce_merged(session: Session, payload: dict[str, Any]) -> None:
    """Tell every subscriber that two profiles became one."""
    for subscriber in SUBSCRIBERS["customer.merged"]:
        subscriber(session, payload)


@job_handler("customer.unmerged")
def announce_unmerged(session: Session, payload: dict[str, Any]) -> None:
    """Tell every subscriber that a merge was undone and which profiles came back."""
    for subscriber in SUBSCRIBERS["customer.unmerged"]:
        subscriber(session, payload)
