"""What a journey did: people in and out, messages, and the orders that followed.

Per journey and per step: people who entered, who wait there now and who left (by reason),
from the journey's own rows; messages queued, sent, delivered and clicked, from the outbox
(``MessageService.journey_counts``, by the step in each message's origin); and conversions.

A conversion is an order on any channel (web, store, marketplace; read from orders through
the person's identifiers, as the exit rule reads them), not cancelled, placed within the
window after the person entered (7 days by default). An instance converts once however many
orders follow; revenue adds each converting order once (net of refunds, per currency), even
when two of the person's instances overlap it. For each random split with a holdout branch,
the instances that took the holdout are compared with those that took any other branch:
the lift is the treatment's conversion rate minus the holdout's.

Orders are read per person (one identity read each), so the cost grows with the people who
entered; fine for a dashboard page of a brand's journey, not for a million entries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tessera.customer.profiles import ProfileService
from tessera.identity.errors import ProfileNotFound
from tessera.journey.definition import RandomSplit
from tessera.journey.repository import Entry
from tessera.journey.service import JourneyService
from tessera.kit.errors import InvalidInput
from tessera.message.service import MessageService
from tessera.models.order import Order

DEFAULT_WINDOW_DAYS = 7
MAX_WINDOW_DAYS = 90


@dataclass
class Conversion:
    """People of a group, how many ordered within the window, and what those orders came to."""

    people: int = 0
    converted: int = 0
    revenue: dict[str, int] = field(default_factory=dict)  # currency -> minor units

    @property
    def rate(self) -> float:
        return round(self.converted / self.people, 4) if self.people else 0.0


@dataclass(frozen=True)
class StepMetrics:
    step: str
    entered: int
    waiting: int
    exited: dict[str, int]
    queued: int
    sent: int
    delivered: int
    clicked: int


@dataclass(frozen=True)
class SplitMetrics:
    """A random split's holdout against its other branches."""

    step: str
    holdout: Conversion
    treatment: Conversion

    @property
    def lift(self) -> float:
        return round(self.treatment.rate - self.holdout.rate, 4)


@dataclass(frozen=True)
class JourneyMetrics:
    journey_id: str
    window_days: int
    entered: int
    inside: int
    exited: dict[str, int]
    sent: int
    delivered: int
    clicked: int
    conversion: Conversion
    steps: list[StepMetrics]
    splits: list[SplitMetrics]


class MetricsService:
    """Reads a journey's metrics. Never writes."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.journeys = JourneyService(session)

    def metrics(
        self, workspace_id: str, journey_id: str, window_days: int = DEFAULT_WINDOW_DAYS
    ) -> JourneyMetrics:
        """The journey's metrics (see the module docstring). Refuses (404) another
        workspace's journey and (422) a window outside 1-90 days."""
        if not 1 <= window_days <= MAX_WINDOW_DAYS:
            raise InvalidInput(f"window_days must be 1-{MAX_WINDOW_DAYS}", field="window_days")
        journey = self.journeys.get(workspace_id, journey_id)
        totals = self.journeys.totals([journey.id])[journey.id]
        sends = MessageService(self.session).journey_counts(workspace_id, journey.id)
        counts = self.journeys.step_counts(workspace_id, journey.id)
        steps = []
        for name in sorted(counts.keys() | sends.keys()):
            count, sent = counts.get(name), sends.get(name)
            steps.append(
                StepMetrics(
                    step=name,
                    entered=count.entered if count else 0,
                    waiting=count.waiting if count else 0,
                    exited=dict(count.exited) if count else {},
                    queued=sent.queued if sent else 0,
                    sent=sent.sent if sent else 0,
                    delivered=sent.delivered if sent else 0,
                    clicked=sent.clicked if sent else 0,
                )
            )
        entries = self.journeys.repository.all_entries(journey.id)
        converting = self._converting_orders(workspace_id, entries, timedelta(days=window_days))
        return JourneyMetrics(
            journey_id=journey.id,
            window_days=window_days,
            entered=totals.entered,
            inside=totals.inside,
            exited=dict(totals.exited),
            sent=sum(s.sent for s in steps),
            delivered=sum(s.delivered for s in steps),
            clicked=sum(s.clicked for s in steps),
            conversion=_conversion([e.instance_id for e in entries], converting),
            steps=steps,
            splits=self._splits(workspace_id, journey.id, converting),
        )

    def _converting_orders(
        self, workspace_id: str, entries: list[Entry], window: timedelta
    ) -> dict[str, list[Order]]:
        """Per instance, the orders placed within ``window`` of its entry."""
        first_entry: dict[str, datetime] = {}
        for entry in entries:
            seen = first_entry.get(entry.profile_id)
            first_entry[entry.profile_id] = (
                min(seen, entry.entered_at) if seen else entry.entered_at
            )
        profiles = ProfileService(self.session)
        orders: dict[str, list[Order]] = {}
        for profile_id, since in first_entry.items():
            try:
                orders[profile_id] = profiles.orders_placed_since(workspace_id, profile_id, since)
            except ProfileNotFound:  # erased: their orders no longer name them
                orders[profile_id] = []
        return {
            entry.instance_id: [
                order
                for order in orders[entry.profile_id]
                if entry.entered_at <= order.placed_at <= entry.entered_at + window
            ]
            for entry in entries
        }

    def _splits(
        self, workspace_id: str, journey_id: str, converting: dict[str, list[Order]]
    ) -> list[SplitMetrics]:
        holdouts: set[str] = set()
        for version in self.journeys.versions(workspace_id, journey_id):
            for step in self.journeys.definition(version).steps:
                if isinstance(step, RandomSplit) and any(b.holdout for b in step.branches):
                    holdouts.add(step.id)
        groups: dict[str, dict[bool, list[str]]] = defaultdict(lambda: {True: [], False: []})
        for run in self.journeys.repository.split_outcomes(journey_id, sorted(holdouts)):
            groups[run.step][run.outcome == "holdout"].append(run.instance_id)
        return [
            SplitMetrics(
                step,
                _conversion(groups[step][True], converting),
                _conversion(groups[step][False], converting),
            )
            for step in sorted(holdouts)
        ]


def _conversion(instance_ids: list[str], converting: dict[str, list[Order]]) -> Conversion:
    found = Conversion(people=len(instance_ids))
    counted: set[str] = set()
    for instance_id in instance_ids:
        orders = converting.get(instance_id, [])
        if orders:
            found.converted += 1
        for order in orders:
            if order.id not in counted:
                counted.add(order.id)
                net = order.total - order.refunded_total
                found.revenue[order.currency] = found.revenue.get(order.currency, 0) + net
    return found
