"""Sources: per channel and source, events and orders per hour, last seen and errors; a live
tail of incoming events; the quarantine with reasons, where a person fixes and replays."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from tessera.collect.quarantine import QuarantineService, parse_group_token
from tessera.collect.service import CollectService
from tessera.collect.sources import SourceService
from tessera.dashboard import charts
from tessera.dashboard.session import SignedIn, flash
from tessera.dashboard.web import DashboardRoute, link, query_string, render
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
QUARANTINE_LIMIT = 50
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
    request: Request,
    member: SignedIn,
    session: DbSession,
    status: str = "open",
    group: str = "",
    cursor: str | None = None,
) -> Response:
    """Refused records grouped by source and reason, then listed (one group's, or all) with
    their reason, field and origin; open ones can be replayed or discarded, alone or in bulk."""
    try:
        chosen = QuarantineStatus(status) if status != "all" else None
    except ValueError:
        raise InvalidInput(
            "status must be open, replayed, discarded or all", field="status"
        ) from None
    service = QuarantineService(session)
    key = parse_group_token(group) if group else None
    page = service.list_quarantine(member.workspace.id, chosen, cursor, QUARANTINE_LIMIT, key)
    groups = service.groups(member.workspace.id, chosen)
    here = query_string(status=status, group=group)
    context = {
        "member": member,
        "entries": [(entry, _pretty(entry.raw)) for entry in page.items],
        "status": status,
        "counts": service.counts(member.workspace.id),
        "groups": groups,
        "group": group,
        "chosen_group": next((g for g in groups if g.token == group), None),
        "here": here,
        "next_url": link("/sources/quarantine", status=status, group=group, cursor=page.next_cursor)
        if page.next_cursor
        else None,
        "is_first_page": not cursor,
        "can_replay": member.can(Role.MARKETER),
    }
    return render(request, "sources_quarantine.html", context)


@pages.post("/sources/quarantine/bulk")
def bulk(
    request: Request,
    member: SignedIn,
    session: DbSession,
    action: Annotated[str, Form()] = "",
    ids: Annotated[list[str] | None, Form()] = None,
    group: Annotated[str, Form()] = "",
    why: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    """Replay or discard the ticked entries, or every open entry of a group (a discard needs
    a note); each entry succeeds or fails alone."""
    member.require(Role.MARKETER)
    back_url = "/sources/quarantine" + (f"?{back}" if _is_query(back) else "")
    service = QuarantineService(session)
    chosen = list(ids or [])
    if group:
        chosen = service.open_ids_in_group(member.workspace.id, parse_group_token(group))
    if not chosen:
        flash(request, "Tick at least one entry.", "error")
        return RedirectResponse(back_url, status_code=303)
    if action == "discard" and not why.strip():
        flash(request, "Say why these records are discarded.", "error")
        return RedirectResponse(back_url, status_code=303)
    if action == "replay":
        outcomes = service.replay_many(member.workspace.id, chosen, actor=member.user.id)
    elif action == "discard":
        outcomes = service.discard_many(member.workspace.id, chosen, why, actor=member.user.id)
    else:
        raise InvalidInput("action must be replay or discard", field="action")
    done = sum(o.is_done for o in outcomes)
    verb = "Replayed" if action == "replay" else "Discarded"
    failures = [o for o in outcomes if not o.is_done]
    if failures:
        first = failures[0]
        flash(
            request,
            f"{verb} {done} of {len(outcomes)}. Not {first.entry_id}: {first.detail}"
            + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""),
            "error",
        )
    else:
        flash(request, f"{verb} {done} of {len(outcomes)}.", "success")
    return RedirectResponse(back_url, status_code=303)


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
    """Close a record without applying it, with a note saying why; the record stays readable."""
    member.require(Role.MARKETER)
    if not why.strip():
        flash(request, "Say why the record is discarded.", "error")
        return RedirectResponse(f"/sources/quarantine#{entry_id}", status_code=303)
    QuarantineService(session).discard(member.workspace.id, entry_id, why, actor=member.user.id)
    flash(request, f"Discarded {entry_id}.", "success")
    return RedirectResponse("/sources/quarantine", status_code=303)


def _is_query(text: str) -> bool:
    """A query string the page itself made (no scheme, host or path): safe to go back to."""
    return len(text) < 3000 and all(c.isalnum() or c in "=&%_-." for c in text)


def _pretty(raw: str) -> str:
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except (json.JSONDecodeError, ValueError):
        return raw
