"""Orders: every channel's orders in one list (filters, search by number, cursor paging, CSV
export) and one order's page (lines, money, refunds, history, customer, holds, routing).

Everyone signed in may look; nothing here changes an order (orders change on their platform
and arrive through the connectors). Each page has its API twin: ``GET /v1/orders``,
``/v1/orders.csv`` and ``/v1/orders/{id}``, served by the same ``OrderService`` calls.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request, Response

from tessera.dashboard.session import SignedIn
from tessera.dashboard.web import DashboardRoute, money, query_string, render, zone_of
from tessera.http.routing import DbSession
from tessera.kit.errors import InvalidInput
from tessera.models.order import OrderStatus
from tessera.order.service import OrderService

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PAGE_SIZE = 50


def _day(value: str, field: str) -> date | None:
    """A day from a date field; an empty field (the form sends every field) is no limit."""
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{field} must be a day as YYYY-MM-DD", field=field) from None


@pages.get("/orders")
def orders(
    request: Request,
    member: SignedIn,
    session: DbSession,
    channel: str = "",
    status: str = "",
    placed_from: str = "",
    placed_to: str = "",
    store: str = "",
    number: str = "",
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> Response:
    """The list, newest first, a page at a time; the filters stay in the URL, so a filtered
    list is a link a colleague can open."""
    service = OrderService(session)
    where = service.make_filter(
        channel, status, _day(placed_from, "placed_from"), _day(placed_to, "placed_to"),
        store, None, number, zone_of(member),
    )  # fmt: skip
    page = service.list(member.workspace.id, cursor, limit, where)
    filters = query_string(
        channel=channel,
        status=status,
        placed_from=placed_from,
        placed_to=placed_to,
        store=store,
        number=number,
    )
    context = {
        "member": member,
        "page": page,
        "facets": service.facets(member.workspace.id),
        "statuses": [s.value for s in OrderStatus],
        "chosen": {
            "channel": channel,
            "status": status,
            "placed_from": placed_from,
            "placed_to": placed_to,
            "store": store,
            "number": number,
        },
        "filters": filters,
        "is_filtered": bool(filters),
        "next_url": f"/orders?{filters}&{query_string(cursor=page.next_cursor)}".replace("?&", "?")
        if page.next_cursor
        else None,
        "is_first_page": not cursor,
        "money": money,
    }
    return render(request, "orders.html", context)


@pages.get("/orders.csv")
def export(
    member: SignedIn,
    session: DbSession,
    channel: str = "",
    status: str = "",
    placed_from: str = "",
    placed_to: str = "",
    store: str = "",
    number: str = "",
) -> Response:
    """The filtered list as a CSV download, every page at once (up to the export limit)."""
    service = OrderService(session)
    where = service.make_filter(
        channel, status, _day(placed_from, "placed_from"), _day(placed_to, "placed_to"),
        store, None, number, zone_of(member),
    )  # fmt: skip
    text, truncated = service.export_csv(member.workspace.id, where)
    headers = {"Content-Disposition": 'attachment; filename="orders.csv"'}
    if truncated:
        headers["X-Truncated"] = "true"
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


@pages.get("/orders/{order_id}")
def order(request: Request, member: SignedIn, session: DbSession, order_id: str) -> Response:
    """One order; another workspace's order is not found."""
    record = OrderService(session).record(member.workspace.id, order_id)
    context = {"member": member, "record": record, "order": record.order, "money": money}
    return render(request, "order.html", context)
