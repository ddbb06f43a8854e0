"""The connectors' SQL: webhook deliveries seen and the runs of file imports.

Sources are Collect's, reached through ``tessera.collect.sources``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select, update

from tessera.db.base import RepositoryBase
from tessera.db.statements import insert_ignoring_conflicts
from tessera.models.collect import ImportRun, WebhookReceipt

RESET = dict.fromkeys(
    ("position", "byte_offset", "received", "accepted", "duplicates", "rejected"), 0
)


class ConnectorRepository(RepositoryBase):
    # Webhook receipts -------------------------------------------------------------------------

    def record_delivery(
        self, workspace_id: str, source_id: str, delivery_id: str, topic: str
    ) -> bool:
        """Record a webhook delivery; False when this delivery id was seen before."""
        inserted = insert_ignoring_conflicts(
            self.session,
            WebhookReceipt,
            [
                {
                    "workspace_id": workspace_id,
                    "source_id": source_id,
                    "delivery_id": delivery_id,
                    "topic": topic,
                }
            ],
            ("source_id", "delivery_id"),
            "id",
        )
        return bool(inserted)

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
