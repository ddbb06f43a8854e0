"""Metric snapshots: the scorecard's reports computed once per workspace, read many times.

Fitting lifetime value and attribution over every order takes seconds (10.6 s for the
scorecard at 100k customers), far too long for a page. So the reports over the default window
(the last 365 days, default parameters) are computed by a worker job and stored, one row per
report (``metric_snapshot``); the dashboard and ``/v1/reports`` read the newest row and show
its as-of time. A custom window is computed live, as before. When no snapshot exists yet the
first reader computes it once and stores it.

Freshness: stitched order events mark a workspace's snapshots stale (``mark_stale``: one
conditional UPDATE, nothing recomputed in the order's path); a periodic sweep queues a
refresh for each workspace whose snapshots are missing, stale or older than ``MAX_AGE`` (the
default window moves with the day); owners and marketers can queue one from the page, and
``tessera report refresh`` computes one at once. Two refreshes at once store one row per
report, the later computation's (``SnapshotRepository.store``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from tessera.analytics.report.repository import SnapshotRepository
from tessera.analytics.report.schemas import (
    AttributionReport,
    ClvReport,
    CustomerCountsReport,
    OmnichannelReport,
    RetentionReport,
)
from tessera.analytics.report.service import (
    DEFAULT_CHURN_DAYS,
    DEFAULT_CLV_MONTHS,
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_MONTHLY_DISCOUNT,
    ReportService,
)
from tessera.customer.profiles import ProfileService
from tessera.job.service import JobService
from tessera.kit.time import Clock, utcnow
from tessera.models.job import Job

OMNICHANNEL, RETENTION, ATTRIBUTION, CLV = "omnichannel", "retention", "attribution", "clv"
CUSTOMERS = "customer_counts"  # the customers list's counts: read fresh within COUNTS_AGE
COUNTS_AGE = timedelta(minutes=10)
SCORECARD = (OMNICHANNEL, RETENTION, ATTRIBUTION, CLV)
REFRESH_JOB = "report.snapshots_refreshed"
SWEEP_JOB = "report.snapshots_swept"
SWEEP_EVERY = timedelta(minutes=10)
MAX_AGE = timedelta(hours=1)
MODELS: dict[str, type[BaseModel]] = {
    OMNICHANNEL: OmnichannelReport,
    RETENTION: RetentionReport,
    ATTRIBUTION: AttributionReport,
    CLV: ClvReport,
    CUSTOMERS: CustomerCountsReport,
}
# The parameters each snapshot is computed with; the window is the default one, whose days
# are in the stored report.
DEFAULTS: dict[str, dict[str, Any]] = {
    OMNICHANNEL: {"window": "default"},
    RETENTION: {"window": "default", "group_by": "month", "churn_days": DEFAULT_CHURN_DAYS},
    ATTRIBUTION: {"window": "default", "group_by": "channel",
                  "lookback_days": DEFAULT_LOOKBACK_DAYS, "conversion_events": []},
    CLV: {"window": "default", "months": DEFAULT_CLV_MONTHS,
          "monthly_discount_rate": DEFAULT_MONTHLY_DISCOUNT},
    CUSTOMERS: {"counts": "all"},
}  # fmt: skip


def params_hash(params: dict[str, Any]) -> str:
    """SHA-256 of the parameters as canonical JSON: the snapshot's key with its kind."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


KEYS = {kind: params_hash(params) for kind, params in DEFAULTS.items()}


@dataclass(frozen=True)
class Snapshot:
    """One report as stored: the report itself (its window says when it was read) and when
    orders arrived after it, if they did."""

    kind: str
    report: BaseModel
    stale_since: datetime | None

    @property
    def as_of(self) -> datetime:
        as_of: datetime = self.report.window.as_of  # type: ignore[attr-defined]
        return as_of


@dataclass(frozen=True)
class Scorecard:
    """The four reports of the scorecard; ``is_snapshot`` False when computed live for a
    custom window (then nothing is stale)."""

    omnichannel: OmnichannelReport
    retention: RetentionReport
    attribution: AttributionReport
    lifetime: ClvReport
    is_snapshot: bool
    stale_since: datetime | None = None

    @property
    def as_of(self) -> datetime:
        """The oldest of the four reports' times: every number is at least this recent."""
        return min(
            r.window.as_of
            for r in (self.omnichannel, self.retention, self.attribution, self.lifetime)
        )


