"""Every SQL statement of the pricing domain."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from tessera.db.base import RepositoryBase
from tessera.db.statements import insert_ignoring_conflicts
from tessera.models.pricing import (
    ChannelPrice,
    PriceAlert,
    PriceBreach,
    PriceChange,
    PriceFloor,
    PricePolicy,
)


class PriceRepository(RepositoryBase):
    def add_change(self, values: dict[str, Any]) -> bool:
        """Insert a price change unless its idempotency key was used; True if inserted."""
        return bool(
            insert_ignoring_conflicts(
                self.session, PriceChange, [values], ("workspace_id", "idempotency_key"), "id"
            )
        )

    def change_by_key(self, workspace_id: str, key: str) -> PriceChange | None:
        return self.session.scalar(
            select(PriceChange).where(
                PriceChange.workspace_id == workspace_id, PriceChange.idempotency_key == key
            )
        )

    def claim_price_row(self, values: dict[str, Any]) -> None:
        insert_ignoring_conflicts(
            self.session, ChannelPrice, [values], ("workspace_id", "sku", "channel")
        )

    def locked_price(self, workspace_id: str, sku: str, channel: str) -> ChannelPrice | None:
        query = select(ChannelPrice).where(
            ChannelPrice.workspace_id == workspace_id,
            ChannelPrice.sku == sku,
            ChannelPrice.channel == channel,
        )
        if self.dialect == "postgresql":
            query = query.with_for_update()
        return self.session.scalar(query.execution_options(populate_existing=True))

    def prices(
        self,
        workspace_id: str,
        after_id: str | None,
        limit: int,
        sku: str | None = None,
        channel: str | None = None,
    ) -> Sequence[ChannelPrice]:
        query = select(ChannelPrice).where(ChannelPrice.workspace_id == workspace_id)
        if after_id:
            query = query.where(ChannelPrice.id > after_id)
        if sku:
            query = query.where(ChannelPrice.sku == sku)
        if channel:
            query = query.where(ChannelPrice.channel == channel)
        return self.session.scalars(query.order_by(ChannelPrice.id).limit(limit)).all()

    def prices_of_sku(self, workspace_id: str, sku: str) -> Sequence[ChannelPrice]:
        return self.session.scalars(
            select(ChannelPrice)
            .where(ChannelPrice.workspace_id == workspace_id, ChannelPrice.sku == sku)
            .order_by(ChannelPrice.channel)
        ).all()

    def all_prices(
        self, workspace_id: str, skus: Collection[str] | None = None
    ) -> Sequence[ChannelPrice]:
        query = select(ChannelPrice).where(ChannelPrice.workspace_id == workspace_id)
        if skus is not None:
            query = query.where(ChannelPrice.sku.in_(skus))
        return self.session.scalars(query.order_by(ChannelPrice.sku, ChannelPrice.channel)).all()

    def history(
        self, workspace_id: str, sku: str, channel: str, until: datetime | None = None
    ) -> Sequence[PriceChange]:
        """Every change of one SKU on one channel, oldest effective first (then in order set)."""
        query = select(PriceChange).where(
            PriceChange.workspace_id == workspace_id,
            PriceChange.sku == sku,
            PriceChange.channel == channel,
        )
        if until is not None:
            query = query.where(PriceChange.effective_at <= until)
        return self.session.scalars(
            query.order_by(PriceChange.effective_at, PriceChange.recorded_at, PriceChange.id)
        ).all()

    def floor(self, workspace_id: str, sku: str) -> PriceFloor | None:
        return self.session.scalar(
            select(PriceFloor).where(PriceFloor.workspace_id == workspace_id, PriceFloor.sku == sku)
        )

    def floors(
        self, workspace_id: str, skus: Collection[str] | None = None
    ) -> dict[str, PriceFloor]:
        query = select(PriceFloor).where(PriceFloor.workspace_id == workspace_id)
        if skus is not None:
            query = query.where(PriceFloor.sku.in_(skus))
        rows = self.session.scalars(query).all()
        return {row.sku: row for row in rows}

    def upsert_floor(self, values: dict[str, Any]) -> PriceFloor:
        insert_ignoring_conflicts(self.session, PriceFloor, [values], ("workspace_id", "sku"))
        self.session.execute(
            update(PriceFloor)
            .where(
                PriceFloor.workspace_id == values["workspace_id"], PriceFloor.sku == values["sku"]
            )
            .values(
                amount=values["amount"],
                currency=values["currency"],
                updated_at=values["updated_at"],
            )
            .execution_options(synchronize_session=False)
        )
        floor = self.session.scalar(
            select(PriceFloor)
            .where(
                PriceFloor.workspace_id == values["workspace_id"], PriceFloor.sku == values["sku"]
            )
            .execution_options(populate_existing=True)
        )
        assert floor is not None
        return floor

    def policy(self, workspace_id: str) -> PricePolicy | None:
        return self.session.scalar(
            select(PricePolicy)
            .where(PricePolicy.workspace_id == workspace_id)
            .execution_options(populate_existing=True)
        )

    def claim_policy_row(self, values: dict[str, Any]) -> None:
        insert_ignoring_conflicts(self.session, PricePolicy, [values], ("workspace_id",))

    def open_alerts(self, workspace_id: str, sku: str | None = None) -> Sequence[PriceAlert]:
        query = select(PriceAlert).where(
            PriceAlert.workspace_id == workspace_id, PriceAlert.resolved_at.is_(None)
        )
        if sku is not None:
            query = query.where(PriceAlert.sku == sku)
        return self.session.scalars(query.order_by(PriceAlert.sku, PriceAlert.channel)).all()

    def alerts(self, workspace_id: str, include_resolved: bool, limit: int) -> Sequence[PriceAlert]:
        query = select(PriceAlert).where(PriceAlert.workspace_id == workspace_id)
        if not include_resolved:
            query = query.where(PriceAlert.resolved_at.is_(None))
        return self.session.scalars(query.order_by(PriceAlert.id.desc()).limit(limit)).all()

    def resolve_alert(self, alert_id: str, now: datetime) -> None:
        self.session.execute(
            update(PriceAlert)
            .where(PriceAlert.id == alert_id, PriceAlert.resolved_at.is_(None))
            .values(resolved_at=now)
            .execution_options(synchronize_session=False)
        )

    def add_alert(self, alert: PriceAlert) -> None:
        self.session.add(alert)

    @staticmethod
    def breach_key(alert: PriceAlert) -> tuple[str, str, PriceBreach]:
        return (alert.sku, alert.channel, alert.breach)
