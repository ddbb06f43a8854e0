"""Worker jobs of the feeds: react to stock changes, push one listing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tessera.feed.domain import PUSH_JOB
from tessera.feed.push import FeedPusher
from tessera.feed.service import FeedService
from tessera.job.registry import job_handler, periodic
from tessera.kit.time import ensure_utc, utcnow


@job_handler("stock.availability_changed")
def on_availability_changed(session: Session, payload: dict[str, Any]) -> None:
    """Queue a push for every listing the changed variants (and their bundles) appear in.

    The payload is ``{"variant_ids": [...], "changed_at": iso}`` (a ``workspace_id`` is used
    when present). Safe to run twice: the pushes send only quantities that changed.
    """
    raw = payload.get("changed_at")
    changed_at = ensure_utc(datetime.fromisoformat(raw)) if raw else utcnow()
    FeedService(session).on_stock_changed(
        [str(v) for v in payload.get("variant_ids", [])], changed_at, payload.get("workspace_id")
    )


@job_handler(PUSH_JOB)
def push_listing(session: Session, payload: dict[str, Any]) -> None:
    """Compute one listing's quantity from current balances and send it if it changed."""
    raw = payload.get("changed_at")
    FeedPusher(session).push_listing(
        payload["workspace_id"],
        payload["feed_id"],
        payload["listing_id"],
        ensure_utc(datetime.fromisoformat(raw)) if raw else None,
    )


@periodic("feed.reconciled", every=timedelta(minutes=15), priority=150)
def reconcile(session: Session, payload: dict[str, Any]) -> None:
    """Every 15 minutes, push again what is unsettled: never pushed, failed, or overdue."""
    FeedService(session).reconcile(datetime.fromisoformat(payload["slot"]))
