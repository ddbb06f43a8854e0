"""The overview and the capability pages not built yet (Creators, Analytics; Sources,
Customers, Inventory and Journeys have their own modules). Capabilities that are not built yet
get an honest empty state: what will appear there and how data will get in, with no invented
numbers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from tessera.analytics.overview.domain import CUSTOM, Period, change, period
from tessera.analytics.overview.service import AnalyticsService, Comparison
from tessera.collect.quarantine import QuarantineService
from tessera.collect.sources import SourceService
from tessera.dashboard import charts
from tessera.dashboard.pages.stock import oversold_rows
from tessera.dashboard.session import SignedIn
from tessera.dashboard.web import DashboardRoute, money, render, zone_name, zone_of
from tessera.http.routing import DbSession
from tessera.job.service import JobService
from tessera.kit.errors import InvalidInput
from tessera.kit.time import utcnow
from tessera.models.workspace import ApiKeyKind
from tessera.order.service import OrderService
from tessera.workspace.service import WorkspaceService

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)

KEY_LISTING_LIMIT = 200
ORDER_DAYS = 30
SHORTEST_CHART_DAYS = 7
RANGE_LABELS = {"today": "Today", "7d": "7 days", "30d": "30 days", CUSTOM: "Custom"}


def _day(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{field} must be a day as YYYY-MM-DD", field=field) from None


def kpis(compared: Comparison, currency: str) -> list[dict[str, Any]]:
    """The four figures with their values before and their change in percent."""
    now, then = compared.current, compared.previous
    rows = (
        ("Revenue", now.revenue, then.revenue, True),
        ("Orders", now.orders, then.orders, False),
        ("Average order value", now.average_order_value, then.average_order_value, True),
        ("New customers", now.new_customers, then.new_customers, False),
    )
    return [
        {
            "label": label,
            "value": _shown(value, currency, is_money),
            "before": _shown(before, currency, is_money),
            "change": change(value, before),
        }
        for label, value, before, is_money in rows
    ]


def _shown(value: int | None, currency: str, is_money: bool) -> str:
    if value is None:
        return "—"
    return money(value, currency) if is_money else f"{value:,}"


def _days_label(chosen: Period) -> str:
    if chosen.days == 1:
        return chosen.first_day.isoformat()
    return f"{chosen.first_day.isoformat()} to {chosen.last_day.isoformat()}"


@pages.get("/overview")
def overview(
    request: Request,
    member: SignedIn,
    session: DbSession,
    range_: str = Query("30d", alias="range"),
    first: str = Query("", alias="from"),
    last: str = Query("", alias="to"),
) -> Response:
    """The workspace at a glance: revenue, orders, average order value and new customers over
    a range of days in the workspace's zone and currency, next to the period before; events,
    orders by channel, open quarantine, members, keys, jobs, and stock oversold with the
    orders waiting on it."""
    zone = zone_of(member)
    currency = member.workspace.currency
    chosen = period(range_, request.app.state.clock(), zone, _day(first, "from"), _day(last, "to"))
    analytics = AnalyticsService(session)
    compared = analytics.compare(member.workspace.id, chosen, zone, currency)
    chart_days = max(chosen.days, SHORTEST_CHART_DAYS)
    chart_first = chosen.last_day - timedelta(days=chart_days - 1)
    per_day = analytics.orders_per_day(member.workspace.id, chart_first, chart_days, zone)
    by_channel: dict[str, int] = {}
    for (day, channel), count in per_day.items():
        if day >= chosen.first_day:
            by_channel[channel] = by_channel.get(channel, 0) + count
    service = WorkspaceService(session)
    workspace_id = member.workspace.id
    member_count = len(service.members(workspace_id))
    active = service.list_api_keys(workspace_id, limit=KEY_LISTING_LIMIT, include_revoked=False)
    job_service = JobService(session)
    job_counts = job_service.count_by_status(workspace_id)
    now = utcnow()
    orders_30d = OrderService(session).counts_by_channel(
        workspace_id, now - timedelta(days=ORDER_DAYS)
    )
    events_by_channel = SourceService(session).source_activity(workspace_id, hours=24)
    context = {
        "member": member,
        "events_24h": sum(events_by_channel.values()),
        "event_channels_24h": len(events_by_channel),
        "orders_30d": sum(orders_30d.values()),
        "order_channels_30d": len(orders_30d),
        "range": range_,
        "ranges": RANGE_LABELS,
        "chosen": chosen,
        "chosen_label": _days_label(chosen),
        "compared_label": _days_label(compared.before),
        "custom_from": first or chosen.first_day.isoformat(),
        "custom_to": last or chosen.last_day.isoformat(),
        "kpis": kpis(compared, currency),
        "currency": currency,
        "zone": zone_name(member),
        "orders_in_range": sum(by_channel.values()),
        "orders_by_channel": sorted(by_channel.items(), key=lambda item: -item[1]),
        "open_quarantine": QuarantineService(session).counts(workspace_id).get("open", 0),
        "orders_chart": charts.per_day_by_channel(
            per_day, chart_first, chart_days, "Orders", zone_name(member)
        ),
        "chart_days": chart_days,
        "order_days": ORDER_DAYS,
        "member_count": member_count,
        "secret_keys": sum(1 for key in active.items if key.kind is ApiKeyKind.SECRET),
        "public_keys": sum(1 for key in active.items if key.kind is ApiKeyKind.PUBLIC),
        "keys_truncated": active.next_cursor is not None,
        "job_counts": job_counts,
        "job_total": sum(job_counts.values()),
        "oversold": oversold_rows(session, workspace_id),
    }
    return render(request, "overview.html", context)


@pages.get("/analytics")
def analytics() -> Response:
    """The page that promised Measure before it was built: the scorecard is it now."""
    return RedirectResponse("/measure", status_code=308)
