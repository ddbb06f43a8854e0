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

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tessera.collect import domain
from tessera.collect.errors import QuarantineEntryNotFound, QuarantineEntryResolved
from tessera.collect.repository import CollectRepository, QuarantineGroupKey
from tessera.collect.sources import SourceService
from tessera.identity.graph.intake import IdentityIntake
from tessera.kit.bounds import storable_text_problem
from tessera.kit.errors import InvalidInput, Problem
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, page_from
from tessera.kit.time import utcnow
from tessera.models.collect import QuarantineEntry, QuarantineStatus
from tessera.workspace.service import WorkspaceService

RAW_LIMIT = 64 * 1024  # bytes of a refused payload kept in the quarantine
GROUP_LIMIT = 100  # groups shown; the rest are reached by paging the list
BULK_LIMIT = 500  # entries one bulk replay or discard acts on
GROUP_TOKEN_LIMIT = 2000
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
        group: QuarantineGroupKey | None = None,
    ) -> Page[QuarantineEntry]:
        """Quarantined records, newest first, by default only those still open; with
        ``group``, only those of that group (see ``groups``)."""
        limit = clamp_limit(limit)
        rows = self.repository.quarantine(
            workspace_id, decode_cursor(cursor), limit + 1, status, group
        )
        return page_from(rows, limit)

    def groups(
        self, workspace_id: str, status: QuarantineStatus | None = QuarantineStatus.OPEN
    ) -> list[QuarantineGroup]:
        """Refusals alike (one source, kind and field, or reason when no field is named),
        the largest first: a thousand rows refused for one reason are one line to act on."""
        names = {s.id: s.name for s in SourceService(self.session).list_sources(workspace_id)}
        return [
            QuarantineGroup(key, names.get(key.source_id or "", "unattributed"), n, sample, newest)
            for key, n, sample, newest in self.repository.quarantine_groups(
                workspace_id, status, GROUP_LIMIT
            )
        ]

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

        Refuses a discard without a note saying why (422): a dropped record must say why it
        was dropped. Refuses an entry already replayed or discarded (409).
        """
        why = why.strip()
        if not why:
            raise InvalidInput("say why the record is discarded", field="why")
        entry = self.get_quarantine_entry(workspace_id, entry_id)
        if not self.repository.resolve_quarantine(
            entry.id, QuarantineStatus.DISCARDED, why, utcnow()
        ):
            raise QuarantineEntryResolved(f"{entry_id} is already {entry.status.value}")
        WorkspaceService(self.session).record(
            workspace_id, actor, "quarantine.discarded", entry.id, {"why": why}
        )
        self.session.refresh(entry)
        return entry

    def open_ids_in_group(self, workspace_id: str, group: QuarantineGroupKey) -> list[str]:
        """The open entries of a group, newest first, as many as one bulk action takes."""
        rows = self.repository.quarantine(
            workspace_id, None, BULK_LIMIT, QuarantineStatus.OPEN, group
        )
        return [row.id for row in rows]

    def replay_many(
        self, workspace_id: str, entry_ids: Sequence[str], actor: str = "system"
    ) -> list[BulkOutcome]:
        """Replay each entry as stored, each in its own savepoint: one that is still refused
        (or already resolved) is reported and stays as it was, the others are applied."""
        return self._each(entry_ids, lambda i: self.replay(workspace_id, i, None, actor))

    def discard_many(
        self, workspace_id: str, entry_ids: Sequence[str], why: str, actor: str = "system"
    ) -> list[BulkOutcome]:
        """Discard each entry with one note; refuses the whole call without a note (422)."""
        if not why.strip():
            raise InvalidInput("say why the records are discarded", field="why")
        return self._each(entry_ids, lambda i: self.discard(workspace_id, i, why, actor))

    def _each(
        self, entry_ids: Sequence[str], act: Callable[[str], QuarantineEntry]
    ) -> list[BulkOutcome]:
        if not 1 <= len(entry_ids) <= BULK_LIMIT:
            raise InvalidInput(f"name 1 to {BULK_LIMIT} entries", field="ids")
        outcomes = []
        for entry_id in dict.fromkeys(entry_ids):
            try:
                with self.session.begin_nested():
                    entry = act(entry_id)
            except Problem as problem:
                outcomes.append(BulkOutcome(entry_id, False, problem.detail))
            else:
                outcomes.append(BulkOutcome(entry_id, True, entry.resolution or ""))
        return outcomes


@dataclass(frozen=True)
class QuarantineGroup:
    key: QuarantineGroupKey
    source_name: str
    entries: int
    sample_reason: str
    newest: datetime

    @property
    def token(self) -> str:
        """The group as an opaque token the list takes back (``group=``)."""
        return group_token(self.key)


def group_token(key: QuarantineGroupKey) -> str:
    text = json.dumps(list(key), separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def parse_group_token(token: str) -> QuarantineGroupKey:
    """The group a token names; refuses one this API did not make (422, field ``group``)."""
    refused = InvalidInput("group is not one this API returned", field="group")
    if len(token) > GROUP_TOKEN_LIMIT:
        raise refused
    try:
        parts = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused from None
    if (
        not isinstance(parts, list)
        or len(parts) != len(QuarantineGroupKey._fields)
        or not isinstance(parts[1], str)
        or not all(p is None or isinstance(p, str) for p in parts)
        or any(isinstance(p, str) and storable_text_problem(p) for p in parts)
    ):
        raise refused
    return QuarantineGroupKey(*parts)


@dataclass(frozen=True)
class BulkOutcome:
    """What one entry of a bulk replay or discard came to."""

    entry_id: str
    is_done: bool
    detail: str
