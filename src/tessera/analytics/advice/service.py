"""Channel advice and the weekly MMM table as use cases over the analytics layer; reads only.

Days are the workspace's (``from``/``to`` as in ``/v1/reports``); MMM weeks are UTC weeks
starting Monday.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from tessera.analytics.advice import advice as rules
from tessera.analytics.advice import repository as repo
from tessera.analytics.advice.schemas import AdviceReport
from tessera.analytics.layer import Tables, from_session
from tessera.analytics.report.errors import InvalidReportInput
from tessera.analytics.report.service import NO_ORDERS, ReportService
from tessera.kit.time import Clock, utcnow

SHAPES = ("wide", "long")
FORMATS = ("csv", "parquet")
LONG_COLUMNS = ("week", "channel", "spend", "impressions", "orders", "revenue", "new_customers")


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


class ChannelService:
    """Advice and the MMM export of one workspace."""

    def __init__(
        self,
        session: Session,
        clock: Clock = utcnow,
        tables: Callable[[str], Tables] | None = None,
    ) -> None:
        self.session = session
        self.reports = ReportService(session, clock)
        self._tables = tables or (lambda workspace_id: from_session(session, workspace_id))

    def advice(
        self, workspace_id: str, start: date | None = None, end: date | None = None
    ) -> AdviceReport:
        """Which channel to add next, each sentence with its figures."""
        window = self.reports.window(workspace_id, start, end)
        begin, finish = (t.replace(tzinfo=None) for t in self.reports.instants(window))
        tables = self._tables(workspace_id)
        per_customer = repo.customer_channels(tables, begin, finish)
        media = Counter(t.medium for t in repo.touches(tables, begin, finish))
        advice, pairs, singles, media_out, channels, share, customers = rules.build(
            per_customer, media
        )
        if not per_customer:
            window = window.model_copy(update={"reason": NO_ORDERS})
        return AdviceReport(
            window=window, channels=channels, customers=customers, omnichannel_share=share,
            advice=advice, pairs=pairs, single_channel=singles, media=media_out,
        )  # fmt: skip

    def mmm_rows(
        self, workspace_id: str, start: date | None = None, end: date | None = None
    ) -> list[dict[str, Any]]:
        """One row per UTC week and channel (long shape): spend (not tracked by Tessera:
        empty, for the brand to fill from its ad accounts), impressions (tracked touches
        through that medium), orders, net revenue and new customers (minor units)."""
        window = self.reports.window(workspace_id, start, end)
        begin, finish = (t.replace(tzinfo=None) for t in self.reports.instants(window))
        tables = self._tables(workspace_id)
        cells: dict[tuple[date, str], dict[str, int]] = defaultdict(
            lambda: {"impressions": 0, "orders": 0, "revenue": 0, "new_customers": 0}
        )
        for row in repo.daily_orders(tables, begin, finish):
            cell = cells[(_monday(row["day"]), row["channel"])]
            cell["orders"] += int(row["orders"])
            cell["revenue"] += int(row["revenue"] or 0)
        for row in repo.daily_new_customers(tables, begin, finish):
            cells[(_monday(row["day"]), row["channel"])]["new_customers"] += int(row["customers"])
        for touch in repo.touches(tables, begin, finish):
            cells[(_monday(touch.day), touch.medium)]["impressions"] += 1
        return [
            {"week": week, "channel": channel, "spend": None, **values}
            for (week, channel), values in sorted(cells.items())
        ]

    def mmm_export(
        self,
        workspace_id: str,
        start: date | None = None,
        end: date | None = None,
        *,
        shape: str = "wide",
        fmt: str = "csv",
    ) -> bytes:
        """The weekly channel table as CSV or Parquet bytes. ``long``: the rows of
        ``mmm_rows``. ``wide`` (what Robyn, Meridian and PyMC-Marketing read: one row per
        week): ``week``, the KPI columns ``revenue``, ``orders`` and ``new_customers`` summed
        over channels, then ``<channel>_spend`` and ``<channel>_impressions`` per channel."""
        if shape not in SHAPES:
            raise InvalidReportInput(f"shape must be one of {', '.join(SHAPES)}", field="shape")
        if fmt not in FORMATS:
            raise InvalidReportInput(f"format must be one of {', '.join(FORMATS)}",
                                     field="format")  # fmt: skip
        rows = self.mmm_rows(workspace_id, start, end)
        table = _long(rows) if shape == "long" else _wide(rows)
        buffer = io.BytesIO()
        if fmt == "csv":
            pacsv.write_csv(table, buffer)
        else:
            pq.write_table(table, buffer)
        return buffer.getvalue()


def _long(rows: list[dict[str, Any]]) -> pa.Table:
    types = {"week": pa.date32(), "channel": pa.string(), "spend": pa.int64()}
    schema = pa.schema([(c, types.get(c, pa.int64())) for c in LONG_COLUMNS])
    return pa.Table.from_pylist(rows, schema=schema)


def _wide(rows: list[dict[str, Any]]) -> pa.Table:
    weeks = sorted({r["week"] for r in rows})
    channels = sorted({r["channel"] for r in rows})
    index = {week: i for i, week in enumerate(weeks)}
    columns: dict[str, list[Any]] = {"week": weeks}
    for kpi in ("revenue", "orders", "new_customers"):
        columns[kpi] = [0] * len(weeks)
    for channel in channels:
        columns[f"{channel}_spend"] = [None] * len(weeks)
        columns[f"{channel}_impressions"] = [0] * len(weeks)
    for row in rows:
        i = index[row["week"]]
        for kpi in ("revenue", "orders", "new_customers"):
            columns[kpi][i] += row[kpi]
        columns[f"{row['channel']}_impressions"][i] += row["impressions"]
    types = {"week": pa.date32()}
    return pa.table(
        {
            name: pa.array(values, type=types.get(name, pa.int64()))
            for name, values in columns.items()
        }
    )