class SnapshotService:
    """Compute, store and read the scorecard's snapshots of one workspace. Never commits."""

    def __init__(
        self, session: Session, clock: Clock = utcnow, reports: ReportService | None = None
    ) -> None:
        self.session = session
        self.clock = clock
        self.reports = reports or ReportService(session, clock)
        self.repository = SnapshotRepository(session)

    # Computing ---------------------------------------------------------------------------------

    def compute(self, workspace_id: str, kind: str) -> BaseModel:
        """One report over the default window with the snapshot's parameters, computed now."""
        if kind == OMNICHANNEL:
            return self.reports.omnichannel(workspace_id)
        if kind == RETENTION:
            return self.reports.retention(workspace_id)
        if kind == ATTRIBUTION:
            return self.reports.attribution(workspace_id)
        if kind == CLV:
            return self.reports.lifetime_value(workspace_id)
        if kind == CUSTOMERS:
            counts = ProfileService(self.session).customer_counts(workspace_id)
            window = self.reports.window(workspace_id, None, None)
            return CustomerCountsReport(
                window=window, total=counts.total, omnichannel=counts.omnichannel,
                with_consent=counts.with_consent, by_channel=counts.by_channel,
            )  # fmt: skip
        raise ValueError(f"no snapshot of kind {kind!r}")

    def refresh(self, workspace_id: str, kinds: Sequence[str] = SCORECARD) -> dict[str, int]:
        """Compute each report now and store it unless a newer one is stored already; the
        milliseconds each took, by kind."""
        took: dict[str, int] = {}
        for kind in kinds:
            started = time.perf_counter()
            report = self.compute(workspace_id, kind)
            took[kind] = round(1000 * (time.perf_counter() - started))
            self._store(workspace_id, kind, report, took[kind])
        return took

    def _store(self, workspace_id: str, kind: str, report: BaseModel, took_ms: int) -> None:
        self.repository.store(
            workspace_id,
            kind,
            KEYS[kind],
            DEFAULTS[kind],
            report.window.as_of,  # type: ignore[attr-defined]
            report.model_dump_json(),
            took_ms,
            self.clock(),
        )

    # Reading -----------------------------------------------------------------------------------

    def stored(self, workspace_id: str, kinds: Sequence[str] = SCORECARD) -> dict[str, Snapshot]:
        """The stored snapshots of these kinds (those that exist), in one statement."""
        rows = self.repository.snapshots(workspace_id, [(kind, KEYS[kind]) for kind in kinds])
        return {
            row.kind: Snapshot(
                row.kind, MODELS[row.kind].model_validate_json(row.body), row.stale_since
            )
            for row in rows
            if row.params_hash == KEYS[row.kind]
        }

    def snapshot(self, workspace_id: str, kind: str) -> Snapshot:
        """The stored report of ``kind``; computed and stored first when there is none."""
        found = self.stored(workspace_id, (kind,)).get(kind)
        if found is not None:
            return found
        started = time.perf_counter()
        report = self.compute(workspace_id, kind)
        self._store(workspace_id, kind, report, round(1000 * (time.perf_counter() - started)))
        return Snapshot(kind, report, None)

    def customer_counts(self, workspace_id: str) -> CustomerCountsReport:
        """The customers list's counts: the stored ones while younger than ``COUNTS_AGE``,
        else counted now and stored (counting reads every profile's channels: about a second
        at 100,000 profiles, so a page pays it at most once per ten minutes)."""
        found = self.stored(workspace_id, (CUSTOMERS,)).get(CUSTOMERS)
        if found is not None and found.as_of > self.clock() - COUNTS_AGE:
            return found.report  # type: ignore[return-value]
        started = time.perf_counter()
        report = self.compute(workspace_id, CUSTOMERS)
        self._store(workspace_id, CUSTOMERS, report, round(1000 * (time.perf_counter() - started)))
        return report  # type: ignore[return-value]

    def scorecard(
        self, workspace_id: str, start: date | None = None, end: date | None = None
    ) -> Scorecard:
        """The scorecard over the default window from the snapshots (each missing one computed
        and stored once), or over ``start``..``end`` computed live."""
        if start is not None or end is not None:
            return self._live(workspace_id, start, end)
        found = self.stored(workspace_id)
        missing = [kind for kind in SCORECARD if kind not in found]
        if missing:
            self.refresh(workspace_id, missing)
            found.update(self.stored(workspace_id, missing))
        stale = [s.stale_since for s in found.values() if s.stale_since is not None]
        return Scorecard(
            omnichannel=found[OMNICHANNEL].report,  # type: ignore[arg-type]
            retention=found[RETENTION].report,  # type: ignore[arg-type]
            attribution=found[ATTRIBUTION].report,  # type: ignore[arg-type]
            lifetime=found[CLV].report,  # type: ignore[arg-type]
            is_snapshot=True,
            stale_since=min(stale, default=None),
        )

    def _live(self, workspace_id: str, start: date | None, end: date | None) -> Scorecard:
        omnichannel = self.reports.omnichannel(workspace_id, start, end)
        window = omnichannel.window
        return Scorecard(
            omnichannel=omnichannel,
            retention=self.reports.retention(workspace_id, window.start, window.end),
            attribution=self.reports.attribution(workspace_id, window.start, window.end),
            lifetime=self.reports.lifetime_value(workspace_id, window.end),
            is_snapshot=False,
        )

    # Freshness ---------------------------------------------------------------------------------

    def mark_stale(self, workspace_id: str) -> int:
        """Orders arrived: the workspace's snapshots are stale from now (marked once, however
        many orders follow until the next refresh); how many snapshots this marked."""
        return self.repository.mark_stale(workspace_id, self.clock())

    def due(self) -> list[str]:
        """Workspaces with orders whose scorecard snapshots are missing, stale or older than
        ``MAX_AGE``, in id order."""
        workspaces = self.repository.workspaces_with_orders()
        fresh_after = self.clock() - MAX_AGE
        fresh: dict[str, int] = {}
        for state in self.repository.states(workspaces, [(kind, KEYS[kind]) for kind in SCORECARD]):
            if state.stale_since is None and state.as_of >= fresh_after:
                fresh[state.workspace_id] = fresh.get(state.workspace_id, 0) + 1
        return [w for w in workspaces if fresh.get(w, 0) < len(SCORECARD)]

    def request_refresh(self, workspace_id: str, reason: str) -> Job:
        """Queue a refresh of the workspace's snapshots. Keyed by ``reason`` (a sweep's slot,
        or the as-of time of what a person was looking at), so asking twice for one reason
        queues one job."""
        return JobService(self.session).enqueue(
            REFRESH_JOB,
            {"workspace_id": workspace_id},
            workspace_id=workspace_id,
            priority=200,
            idempotency_key=f"{REFRESH_JOB}:{workspace_id}:{reason}",
        )
