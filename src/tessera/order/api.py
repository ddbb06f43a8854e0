"""``/v1/orders``: canonical orders from every channel, with their lines and refunds."""

from __future__ import annotations

from fastapi import Query

from tessera.http.routing import DbSession, router
from tessera.order.schemas import OrderDetail, OrderOut, OrderPage
from tessera.order.service import OrderService
from tessera.workspace.auth import Viewer

api = router(prefix="/v1", tags=["orders"])


@api.get("/orders", response_model=OrderPage, summary="Orders from every channel, newest first")
def list_orders(
    principal: Viewer,
    session: DbSession,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    channel: str | None = Query(default=None, description="A channel key: web, store:soho..."),
    email: str | None = Query(default=None, description="The customer's email, any case"),
) -> OrderPage:
    page = OrderService(session).list(principal.workspace_id, cursor, limit, channel, email)
    return OrderPage(items=[OrderOut.of(o) for o in page.items], next_cursor=page.next_cursor)


@api.get("/orders/{order_id}", response_model=OrderDetail, summary="One order, lines and refunds")
def get_order(order_id: str, principal: Viewer, session: DbSession) -> OrderDetail:
    order, lines, refunds = OrderService(session).get(principal.workspace_id, order_id)
    return OrderDetail.of_parts(order, list(lines), list(refunds))
