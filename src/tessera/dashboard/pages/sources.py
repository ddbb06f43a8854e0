"""Sources: per channel and source, events and orders per hour, last seen and errors; a live
tail of incoming events; the quarantine with reasons, where a person fixes and replays."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from tessera.collect.quarantine import QuarantineService
from tessera.collect.service import CollectService
from tessera.collect.sources import SourceService
from tessera.dashboard import charts
from tessera.dashboard.session import SignedIn, flash
from tessera.dashboard.web import DashboardRoute, render
from tessera.http.routing import DbSession
from tessera.kit.errors import InvalidInput, Problem
from tessera.kit.time import utcnow
from tessera.models.collect import QuarantineStatus
from tessera.models.workspace import ApiKeyKind, Role
from tessera.order.service import OrderService
from tessera.workspace.service import WorkspaceService

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)

CHART_HOURS = 48
TAIL_LIMIT = 25
QUARANTINE_LIMIT = 100
KEY_LISTING_LIMIT = 200


@pages.get("/sources")
def sources(request: Request, member: SignedIn, session: DbSession) -> Response:
    """Channels and sources with their volume, last event and open quarantine entries."""
    workspace_id = member.workspace.id
    now = utcnow()
    activity = SourceService(session).activity(workspace_id, now, CHART_HOURS)
    orders = OrderService(session)
    first_hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=CHART_HOURS - 1)
    order_hours = orders.per_hour(workspace_id, first_hour)
    orders_30d = orders.counts_by_channel(workspace_id, now - timedelta(days=30))
    write_keys = [
        key
        for key in WorkspaceService(session)
        .list_api_keys(workspace_id, limit=KEY_LISTING_LIMIT, include_revoked=False)
        .items
        if key.kind is ApiKeyKind.PUBLIC
    ]
    context: dict[str, Any] = {
        "member": member,
        "activity": activity,
        "orders_30d": orders_30d,
        "events_chart": charts.per_hour_by_channel(
            [(b.hour, b.channel, b.count) for b in activity.hourly], "Events"
        ),
        "orders_chart": charts.per_hour_by_channel(
            charts.fill_hours(order_hours, first_hour, CHART_HOURS), "Orders"
        ),
        "events_in_window": sum(b.count for b in activity.hourly),
        "orders_in_window": sum(order_hours.values()),
        "open_quarantine": sum(s.open_quarantine for s in activity.sources)
        + activity.unattributed_quarantine,
        "write_keys": write_keys,
        "base_url": str(request.base_url).rstrip("/"),
        "can_create_keys": member.can(Role.ADMIN),
        "chart_hours": CHART_HOURS,
    }
    return render(request, "sources.html", context)


@pages.get("/sources/tail")
def tail(request: Request, member: SignedIn, session: DbSession) -> Response:
    """The newest events, for the live tail (the page polls this every few seconds)."""
    events = CollectService(session).list_events(member.workspace.id, limit=TAIL_LIMIT).items
    return render(request, "_events_tail.html", {"member": member, "events": events})


@pages.get("/sources/quarantine")
def quarantine(
    request: Request, member: SignedIn, session: DbSession, status: str = "open"
) -> Response:
    """Refused records with their reason, field and origin; open ones can be replayed."""
    try:
        chosen = QuarantineStatus(status) if status != "all" else None
    except ValueError:
        raise InvalidInput(
            "status must be open, replayed, discarded or all", field="status"
        ) from None
    service = QuarantineService(session)
    entries = service.list_quarantine(member.workspace.id, chosen, limit=QUARANTINE_LIMIT).items
    counts = service.counts(member.workspace.id)
    context = {
        "member": member,
        "entries": [(entry, _pretty(entry.raw)) for entry in entries],
        "status": status,
        "counts": counts,
        "limit": QUARANTINE_LIMIT,
        "can_replay": member.can(Role.MARKETER),
    }
    return render(request, "sources_quarantine.html", context)


@pages.post("/sources/quarantine/{entry_id}/replay")
def replay(
    request: Request,
    member: SignedIn,
    session: DbSession,
    entry_id: str,
    payload: Annotated[str, Form()] = "",
) -> Response:
    """Replay a record as stored, or as edited in the page; marketers and above."""
    member.require(Role.MARKETER)
    fixed: Any = None
    if payload.strip():
        try:
            fixed = json.loads(payload)
        except json.JSONDecodeError as exc:
            flash(request, f"The edited record is not valid JSON: {exc}", "error")
            return RedirectResponse(f"/sources/quarantine#{entry_id}", status_code=303)
    try:
        entry = QuarantineService(session).replay(
            member.workspace.id, entry_id, fixed, actor=member.user.id
        )
    except Problem as problem:
        if problem.status not in (409, 422):
            raise
        flash(request, f"Not replayed: {problem.detail}", "error")
        return RedirectResponse(f"/sources/quarantine#{entry_id}", status_code=303)
    flash(request, f"Replayed {entry.id}: {entry.resolution}", "success")
    return RedirectResponse("/sources/quarantine", status_code=303)


@pages.post("/sources/quarantine/{entry_id}/discard")
def discard(
    request: Request,
    member: SignedIn,
    session: DbSession,
    entry_id: str,
    why: Annotated[str, Form()] = "",
) -> Response:
    """Close a record without applying it; the record stays readable."""
    member.require(Role.MARKETER)
    QuarantineService(session).discard(
        member.workspace.id, entry_id, why.strip() or "discarded in the dashboard",
        actor=member.user.id,
    )  # fmt: skip
    flash(request, f"Discarded {entry_id}.", "success")
    return RedirectResponse("/sources/quarantine", status_code=303)


def _pretty(raw: str) -> str:
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except (json.JSONDecodeError, ValueError):
        return raw
