"""Every statement of the metric snapshots: read the newest, store a newer one, mark stale.

Reads one table of another domain (``sales_order``, to find the workspaces with orders), as
Measure's repositories may (see ``tessera.analytics.layer.tables``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tessera.kit.ids import new_id
from tessera.models.metric import MetricSnapshot
from tessera.models.order import Order
from tessera.models.workspace import Workspace


@dataclass(frozen=True)
class StoredSnapshot:
    kind: str
    params_hash: str
    as_of: datetime
    body: str
    stale_since: datetime | None


@dataclass(frozen=True)
class SnapshotState:
    """What a sweep needs to know of one stored snapshot: no body."""

    workspace_id: str
    kind: str
    params_hash: str
    as_of: datetime
    stale_since: datetime | None


def _keyed(keys: Sequence[tuple[str, str]]) -> ColumnElement[bool]:
    """Rows of any of these (kind, params hash) keys."""
    return or_(
        *(
            and_(MetricSnapshot.kind == kind, MetricSnapshot.params_hash == digest)
            for kind, digest in keys
        )
    )


class SnapshotRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def snapshots(self, workspace_id: str, keys: Sequence[tuple[str, str]]) -> list[StoredSnapshot]:
        """The stored snapshots of these (kind, params hash) keys, in one statement."""
        if not keys:
            return []
        wanted = _keyed(keys)
        rows = self.session.execute(
            select(
                MetricSnapshot.kind,
                MetricSnapshot.params_hash,
                MetricSnapshot.as_of,
                MetricSnapshot.body,
                MetricSnapshot.stale_since,
            ).where(MetricSnapshot.workspace_id == workspace_id, wanted)
        )
        return [StoredSnapshot(**row._mapping) for row in rows]

    def store(
        self,
        workspace_id: str,
        kind: str,
        params_hash: str,
        params: dict[str, Any],
        as_of: datetime,
        body: str,
        computed_ms: int,
        now: datetime,
    ) -> bool:
        """One upsert on (workspace, kind, params hash) that replaces a stored snapshot only
        with one read at the same moment or later; True if this statement's snapshot is now
        the stored one. Staleness marked after ``as_of`` survives (orders that came in while
        this computation ran are not in it)."""
        dialect = self.session.get_bind().dialect.name
        module: Any = postgresql if dialect == "postgresql" else sqlite
        table = MetricSnapshot.__table__
        statement = module.insert(table).values(
            id=new_id("msn"),
            workspace_id=workspace_id,
            kind=kind,
            params_hash=params_hash,
            params=params,
            as_of=as_of,
            body=body,
            computed_ms=computed_ms,
            stale_since=None,
            updated_at=now,
        )
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=["workspace_id", "kind", "params_hash"],
            set_={
                "params": excluded.params,
                "as_of": excluded.as_of,
                "body": excluded.body,
                "computed_ms": excluded.computed_ms,
                "updated_at": excluded.updated_at,
                "stale_since": case(
                    (table.c.stale_since > excluded.as_of, table.c.stale_since), else_=None
                ),
            },
            where=table.c.as_of <= excluded.as_of,
        ).returning(table.c.id)
        return self.session.execute(statement).first() is not None

    def mark_stale(self, workspace_id: str, at: datetime) -> int:
        """Mark the workspace's fresh snapshots stale as of ``at``: one conditional UPDATE that
        touches no row once they are stale, so a stream of orders costs one write per refresh."""
        result = self.session.execute(
            update(MetricSnapshot)
            .where(
                MetricSnapshot.workspace_id == workspace_id,
                MetricSnapshot.stale_since.is_(None),
            )
            .values(stale_since=at)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def workspaces_with_orders(self) -> list[str]:
        """Every workspace with at least one order (an index probe per workspace)."""
        has_orders = exists().where(Order.workspace_id == Workspace.id)
        return list(
            self.session.scalars(select(Workspace.id).where(has_orders).order_by(Workspace.id))
        )

    def states(
        self, workspace_ids: Sequence[str], keys: Sequence[tuple[str, str]]
    ) -> list[SnapshotState]:
        """Age and staleness of these workspaces' snapshots of the given keys."""
        if not workspace_ids or not keys:
            return []
        wanted = _keyed(keys)
        rows = self.session.execute(
            select(
                MetricSnapshot.workspace_id,
                MetricSnapshot.kind,
                MetricSnapshot.params_hash,
                MetricSnapshot.as_of,
                MetricSnapshot.stale_since,
            ).where(MetricSnapshot.workspace_id.in_(list(workspace_ids)), wanted)
        )
        return [SnapshotState(**row._mapping) for row in rows]
