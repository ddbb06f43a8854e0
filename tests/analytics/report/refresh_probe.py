"""One process refreshing a workspace's snapshots, for the concurrent-refresh proof. Lives in
its own module so ``spawn`` can import it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tessera.analytics.report.snapshots import SnapshotService
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.kit.time import ManualClock


def refresh(url: str, workspace_id: str, as_of: str, barrier: Any) -> dict[str, int]:
    """Wait for the other process, then compute and store the snapshots as of ``as_of`` in
    one transaction; the milliseconds each report took."""
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            service = SnapshotService(session, ManualClock(datetime.fromisoformat(as_of)))
            service.stored(workspace_id)  # connect and warm up before the start
            barrier.wait()
            return service.refresh(workspace_id)
    finally:
        engine.dispose()
