"""How the brand is doing: a period's orders, revenue, average order value and new customers
next to the period before, and its orders per local day by channel. Read only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo

from sqlalchemy.orm import Session

from tessera.analytics.overview.domain import Period, Totals, local_days, midnight, previous
from tessera.analytics.overview.repository import AnalyticsRepository


@dataclass(frozen=True, slots=True)
class Comparison:
    period: Period
    before: Period
    current: Totals
    previous: Totals


class AnalyticsService:
    def __init__(self, session: Session) -> None:
        self.repository = AnalyticsRepository(session)

    def totals(self, workspace_id: str, period: Period, currency: str) -> Totals:
        """Orders (not cancelled, every currency), revenue net of refunds and the orders it
        comes from (``currency`` only: amounts in other currencies are not converted), and
        customers first seen, in ``period``."""
        orders, revenue, revenue_orders = self.repository.order_totals(
            workspace_id, period.start, period.end, currency
        )
        new = self.repository.new_profiles(workspace_id, period.start, period.end)
        return Totals(orders, revenue, revenue_orders, new)

    def compare(self, workspace_id: str, period: Period, zone: tzinfo, currency: str) -> Comparison:
        """``period``'s totals next to those of the same span right before it."""
        before = previous(period, zone)
        return Comparison(
            period,
            before,
            self.totals(workspace_id, period, currency),
            self.totals(workspace_id, before, currency),
        )

    def orders_per_day(
        self, workspace_id: str, first_day: date, days: int, zone: tzinfo
    ) -> dict[tuple[date, str], int]:
        """Orders placed per (local day in ``zone``, channel), ``days`` days from
        ``first_day``: days begin at the workspace's midnight, not UTC's."""
        start = midnight(first_day, zone)
        end = midnight(date.fromordinal(first_day.toordinal() + days), zone)
        per_hour = self.repository.orders_per_hour(workspace_id, start, end)
        return local_days(per_hour, zone, first_day, days)
