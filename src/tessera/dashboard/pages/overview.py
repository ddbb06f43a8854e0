"""The overview and the capability pages not built yet (Creators, Analytics; Sources,
Customers, Inventory and Journeys have their own modules). Capabilities that are not built yet
get an honest empty state: what will appear there and how data will get in, with no invented
numbers."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from tessera.collect.quarantine import QuarantineService
from tessera.collect.sources import SourceService
from tessera.dashboard import charts
from tessera.dashboard.pages.stock import oversold_rows
from tessera.dashboard.session import Member, SignedIn
from tessera.dashboard.web import DashboardRoute, render
from tessera.http.routing import DbSession
from tessera.job.service import JobService
from tessera.kit.time import utcnow
from tessera.models.workspace import ApiKeyKind
from tessera.order.service import OrderService
from tessera.workspace.service import WorkspaceService

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)

KEY_LISTING_LIMIT = 200
ORDER_DAYS = 30


@pages.get("/overview")
def overview(request: Request, member: SignedIn, session: DbSession) -> Response:
    """The workspace at a glance: events, orders by channel, open quarantine, members, keys,
    jobs, and stock oversold with the orders waiting on it."""
    service = WorkspaceService(session)
    workspace_id = member.workspace.id
    member_count = len(service.members(workspace_id))
    active = service.list_api_keys(workspace_id, limit=KEY_LISTING_LIMIT, include_revoked=False)
    job_service = JobService(session)
    job_counts = job_service.count_by_status(workspace_id)
    hourly = job_service.finished_per_hour(workspace_id, utcnow())
    finished_today = sum(bucket.count for bucket in hourly)
    now = utcnow()
    first_day = (now - timedelta(days=ORDER_DAYS - 1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    orders = OrderService(session)
    orders_by_channel = orders.counts_by_channel(workspace_id, first_day)
    events_by_channel = SourceService(session).source_activity(workspace_id, hours=24)
    context = {
        "member": member,
        "events_24h": sum(events_by_channel.values()),
        "event_channels_24h": len(events_by_channel),
        "orders_30d": sum(orders_by_channel.values()),
        "orders_by_channel": sorted(orders_by_channel.items(), key=lambda item: -item[1]),
        "open_quarantine": QuarantineService(session).counts(workspace_id).get("open", 0),
        "orders_chart": charts.per_day_by_channel(
            orders.per_day(workspace_id, first_day), first_day, ORDER_DAYS, "Orders"
        ),
        "order_days": ORDER_DAYS,
        "member_count": member_count,
        "secret_keys": sum(1 for key in active.items if key.kind is ApiKeyKind.SECRET),
        "public_keys": sum(1 for key in active.items if key.kind is ApiKeyKind.PUBLIC),
        "keys_truncated": active.next_cursor is not None,
        "job_counts": job_counts,
        "job_total": sum(job_counts.values()),
        "finished_today": finished_today,
        "chart": charts.jobs_finished_per_hour(hourly),
        "oversold": oversold_rows(session, workspace_id),
    }
    return render(request, "overview.html", context)


def _capability(request: Request, member: Member, template: str) -> Response:
    return render(request, template, {"member": member})


@pages.get("/creators")
def creators(request: Request, member: SignedIn) -> Response:
    return _capability(request, member, "creators.html")


@pages.get("/analytics")
def analytics(request: Request, member: SignedIn) -> Response:
    return _capability(request, member, "analytics.html")
