"""The quarantine: every refused record kept with why and where it came from, replayed once a
person fixed it, or discarded.

Collect replays its own kinds (``event``, ``request``). Other kinds (``order:shopify``,
``row:amazon``...) are replayed by the package that refused them, which registers a replayer
per kind (``register_replayer``); a process's edge (the app, the CLI) has them registered
before it serves, since Collect sits below the packages that register them.

Erasure's reach (ADR 0020): a record that names an erased person is never kept as sent.
``keep`` withholds its text (the entry records that something was refused, where and why, and
is closed at once), and a replay passes every record through the same check as a new message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from tessera.collect import domain
from tessera.collect.errors import QuarantineEntryNotFound, QuarantineEntryResolved
from tessera.collect.repository import CollectRepository
from tessera.collect.sources import SourceService
from tessera.identity.graph.intake import IdentityIntake
from tessera.kit.errors import InvalidInput
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, page_from
from tessera.kit.time import utcnow
from tessera.models.collect import QuarantineEntry, QuarantineStatus
from tessera.workspace.service import WorkspaceService

RAW_LIMIT = 64 * 1024  # bytes of a refused payload kept in the quarantine
WITHHELD = "(withheld: this record names a person who was erased)"

# A replayer takes a fixed payload of a quarantined record and applies it through the right
# connector; it returns the resolution kept with the entry.
Replayer = Callable[[Session, QuarantineEntry, Any], str]
REPLAYERS: dict[str, Replayer] = {}


def register_replayer(kind: str, replay: Replayer) -> None:
    """Make entries of ``kind`` replayable through ``replay`` (registering twice is harmless)."""
    REPLAYERS[kind] = replay


def raw_text(payload: Any) -> tuple[str, bool]:
    """A refused payload as text for the quarantine, cut at 64 KB; (text, was_cut)."""
    if isinstance(payload, bytes):
        data = payload
    elif isinstance(payload, str):
        data = payload.encode(errors="replace")
    else:
        try:
            data = json.dumps(payload, ensure_ascii=False, default=str).encode(errors="replace")
        except RecursionError:  # parse_json refuses such bodies; other callers may not
            data = b"(nested too deeply to keep as text)"
    cut = len(data) > RAW_LIMIT
    # PostgreSQL text cannot hold NUL; JSON text never has a bare one, so nothing is lost.
    return data[:RAW_LIMIT].decode("utf-8", errors="replace").replace("\x00", "\ufffd"), cut


class QuarantineService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = CollectRepository(session)

    def keep(
        self,
        workspace_id: str | None,
        origin: str,
        reason: str,
        raw: Any,
        field: str | None = None,
        kind: str = "event",
        source_id: str | None = None,
    ) -> QuarantineEntry:
        """Keep a refused payload with why and where it came from.

        Refuses nothing: a refusal must always leave its record. ``workspace_id`` is None for
        a request no workspace could be proven for (its body is then kept unattributed). A
        record that names an erased person is kept without its text and closed (discarded).
        """
        entry = QuarantineEntry(
            workspace_id=workspace_id,
            source_id=source_id,
            kind=kind,
            origin=origin[:300],
            reason=reason[:500],
            field=field[:200] if field is not None else None,  # a key path from the payload
        )
        if workspace_id is not None and IdentityIntake(self.session).names_erased(
            workspace_id, raw
        ):
            # Kept so the refusal is counted and answerable, but nothing of the record: it
            # cannot be fixed or replayed, so it is closed as it is made.
            entry.raw, entry.is_truncated = WITHHELD, False
            entry.status, entry.resolved_at = QuarantineStatus.DISCARDED, utcnow()
            entry.resolution = "withheld: it names an erased person"
        else:
            entry.raw, entry.is_truncated = raw_text(raw)
        return self.repository.add_quarantine(entry)

    def list_quarantine(
        self,
        workspace_id: str,
        status: QuarantineStatus | None = QuarantineStatus.OPEN,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[QuarantineEntry]:
        """Quarantined records, newest first, by default only those still open."""
        limit = clamp_limit(limit)
        rows = self.repository.quarantine(workspace_id, decode_cursor(cursor), limit + 1, status)
        return page_from(rows, limit)

    def counts(self, workspace_id: str) -> dict[str, int]:
        """The workspace's entries counted by status (``open``, ``replayed``, ``discarded``)."""
        return self.repository.quarantine_counts(workspace_id)

    def get_quarantine_entry(self, workspace_id: str, entry_id: str) -> QuarantineEntry:
        """One entry of the workspace; refuses another workspace's as not found (404)."""
        entry = self.repository.quarantine_entry(workspace_id, entry_id)
        if entry is None:
            raise QuarantineEntryNotFound(f"no quarantine entry {entry_id} in this workspace")
        return entry

    def replay(
        self, workspace_id: str, entry_id: str, fixed: Any = None, actor: str = "system"
    ) -> QuarantineEntry:
        """Apply a quarantined record again, as stored or as ``fixed`` by a person.

        Refuses an entry already replayed or discarded (409), and a record that still fails
        its checks (422 with the reason; the entry stays open so it can be fixed again).
        """
        entry = self.get_quarantine_entry(workspace_id, entry_id)
        if entry.status is not QuarantineStatus.OPEN:
            raise QuarantineEntryResolved(f"{entry_id} is already {entry.status.value}")
        if fixed is None:
            if entry.is_truncated:
                raise InvalidInput(
                    "this payload was cut at 64 KB; send the fixed record", field="payload"
                )
            try:
                fixed = json.loads(entry.raw)
            except json.JSONDecodeError:
                raise InvalidInput(
                    "the stored payload is not JSON; send the fixed record", field="payload"
                ) from None
        if entry.kind in ("event", "request"):
            resolution = self._replay_events(workspace_id, entry, fixed)
        elif entry.kind in REPLAYERS:
            resolution = REPLAYERS[entry.kind](self.session, entry, fixed)
        else:
            raise InvalidInput(f"entries of kind {entry.kind} cannot be replayed", field="kind")
        if not self.repository.resolve_quarantine(
            entry.id, QuarantineStatus.REPLAYED, resolution, utcnow()
        ):
            raise QuarantineEntryResolved(f"{entry_id} was resolved by someone else")
        WorkspaceService(self.session).record(
            workspace_id, actor, "quarantine.replayed", entry.id, {"resolution": resolution}
        )
        self.session.refresh(entry)
        return entry

    def _replay_events(self, workspace_id: str, entry: QuarantineEntry, fixed: Any) -> str:
        if isinstance(fixed, dict) and isinstance(fixed.get("batch"), list):
            items = [
                domain.merge_batch_context(i, fixed) if isinstance(i, dict) else i
                for i in fixed["batch"]
            ]
        else:
            items = fixed if isinstance(fixed, list) else [fixed]
        sources = SourceService(self.session)
        sender = domain.Sender(
            workspace_id, entry.source_id, sources.default_channel(entry.source_id)
        )
        # The same erasure check as a new message's (CollectService.ingest), before the others.
        intake = IdentityIntake(self.session)
        erased = intake.suppressed_indexes(workspace_id, items)
        results = []
        for index, item in enumerate(items):
            if index in erased:
                continue
            clean = domain.clean_message(item, utcnow())
            if isinstance(clean, domain.Rejection):
                raise InvalidInput(f"still refused: {clean.reason}", field=clean.field)
            results.append(clean)
        known = sources.known_channels(workspace_id)
        rows = [domain.event_row(sender, clean, known, utcnow()) for clean in results]
        inserted = self.repository.insert_events(rows)
        intake.enqueue_stitch(workspace_id, [r for r in rows if r["message_id"] in inserted])
        resolution = (
            f"replayed {len(rows)}: {len(inserted)} accepted, {len(rows) - len(inserted)} duplicate"
        )
        if erased:
            resolution += f", {len(erased)} suppressed (naming an erased person)"
        return resolution

    def discard(
        self, workspace_id: str, entry_id: str, why: str, actor: str = "system"
    ) -> QuarantineEntry:
        """Close an entry without applying it (spam, test data); the record stays readable.

        Refuses an entry already replayed or discarded (409).
        """
        entry = self.get_quarantine_entry(workspace_id, entry_id)
        if not self.repository.resolve_quarantine(
            entry.id, QuarantineStatus.DISCARDED, why or "discarded", utcnow()
        ):
            raise QuarantineEntryResolved(f"{entry_id} is already {entry.status.value}")
        WorkspaceService(self.session).record(
            workspace_id, actor, "quarantine.discarded", entry.id, {"why": why}
        )
        self.session.refresh(entry)
        return entry
