"""Measure's metric snapshots: a report computed once and read many times.

One row per (workspace, kind, parameters): ``kind`` names the report (``omnichannel``,
``retention``, ``attribution``, ``clv``), ``params_hash`` the SHA-256 of its parameters in
canonical JSON (kept readable in ``params``). ``body`` is the report as its JSON text, read
back by the report's pydantic model without an intermediate dict (a JSON column would make
PostgreSQL parse and re-serialise a document of up to a few hundred kilobytes on every read).
``as_of`` is when the computation read the data; a refresh replaces the row only with a newer
one, so two processes refreshing at once leave one row, the later computation's.
``stale_since`` is set (once) when orders arrived after ``as_of``; a refresh clears it unless
the orders came in while it was computing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tessera.db.base import Base
from tessera.db.types import JSONDocument, PrefixedId, UTCDateTime
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow


class MetricSnapshot(Base):
    __tablename__ = "metric_snapshot"
    __table_args__ = (
        UniqueConstraint("workspace_id", "kind", "params_hash", name="uq_metric_snapshot_key"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("msn"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    params_hash: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[str] = mapped_column(Text)
    computed_ms: Mapped[int] = mapped_column(Integer, default=0)
    stale_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
