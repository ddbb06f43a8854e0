"""``/v1/orders``: canonical orders from every channel, filtered, paged and exported as CSV,
and one order with its lines, refunds, history, customer, holds and routing."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query
from fastapi.responses import Response

from tessera.http.routing import DbSession, router
from tessera.order.domain import OrderFilter
from tessera.order.schemas import OrderDetail, OrderOut, OrderPage
from tessera.order.service import OrderService
from tessera.workspace.auth import Viewer

api = router(prefix="/v1", tags=["orders"])


def order_filter(
    channel: str | None = Query(default=None, description="A channel key: web, store:soho..."),
    status: str | None = Query(default=None, description="placed, fulfilled, refunded..."),
    placed_from: date | None = Query(default=None, description="First UTC day, included"),
    placed_to: date | None = Query(default=None, description="Last UTC day, included"),
    store: str | None = Query(default=None, description="The store (location reference)"),
    email: str | None = Query(default=None, description="The customer's email, any case"),
    number: str | None = Query(default=None, description="The order number, with or without #"),
) -> OrderFilter:
    return OrderService.make_filter(channel, status, placed_from, placed_to, store, email, number)


Filter = Annotated[OrderFilter, Depends(order_filter)]


@api.get("/orders", response_model=OrderPage, summary="Orders from every channel, newest first")
def list_orders(
    principal: Viewer,
    session: DbSession,
    where: Filter,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
) -> OrderPage:
    page = OrderService(session).list(principal.workspace_id, cursor, limit, where)
    return OrderPage(items=[OrderOut.of(o) for o in page.items], next_cursor=page.next_cursor)


@api.get(
    "/orders.csv",
    summary="The same orders as CSV, every page at once",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_orders(principal: Viewer, session: DbSession, where: Filter) -> Response:
    text, truncated = OrderService(session).export_csv(principal.workspace_id, where)
    headers = {"Content-Disposition": 'attachment; filename="orders.csv"'}
    if truncated:  # said where a script will look, since the file itself stays plain CSV
        headers["X-Truncated"] = "true"
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


@api.get(
    "/orders/{order_id}",
    response_model=OrderDetail,
    summary="One order: lines, refunds, history, customer, holds and routing",
)
def get_order(order_id: str, principal: Viewer, session: DbSession) -> OrderDetail:
    return OrderDetail.of_record(OrderService(session).record(principal.workspace_id, order_id))
