"""Small hand-checkable shop data written straight as rows: profiles, the identifiers that
link orders and events to them, orders on several channels, and tracked events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from tessera.kit.ids import new_id
from tessera.models.collect import Event
from tessera.models.identity import Identifier, Profile
from tessera.models.order import Order, OrderLine, OrderStatus


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


@dataclass
class Shop:
    session: Session
    workspace_id: str

    def person(self, name: str) -> str:
        profile = Profile(id=new_id("cus"), workspace_id=self.workspace_id, traits={"name": name})
        self.session.add(profile)
        self.session.flush()
        self.link(profile.id, "user_id", name)
        return profile.id

    def link(self, profile_id: str, type_: str, value: str) -> None:
        now = at("2026-01-01")
        self.session.add(
            Identifier(
                workspace_id=self.workspace_id,
                type=type_,
                value=value,
                raw=value,
                profile_id=profile_id,
                origin_profile_id=profile_id,
                first_seen=now,
                last_seen=now,
            )
        )

    def order(
        self,
        profile_id: str | None,
        channel: str,
        placed: datetime,
        total: int,
        *,
        cancelled: bool = False,
        refunded: int = 0,
    ) -> str:
        order_id = new_id("ord")
        status = OrderStatus.CANCELLED if cancelled else OrderStatus.PLACED
        self.session.add(
            Order(
                id=order_id,
                workspace_id=self.workspace_id,
                platform="shopify",
                external_id=order_id,
                order_number=order_id,
                channel=channel,
                status=status,
                snapshot_status=status,
                is_cancelled=cancelled,
                currency="USD",
                total=total,
                subtotal=total,
                refunded_total=refunded,
                placed_at=placed,
                version_key="1",
            )
        )
        self.session.flush()
        self.session.add(
            OrderLine(
                order_id=order_id,
                line_key="1",
                sku="SKU-1",
                quantity=1,
                unit_price=total,
                total=total,
            )
        )
        if profile_id is not None:
            self.link(profile_id, "order", order_id)
        return order_id

    def event(
        self,
        user: str | None,
        name: str,
        when: datetime,
        *,
        campaign: dict[str, str] | None = None,
        referrer: str | None = None,
        properties: dict[str, Any] | None = None,
        channel: str = "web",
    ) -> None:
        context: dict[str, Any] = {}
        if campaign:
            context["campaign"] = campaign
        if referrer:
            context["page"] = {"referrer": referrer}
        self.session.add(
            Event(
                workspace_id=self.workspace_id,
                message_id=new_id("msg"),
                type="track",
                event=name,
                user_id=user,
                channel=channel,
                timestamp=when,
                received_at=when,
                payload={"context": context, "properties": properties or {}},
            )
        )
