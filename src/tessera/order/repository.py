"""Every SQL statement of the orders domain."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select

from tessera.db.base import RepositoryBase
from tessera.db.buckets import hour_number
from tessera.db.statements import insert_ignoring_conflicts
from tessera.models.order import Order, OrderLine, OrderRefund
from tessera.order.domain import OrderFilter


@dataclass(frozen=True, slots=True)
class OrderFacets:
    """The values the orders' filters can take in one workspace."""

    channels: tuple[str, ...]
    stores: tuple[str, ...]


class OrderRepository(RepositoryBase):
    def claim_order_row(self, values: dict[str, Any]) -> bool:
        """Insert the order if its (workspace, platform, external id) is new; True if inserted."""
        inserted = insert_ignoring_conflicts(
            self.session, Order, [values], ("workspace_id", "platform", "external_id"), "id"
        )
        return bool(inserted)

    def locked_order(self, workspace_id: str, platform: str, external_id: str) -> Order:
        """The order row, locked until the transaction ends (concurrent webhooks queue here)."""
        query = select(Order).where(
            Order.workspace_id == workspace_id,
            Order.platform == platform,
            Order.external_id == external_id,
        )
        if self.dialect == "postgresql":
            query = query.with_for_update()
        order = self.session.scalars(query.execution_options(populate_existing=True)).one()
        return order

    def replace_lines(self, order_id: str, lines: Sequence[dict[str, Any]]) -> None:
        self.session.execute(delete(OrderLine).where(OrderLine.order_id == order_id))
        if lines:
            self.session.execute(
                OrderLine.__table__.insert(),  # type: ignore[attr-defined]
                [{**line, "order_id": order_id} for line in lines],
            )

    def add_refunds(self, rows: Sequence[dict[str, Any]]) -> list[str]:
        """Insert refunds not seen before; returns the external ids that were new."""
        return insert_ignoring_conflicts(
            self.session, OrderRefund, rows, ("order_id", "external_id"), "external_id"
        )

    def refunded_total(self, order_id: str) -> int:
        total = self.session.scalar(
            select(func.coalesce(func.sum(OrderRefund.amount), 0)).where(
                OrderRefund.order_id == order_id
            )
        )
        return int(total or 0)

    def order_by_external_id(
        self, workspace_id: str, platform: str, external_id: str
    ) -> Order | None:
        return self.session.scalar(
            select(Order).where(
                Order.workspace_id == workspace_id,
                Order.platform == platform,
                Order.external_id == external_id,
            )
        )

    def order(self, workspace_id: str, order_id: str) -> Order | None:
        return self.session.scalar(
            select(Order).where(Order.workspace_id == workspace_id, Order.id == order_id)
        )

    def orders_by_id(self, workspace_id: str, ids: Collection[str]) -> Sequence[Order]:
        if not ids:
            return []
        return self.session.scalars(
            select(Order).where(Order.workspace_id == workspace_id, Order.id.in_(ids))
        ).all()

    def orders_by_number(self, workspace_id: str, numbers: Sequence[str]) -> Sequence[Order]:
        if not numbers:
            return []
        return self.session.scalars(
            select(Order)
            .where(Order.workspace_id == workspace_id, Order.order_number.in_(numbers))
            .order_by(Order.id)
        ).all()

    def lines(self, order_id: str) -> Sequence[OrderLine]:
        return self.session.scalars(
            select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.line_key)
        ).all()

    def refunds(self, order_id: str) -> Sequence[OrderRefund]:
        return self.session.scalars(
            select(OrderRefund)
            .where(OrderRefund.order_id == order_id)
            .order_by(OrderRefund.external_id)
        ).all()

    def orders(
        self, workspace_id: str, after_id: str | None, limit: int, where: OrderFilter
    ) -> Sequence[Order]:
        """A page of orders matching ``where``, newest id first, after ``after_id``."""
        query = select(Order).where(Order.workspace_id == workspace_id)
        if after_id:
            query = query.where(Order.id < after_id)
        if where.channel:
            query = query.where(Order.channel == where.channel)
        if where.status is not None:
            query = query.where(Order.status == where.status)
        if where.placed_from is not None:
            query = query.where(Order.placed_at >= where.placed_from)
        if where.placed_to is not None:
            query = query.where(Order.placed_at < where.placed_to)
        if where.store:
            query = query.where(Order.location_ref == where.store)
        if where.email:
            query = query.where(Order.customer_email == where.email)
        if where.numbers:
            query = query.where(Order.order_number.in_(where.numbers))
        return self.session.scalars(query.order_by(Order.id.desc()).limit(limit)).all()

    def facets(self, workspace_id: str) -> OrderFacets:
        """The channels and stores the workspace's orders name, for the filters' choices."""
        channels = self.session.scalars(
            select(Order.channel).where(Order.workspace_id == workspace_id).distinct()
        ).all()
        stores = self.session.scalars(
            select(Order.location_ref)
            .where(Order.workspace_id == workspace_id, Order.location_ref.is_not(None))
            .distinct()
        ).all()
        return OrderFacets(
            channels=tuple(sorted(str(c) for c in channels)),
            stores=tuple(sorted(str(s) for s in stores)),
        )

    def orders_per_hour(self, workspace_id: str, since: datetime) -> Sequence[tuple[int, str, int]]:
        """(hours since epoch, channel, count) of orders placed at or after ``since``."""
        hour = hour_number(self.session, Order.placed_at)
        rows = self.session.execute(
            select(hour, Order.channel, func.count())
            .where(Order.workspace_id == workspace_id, Order.placed_at >= since)
            .group_by(hour, Order.channel)
        ).all()
        return [(int(h), str(c), int(n)) for h, c, n in rows]

    def counts_by_channel(self, workspace_id: str, since: datetime) -> dict[str, int]:
        rows = self.session.execute(
            select(Order.channel, func.count())
            .where(Order.workspace_id == workspace_id, Order.placed_at >= since)
            .group_by(Order.channel)
        ).all()
        return {str(c): int(n) for c, n in rows}

    def orders_per_day(self, workspace_id: str, since: datetime) -> Sequence[tuple[int, str, int]]:
        """(days since epoch, channel, count) of orders placed at or after ``since`` (UTC days)."""
        day = hour_number(self.session, Order.placed_at) // 24
        rows = self.session.execute(
            select(day, Order.channel, func.count())
            .where(Order.workspace_id == workspace_id, Order.placed_at >= since)
            .group_by(day, Order.channel)
        ).all()
        return [(int(d), str(c), int(n)) for d, c, n in rows]
