"""The SQL of the orders a shop reported through tracking calls (``customer.purchases``): a
person's own ``Order Completed`` events, and which of their ids a connector order holds; and
the SKUs each person bought on every channel (what recommendations count).

A read model like ``profiles``: it reads the events and orders tables directly, never writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from tessera.customer.repository.profiles import ProfileReadRepository
from tessera.customer.timeline import ORDER_EVENT_PREFIX
from tessera.db.base import RepositoryBase
from tessera.identity.graph import identifiers as ids
from tessera.kit.time import ensure_utc
from tessera.models.collect import Event
from tessera.models.identity import Identifier
from tessera.models.order import Order, OrderLine, OrderStatus

ORDER_COMPLETED = "Order Completed"


class PurchaseReadRepository(RepositoryBase):
    """The reported orders' statements (a person's events as the 360 finds them)."""

    def completed_order_events(
        self, workspace_id: str, user_ids: Sequence[str], anonymous_ids: Sequence[str]
    ) -> list[tuple[datetime, dict[str, Any]]]:
        """(timestamp, properties) of the person's ``Order Completed`` events that a client
        sent, leaving out those Tessera derives from connector orders."""
        rows = self.session.execute(
            select(Event.timestamp, Event.payload).where(
                ProfileReadRepository.events_of(workspace_id, user_ids, anonymous_ids),
                Event.event == ORDER_COMPLETED,
                ~Event.message_id.startswith(ORDER_EVENT_PREFIX),
            )
        ).all()
        found = []
        for timestamp, payload in rows:
            properties = (payload or {}).get("properties")
            found.append(
                (ensure_utc(timestamp), properties if isinstance(properties, dict) else {})
            )
        return found

    def held_order_ids(self, workspace_id: str, forms: Sequence[str]) -> set[str]:
        """The numbers and platform ids of the workspace's connector orders that are any of
        ``forms`` (probes of the (workspace, order_number) index and the unique
        (workspace, platform, external_id) one)."""
        wanted = set(forms)
        if not wanted:
            return set()
        rows = self.session.execute(
            select(Order.order_number, Order.external_id).where(
                Order.workspace_id == workspace_id,
                or_(Order.order_number.in_(sorted(wanted)), Order.external_id.in_(sorted(wanted))),
            )
        ).all()
        return {value for row in rows for value in row if value in wanted}

    def skus_bought(
        self, workspace_id: str, profile_id: str | None = None
    ) -> list[tuple[str, str]]:
        """Distinct (profile id, SKU) of every line with a SKU of every order linked to a
        profile by an ``order`` identifier, cancelled orders and cancelled lines left out; one
        statement for the workspace, or, given ``profile_id``, that person's alone."""
        query = (
            select(Identifier.profile_id, OrderLine.sku)
            .join(Order, and_(Order.workspace_id == workspace_id, Order.id == Identifier.value))
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(
                Identifier.workspace_id == workspace_id,
                Identifier.type == ids.ORDER,
                Order.status != OrderStatus.CANCELLED,
                ~Order.is_cancelled,
                ~OrderLine.is_cancelled,
                OrderLine.sku.is_not(None),
                OrderLine.sku != "",
            )
            .distinct()
        )
        if profile_id is not None:
            query = query.where(Identifier.profile_id == profile_id)
        return [(str(row.profile_id), str(row.sku)) for row in self.session.execute(query)]
