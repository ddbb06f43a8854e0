"""Measure's reports as use cases: check the parameters, run the analytics layer's metrics on
the application's database (or on tables already loaded, such as Parquet through DuckDB),
and turn counts into rates. Reads only; never commits.

Dates are the workspace's: ``start`` and ``end`` are whole days in its zone (``end``
inclusive), turned into UTC instants. Cohort months are UTC months (SQLite has no zones).
A range with no orders answers an empty report whose ``window.reason`` says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tessera.analytics.attribution import MODELS, all_models, attribute, build_paths
from tessera.analytics.layer import Tables, from_session
from tessera.analytics.layer import metrics as m
from tessera.analytics.report import domain
from tessera.analytics.report.errors import InvalidReportInput
from tessera.analytics.report.lifetime import lifetime_report
from tessera.analytics.report.schemas import (
    AttributionReport,
    ClvReport,
    CohortOut,
    CreditOut,
    OmnichannelReport,
    RetentionReport,
    SegmentOut,
    TrendPoint,
    Window,
)
from tessera.kit.bounds import day_problem
from tessera.kit.time import Clock, utcnow
from tessera.workspace.service import WorkspaceService

DEFAULT_DAYS = 365
MAX_DAYS = 366 * 5
DEFAULT_CHURN_DAYS = 90
DEFAULT_LOOKBACK_DAYS = 30
RETENTION_GROUPS = ("month", "channel")
ATTRIBUTION_GROUPS = ("channel", "campaign")
NO_ORDERS = "no orders in this range"
MAX_CONVERSION_EVENTS = 20
DEFAULT_CLV_MONTHS = 12
DEFAULT_MONTHLY_DISCOUNT = 0.01


class ReportService:
    """Retention, omnichannel share and attribution of one workspace."""

    def __init__(
        self,
        session: Session,
        clock: Clock = utcnow,
        tables: Callable[[str], Tables] | None = None,
    ) -> None:
        self.session = session
        self.clock = clock
        self._tables = tables or (lambda workspace_id: from_session(session, workspace_id))

    # Parameters ------------------------------------------------------------------------------

    def window(self, workspace_id: str, start: date | None, end: date | None) -> Window:
        """The report's days in the workspace's zone: by default the last 365 days to today.
        Refuses a day outside 1900-9000, an end before the start and a range longer than five
        years, naming the field."""
        for field, day in (("from", start), ("to", end)):
            problem = day_problem(day) if day is not None else None
            if problem is not None:
                raise InvalidReportInput(f"{field} {problem}", field=field)
        zone = WorkspaceService(self.session).get_workspace(workspace_id).time_zone
        now = self.clock()
        end = end or now.astimezone(ZoneInfo(zone)).date()
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
        if end < start:
            raise InvalidReportInput("to must not be before from", field="to")
        if (end - start).days > MAX_DAYS:
            raise InvalidReportInput(f"from..to must span at most {MAX_DAYS} days", field="from")
        return Window(start=start, end=end, time_zone=zone, as_of=now)

    @staticmethod
    def instants(window: Window) -> tuple[datetime, datetime]:
        """The window as UTC instants ``[start, end)``."""
        zone = ZoneInfo(window.time_zone)
        start = datetime.combine(window.start, time(), zone).astimezone(UTC)
        end = datetime.combine(window.end + timedelta(days=1), time(), zone).astimezone(UTC)
        return start, end

    # Omnichannel -----------------------------------------------------------------------------

    def omnichannel(
        self, workspace_id: str, start: date | None = None, end: date | None = None
    ) -> OmnichannelReport:
        """Omnichannel share (customers with orders in two or more channels over customers
        with one or more, in the window), its month-by-month trend (as of each month's end),
        and spend, frequency and repeat rate of omnichannel against single-channel customers."""
        window = self.window(workspace_id, start, end)
        begin, finish = self.instants(window)
        tables = self._tables(workspace_id)
        counts = {
            r["segment"]: r for r in m.rows(tables, m.omnichannel_comparison(tables, begin, finish))
        }
        segments = []
        for name in (m.OMNICHANNEL, m.SINGLE_CHANNEL):
            row = counts.get(
                name, {"customers": 0, "orders": 0, "revenue": 0, "repeat_customers": 0}
            )
            customers = int(row["customers"])
            segments.append(
                SegmentOut(
                    segment=name,
                    customers=customers,
                    orders=int(row["orders"]),
                    revenue=int(row["revenue"]),
                    spend_per_customer=int(row["revenue"]) // customers if customers else 0,
                    orders_per_customer=domain.rate(int(row["orders"]), customers),
                    repeat_rate=domain.rate(int(row["repeat_customers"]), customers),
                )
            )
        trend = [
            TrendPoint(month=month, customers=c, omnichannel_customers=o, share=s)
            for month, c, o, s in domain.cumulative_share(
                m.rows(tables, m.omnichannel_arrivals(tables, begin, finish), "month")
            )
        ]
        total = sum(s.customers for s in segments)
        omni = segments[0].customers
        if not total:
            window.reason = NO_ORDERS
        return OmnichannelReport(
            window=window,
            customers=total,
            omnichannel_customers=omni,
            share=domain.rate(omni, total),
            segments=segments,
            trend=trend,
        )

    # Retention -------------------------------------------------------------------------------

    def retention(
        self,
        workspace_id: str,
        start: date | None = None,
        end: date | None = None,
        *,
        group_by: str = "month",
        churn_days: int = DEFAULT_CHURN_DAYS,
    ) -> RetentionReport:
        """Cohorts by the month of the first order (and by acquisition channel with
        ``group_by="channel"``): size, retention(c, k) for each month k since, repeat rate, and
        churn (no order in the ``churn_days`` before the window's end). Refuses an unknown
        grouping and a churn period outside 1..3650 days."""
        if group_by not in RETENTION_GROUPS:
            raise InvalidReportInput(
                f"group_by must be one of {', '.join(RETENTION_GROUPS)}", field="group_by"
            )
        if not 1 <= churn_days <= 3650:
            raise InvalidReportInput("churn_days must be between 1 and 3650", field="churn_days")
        window = self.window(workspace_id, start, end)
        begin, finish = self.instants(window)
        tables = self._tables(workspace_id)
        by_channel = group_by == "channel"
        keys = ("cohort", "acquisition_channel") if by_channel else ("cohort",)
        sizes = m.rows(tables, m.cohort_sizes(tables, begin, finish, churn_days, by_channel), *keys)
        active: dict[tuple[Any, ...], dict[int, int]] = defaultdict(dict)
        for row in m.rows(tables, m.cohort_activity(tables, begin, finish, by_channel), *keys, "k"):
            active[tuple(row[k] for k in keys)][int(row["k"])] = int(row["active"])
        last_month = finish.year * 12 + (finish - timedelta(microseconds=1)).month - 1
        cohorts = []
        for row in sizes:
            key = tuple(row[k] for k in keys)
            size = int(row["size"])
            months = last_month - int(row["cohort"]) + 1
            cohorts.append(
                CohortOut(
                    cohort=domain.month_label(int(row["cohort"])),
                    acquisition_channel=row["acquisition_channel"] if by_channel else None,
                    size=size,
                    repeat_rate=domain.rate(int(row["repeat_customers"]), size),
                    churn_rate=domain.rate(int(row["churned"]), size),
                    retention=[domain.rate(active[key].get(k, 0), size) for k in range(months)],
                )
            )
        if not cohorts:
            window.reason = NO_ORDERS
        return RetentionReport(
            window=window, group_by=group_by, churn_days=churn_days, cohorts=cohorts
        )

    # Lifetime value --------------------------------------------------------------------------

    def lifetime_value(
        self,
        workspace_id: str,
        end: date | None = None,
        *,
        months: int = DEFAULT_CLV_MONTHS,
        monthly_discount_rate: float = DEFAULT_MONTHLY_DISCOUNT,
    ) -> ClvReport:
        """Each customer's expected purchases, P(alive) and discounted value over the next
        ``months`` from every linked order up to ``end`` (BG/NBD and Gamma-Gamma), summed for
        omnichannel and single-channel customers and by the channel of the first order.
        Refuses a horizon outside 1..120 months and a rate outside 0..1, naming the field."""
        if not 1 <= months <= 120:
            raise InvalidReportInput("months must be between 1 and 120", field="months")
        if not 0 <= monthly_discount_rate <= 1:
            raise InvalidReportInput(
                "monthly_discount_rate must be between 0 and 1", field="monthly_discount_rate"
            )
        window = self.window(workspace_id, None, end)
        _begin, finish = self.instants(window)
        tables = self._tables(workspace_id)
        rows = m.rows(tables, m.customer_orders(tables, None, finish), "customer_id", "placed_at")
        return lifetime_report(
            window,
            rows,
            finish - timedelta(microseconds=1),
            months=months,
            monthly_discount_rate=monthly_discount_rate,
        )

    # Attribution -----------------------------------------------------------------------------

    def attribution(
        self,
        workspace_id: str,
        start: date | None = None,
        end: date | None = None,
        *,
        model: str | None = None,
        group_by: str = "channel",
        lookback_days: int = DEFAULT_LOOKBACK_DAYS,
        conversion_events: tuple[str, ...] = (),
    ) -> AttributionReport:
        """Credits per channel (or campaign) for the window's conversions, every model side by
        side or one ``model``. A conversion is an order on any channel (its net value) or a
        named conversion event; its journey is the customer's touches in the ``lookback_days``
        before it (campaign sources, email and SMS clicks, referrers, page views as direct,
        orders on marketplaces and in stores as touches of their channel). Refuses an unknown
        model or grouping and a lookback outside 1..365 days."""
        if model is not None and model not in MODELS:
            raise InvalidReportInput(f"model must be one of {', '.join(MODELS)}", field="model")
        if group_by not in ATTRIBUTION_GROUPS:
            raise InvalidReportInput(
                f"group_by must be one of {', '.join(ATTRIBUTION_GROUPS)}", field="group_by"
            )
        if len(conversion_events) > MAX_CONVERSION_EVENTS or any(
            not 0 < len(name) <= 200 for name in conversion_events
        ):
            raise InvalidReportInput(
                f"conversion_event: at most {MAX_CONVERSION_EVENTS} names of 1 to 200 characters",
                field="conversion_event",
            )
        if not 1 <= lookback_days <= 365:
            raise InvalidReportInput(
                "lookback_days must be between 1 and 365", field="lookback_days"
            )
        window = self.window(workspace_id, start, end)
        begin, finish = self.instants(window)
        lookback = timedelta(days=lookback_days)
        tables = self._tables(workspace_id)
        journeys = domain.build_journeys(
            self._touches(tables, begin - lookback, finish, group_by),
            self._conversions(tables, begin, finish, conversion_events),
            lookback,
        )
        if not journeys:
            window.reason = NO_ORDERS
            return AttributionReport(
                window=window, group_by=group_by, lookback_days=lookback_days,
                conversions=0, value=0, models={},
            )  # fmt: skip
        paths = build_paths(journeys)
        credits = {model: attribute(paths, model)} if model else all_models(paths)
        first = next(iter(credits.values()))
        return AttributionReport(
            window=window,
            group_by=group_by,
            lookback_days=lookback_days,
            conversions=first.conversions,
            value=first.value,
            models={
                name: [
                    CreditOut(channel=c.channel, conversions=c.conversions, value=c.value)
                    for c in one.channels
                ]
                for name, one in credits.items()
            },
        )

    @staticmethod
    def _touches(
        tables: Tables, begin: datetime, finish: datetime, group_by: str
    ) -> list[tuple[str, datetime, str]]:
        touches = []
        for row in m.rows(tables, m.customer_events(tables, begin, finish)):
            label = domain.touch_label(
                row["type"], row["name"], row["campaign"], row["page"], group_by
            )
            if label is not None:
                touches.append((row["customer_id"], _aware(row["at"]), label))
        for row in m.rows(tables, m.customer_orders(tables, begin, finish)):
            if row["channel"] not in domain.OWN_ONLINE_CHANNELS:
                touches.append((row["customer_id"], _aware(row["placed_at"]), row["channel"]))
        return touches

    @staticmethod
    def _conversions(
        tables: Tables, begin: datetime, finish: datetime, names: tuple[str, ...]
    ) -> list[domain.Conversion]:
        # an order refunded beyond its total is worth nothing, not a negative conversion
        found = [
            domain.Conversion(
                row["customer_id"], _aware(row["placed_at"]), max(int(row["net_total"]), 0)
            )
            for row in m.rows(tables, m.customer_orders(tables, begin, finish))
        ]
        if names:
            for row in m.rows(tables, m.customer_events(tables, begin, finish, names)):
                found.append(
                    domain.Conversion(
                        row["customer_id"], _aware(row["at"]), domain.event_value(row["properties"])
                    )
                )
        return found


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
