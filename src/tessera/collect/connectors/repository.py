"""The connectors' SQL: sources by id (webhooks name them in the URL) and import runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select, update

from tessera.db.base import RepositoryBase
from tessera.db.statements import insert_ignoring_conflicts
from tessera.models.collect import ImportRun, Source

RESET = dict.fromkeys(
    ("position", "byte_offset", "received", "accepted", "duplicates", "rejected"), 0
)


class ConnectorRepository(RepositoryBase):
    def source_by_id(self, source_id: str) -> Source | None:
        """Any workspace's source: a webhook URL names the source, the signature proves it."""
        return self.session.get(Source, source_id)

    def locked_sources_of_every_workspace(self) -> Sequence[Source]:
        """Every source, in id order, locked until the transaction ends (PostgreSQL; SQLite's
        transactions hold its one write lock): for rewriting their settings without losing a
        secret rotated meanwhile."""
        query = select(Source).order_by(Source.id)
        if self.dialect == "postgresql":
            query = query.with_for_update()
        return self.session.scalars(query.execution_options(populate_existing=True)).all()

    # Import runs ------------------------------------------------------------------------------

    def claim_run(
        self, workspace_id: str, kind: str, file_name: str, fingerprint: str, now: datetime
    ) -> ImportRun:
        """The run of this file (made on first use); concurrent starters get the same row."""
        insert_ignoring_conflicts(
            self.session,
            ImportRun,
            [
                {
                    "workspace_id": workspace_id,
                    "kind": kind,
                    "file_name": file_name[:500],
                    "fingerprint": fingerprint,
                    "position": 0,
                    "byte_offset": 0,
                    "received": 0,
                    "accepted": 0,
                    "duplicates": 0,
                    "rejected": 0,
                    "reasons": {},
                    "status": "running",
                    "created_at": now,
                    "updated_at": now,
                }
            ],
            ("workspace_id", "fingerprint"),
        )
        run = self.session.scalars(
            select(ImportRun)
            .where(ImportRun.workspace_id == workspace_id, ImportRun.fingerprint == fingerprint)
            .execution_options(populate_existing=True)
        ).one()
        return run

    def restart_run(self, run_id: str, now: datetime) -> None:
        self.session.execute(
            update(ImportRun)
            .where(ImportRun.id == run_id)
            .values(**RESET, reasons={}, status="running", updated_at=now)
        )

    def advance_run(
        self,
        run_id: str,
        expected_position: int,
        position: int,
        byte_offset: int,
        counts: Mapping[str, int],
        reasons: Mapping[str, int],
        status: str,
        now: datetime,
    ) -> bool:
        """Move a run from ``expected_position`` on, adding counts; False when another process
        moved it first (the caller's chunk then rolls back with its transaction)."""
        result = self.session.execute(
            update(ImportRun)
            .where(ImportRun.id == run_id, ImportRun.position == expected_position)
            .values(
                position=position,
                byte_offset=byte_offset,
                received=ImportRun.received + counts["received"],
                accepted=ImportRun.accepted + counts["accepted"],
                duplicates=ImportRun.duplicates + counts["duplicates"],
                rejected=ImportRun.rejected + counts["rejected"],
                reasons=dict(reasons),
                status=status,
                updated_at=now,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def run(self, run_id: str) -> ImportRun | None:
        return self.session.scalars(
            select(ImportRun)
            .where(ImportRun.id == run_id)
            .execution_options(populate_existing=True)
        ).one_or_none()
