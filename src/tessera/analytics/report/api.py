"""``/v1/reports``: retention cohorts, omnichannel share and attribution, read-only.

Anyone with a key reads. ``from`` and ``to`` are days in the workspace's zone (``to``
inclusive); a bad parameter is 422 problem+json naming it, a range with no orders an empty
report whose ``window.reason`` says so. Asked with the default window and parameters, a report
is the workspace's newest metric snapshot (``window.as_of`` says when it was read; see
``snapshots``); anything else is computed for the request.
"""

from __future__ import annotations

from datetime import date

from fastapi import Query

from tessera.analytics.report.schemas import (
    AttributionReport,
    ClvReport,
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
from tessera.analytics.report.snapshots import (
    ATTRIBUTION,
    CLV,
    OMNICHANNEL,
    RETENTION,
    SnapshotService,
)
from tessera.http.routing import DbSession, router
from tessera.workspace.auth import Viewer

api = router(prefix="/v1", tags=["reports"])
From = Query(default=None, alias="from", description="First day, in the workspace's zone")
To = Query(default=None, alias="to", description="Last day (inclusive), workspace's zone")


@api.get("/reports/retention", response_model=RetentionReport, summary="Retention cohorts")
def retention_report(
    principal: Viewer,
    session: DbSession,
    start: date | None = From,
    end: date | None = To,
    group_by: str = Query(default="month", description="month, or channel (acquisition)"),
    churn_days: int = Query(default=DEFAULT_CHURN_DAYS, description="Churned: no order in N days"),
) -> RetentionReport:
    if start is None and end is None and group_by == "month" and churn_days == DEFAULT_CHURN_DAYS:
        stored = SnapshotService(session).snapshot(principal.workspace_id, RETENTION).report
        return RetentionReport.model_validate(stored, from_attributes=True)
    return ReportService(session).retention(
        principal.workspace_id, start, end, group_by=group_by, churn_days=churn_days
    )


@api.get("/reports/omnichannel", response_model=OmnichannelReport, summary="Omnichannel share")
def omnichannel_report(
    principal: Viewer, session: DbSession, start: date | None = From, end: date | None = To
) -> OmnichannelReport:
    if start is None and end is None:
        stored = SnapshotService(session).snapshot(principal.workspace_id, OMNICHANNEL).report
        return OmnichannelReport.model_validate(stored, from_attributes=True)
    return ReportService(session).omnichannel(principal.workspace_id, start, end)


@api.get("/reports/attribution", response_model=AttributionReport, summary="Attribution")
def attribution_report(
    principal: Viewer,
    session: DbSession,
    start: date | None = From,
    end: date | None = To,
    model: str | None = Query(default=None, description="One model; every model when absent"),
    group_by: str = Query(default="channel", description="channel or campaign"),
    lookback_days: int = Query(default=DEFAULT_LOOKBACK_DAYS, description="Touches this recent"),
    conversion_event: list[str] = Query(
        default_factory=list, description="Event names that also count as conversions"
    ),
) -> AttributionReport:
    if (start, end, model, group_by, lookback_days, conversion_event) == (
        None,
        None,
        None,
        "channel",
        DEFAULT_LOOKBACK_DAYS,
        [],
    ):
        stored = SnapshotService(session).snapshot(principal.workspace_id, ATTRIBUTION).report
        return AttributionReport.model_validate(stored, from_attributes=True)
    return ReportService(session).attribution(
        principal.workspace_id,
        start,
        end,
        model=model,
        group_by=group_by,
        lookback_days=lookback_days,
        conversion_events=tuple(conversion_event),
    )


@api.get("/reports/clv", response_model=ClvReport, summary="Customer lifetime value")
def clv_report(
    principal: Viewer,
    session: DbSession,
    end: date | None = To,
    months: int = Query(default=DEFAULT_CLV_MONTHS, description="Horizon in months (1-120)"),
    monthly_discount_rate: float = Query(
        default=DEFAULT_MONTHLY_DISCOUNT, description="0.01 is 1 % a month"
    ),
) -> ClvReport:
    if (end, months, monthly_discount_rate) == (None, DEFAULT_CLV_MONTHS, DEFAULT_MONTHLY_DISCOUNT):
        stored = SnapshotService(session).snapshot(principal.workspace_id, CLV).report
        return ClvReport.model_validate(stored, from_attributes=True)
    return ReportService(session).lifetime_value(
        principal.workspace_id, end, months=months, monthly_discount_rate=monthly_discount_rate
    )
