"""Every SQL statement of analytics: counts over orders and profiles, read only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, select

from tessera.db.base import RepositoryBase
from tessera.db.buckets import hour_number
from tessera.models.identity import Profile, ProfileStatus
from tessera.models.order import Order


class AnalyticsRepository(RepositoryBase):
    def order_totals(
        self, workspace_id: str, start: datetime, end: datetime, currency: str
    ) -> tuple[int, int, int]:
        """(orders, revenue net of refunds in ``currency``, orders in ``currency``) of the
        orders placed in [start, end) and not cancelled, in one statement."""
        in_currency = Order.currency == currency
        row = self.session.execute(
            select(
                func.count(),
                func.coalesce(
                    func.sum(case((in_currency, Order.total - Order.refunded_total), else_=0)), 0
                ),
                func.coalesce(func.sum(case((in_currency, 1), else_=0)), 0),
            ).where(
                Order.workspace_id == workspace_id,
                Order.placed_at >= start,
                Order.placed_at < end,
                Order.is_cancelled.is_(False),
            )
        ).one()
        return int(row[0]), int(row[1]), int(row[2])

    def new_profiles(self, workspace_id: str, start: datetime, end: datetime) -> int:
        """Active profiles first seen in [start, end) (a merged-away profile is not a second
        customer)."""
        first_seen = func.coalesce(Profile.first_seen, Profile.created_at)
        return int(
            self.session.scalar(
                select(func.count()).where(
                    Profile.workspace_id == workspace_id,
                    Profile.status == ProfileStatus.ACTIVE,
                    and_(first_seen >= start, first_seen < end),
                )
            )
            or 0
        )

    def orders_per_hour(
        self, workspace_id: str, start: datetime, end: datetime
    ) -> dict[tuple[int, str], int]:
        """Orders placed in [start, end) and not cancelled (as ``order_totals`` counts them),
        per (UTC hour since the epoch, channel)."""
        hour = hour_number(self.session, Order.placed_at)
        rows = self.session.execute(
            select(hour, Order.channel, func.count())
            .where(
                Order.workspace_id == workspace_id,
                Order.placed_at >= start,
                Order.placed_at < end,
                Order.is_cancelled.is_(False),
            )
            .group_by(hour, Order.channel)
        ).all()
        return {(int(h), str(c)): int(n) for h, c, n in rows}
