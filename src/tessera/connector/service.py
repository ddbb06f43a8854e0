"""Orders and events arriving from connectors: parse, map, apply, and keep what is refused.

Every record read (a JSON order, a report row, an imported event) ends in exactly one place:
applied (accepted), recognised as already applied (duplicate), or quarantined with the reason
and the field (rejected). The rows of one order (Amazon) or one store-week (retail) are one
unit: a bad row quarantines its whole unit, with every row, so a fix and a replay apply the
order complete. Quarantine kinds: ``order:shopify``, ``row:amazon``, ``order:tiktok``,
``order:square``, ``row:retail`` (each replayable, ``tessera.connector.replay``) and
``event``. Shopify's webhooks are in ``tessera.connector.webhooks``, sources' secrets in
``tessera.connector.secrets``.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.orm import Session

from tessera.collect import domain as collect_domain
from tessera.collect.domain import Sender
from tessera.collect.errors import MalformedPayload
from tessera.collect.quarantine import QuarantineService
from tessera.collect.service import CollectService
from tessera.collect.sources import SourceService
from tessera.connector import amazon, retail, shopify, square, tiktok
from tessera.connector.errors import InvalidRecord, UnreadableFile
from tessera.connector.formats import FormatSpec, OrderFormat, layout
from tessera.connector.records import (
    Record,
    delimited_records,
    grouped,
    json_items,
    read_header,
)
from tessera.connector.repository import ConnectorRepository
from tessera.kit.errors import InvalidInput
from tessera.kit.time import utcnow
from tessera.models.collect import Source, SourceKind
from tessera.order.domain import CanonicalOrder
from tessera.order.service import ApplyResult, OrderService, Outcome

SCATTERED = (
    "the rows of this order are not next to each other in the file; "
    "sort the file so each order's rows are together"
)


@dataclass(frozen=True, slots=True)
class Rejected:
    """One refused unit: where it is, why, the field at fault, and its quarantine entry."""

    where: str
    reason: str
    field: str | None
    quarantine_id: str
    records: int = 1  # how many records (rows) the unit held


@dataclass
class Tally:
    """What happened to the records of a request, a chunk or a file."""

    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)

    @property
    def rejected_count(self) -> int:
        return sum(item.records for item in self.rejected)

    @property
    def balanced(self) -> bool:
        return self.accepted + self.duplicates + self.rejected_count == self.received

    def add(self, other: Tally) -> None:
        self.received += other.received
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)
        self.order_ids.extend(other.order_ids)

    def reasons(self) -> Counter[str]:
        """Rejected records counted by reason."""
        counts: Counter[str] = Counter()
        for item in self.rejected:
            counts[item.reason] += item.records
        return counts


def _counts(tally: Tally, result: ApplyResult, records: int) -> None:
    if result.outcome is Outcome.UNCHANGED and not result.new_refunds:
        tally.duplicates += records
    else:
        tally.accepted += records
    tally.order_ids.append(result.order_id)


class ConnectorService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = ConnectorRepository(session)
        self.collect = CollectService(session)
        self.sources = SourceService(session)
        self.quarantine = QuarantineService(session)
        self.orders = OrderService(session)
        self._refs: dict[str, dict[str, str]] = {}

    def channel_refs(self, workspace_id: str) -> dict[str, str]:
        """External reference (POS location id, partner name) → channel key, read once."""
        if workspace_id not in self._refs:
            self._refs[workspace_id] = {
                ref: channel.key
                for channel in self.sources.list_channels(workspace_id)
                for ref in channel.external_refs or []
            }
        return self._refs[workspace_id]

    # Sources ----------------------------------------------------------------------------------

    def source_for(self, workspace_id: str, spec: FormatSpec, name: str | None = None) -> Source:
        """The source a file or upload of this format is recorded under (made on first use)."""
        return self.sources.connector_source(
            workspace_id, spec.source_kind, (name or spec.source_name).strip()[:200]
        )

    def event_source(self, workspace_id: str, name: str | None = None) -> Source:
        """The source of events imported from files."""
        return self.sources.connector_source(
            workspace_id, SourceKind.IMPORT, (name or "file import").strip()[:200]
        )

    # Orders from files and request bodies -----------------------------------------------------

    def to_canonical(
        self, spec: FormatSpec, workspace_id: str, source: Source, data: Sequence[Any]
    ) -> CanonicalOrder:
        """The records of one unit as a canonical order (``InvalidRecord`` if they are not)."""
        refs = self.channel_refs(workspace_id)
        if spec.format is OrderFormat.SHOPIFY:
            order = shopify.parse_order(data[0])
            return shopify.order_to_canonical(order, refs, source.default_channel or "web")
        if spec.format is OrderFormat.TIKTOK:
            return tiktok.order_to_canonical(tiktok.parse_order(data[0]))
        if spec.format is OrderFormat.SQUARE:
            return square.order_to_canonical(square.parse_order(data[0]), refs)
        rows = _rows(data)
        if spec.format is OrderFormat.AMAZON:
            return amazon.rows_to_canonical(rows, source.default_channel or "amazon")
        return retail.rows_to_canonical(rows, refs)

    def apply_order(self, workspace_id: str, source: Source, order: CanonicalOrder) -> ApplyResult:
        """Apply a canonical order recorded under ``source`` (``OrderService.apply``: newest
        snapshot wins, refunds a set); refuses what ``OrderService`` refuses."""
        return self.orders.apply(workspace_id, order, source.id)

    def apply_records(
        self,
        spec: FormatSpec,
        workspace_id: str,
        source: Source,
        records: Iterable[Record],
        origin: str,
    ) -> Tally:
        """Apply the orders of a request body or a small file, grouping rows into orders."""
        tally = Tally()
        for unit, scattered in grouped(records, spec.group_key):
            tally.add(self.apply_unit(spec, workspace_id, source, unit, origin, scattered))
        self.sources.touch(source.id, utcnow())
        return tally

    def apply_unit(
        self,
        spec: FormatSpec,
        workspace_id: str,
        source: Source,
        unit: Sequence[Record],
        origin: str,
        scattered: bool = False,
    ) -> Tally:
        """Apply one order's records, or quarantine them all with the reason and the field.

        Refuses a unit with an unreadable record (a cut-short line, too few cells), scattered
        rows, or a record the platform's mapping or ``OrderService`` refuses. Nothing of a
        refused unit is applied.
        """
        tally = Tally(received=len(unit))
        where = unit[0].where if len(unit) == 1 else f"lines {unit[0].line}-{unit[-1].end_line}"
        broken = next((record for record in unit if record.problem is not None), None)
        at = unit[0]
        field_name: Any
        if scattered:
            reason, field_name = SCATTERED, "rows"
        elif broken is not None and broken.problem is not None:
            at = broken
            reason, field_name = broken.problem.detail, broken.problem.extensions.get("field")
        else:
            try:
                order = self.to_canonical(spec, workspace_id, source, [r.data for r in unit])
                result = self.apply_order(workspace_id, source, order)
            except InvalidInput as exc:
                reason, field_name = exc.detail, exc.extensions.get("field")
                row = exc.extensions.get("row")
                if isinstance(row, int) and 0 <= row < len(unit):
                    at = unit[row]
            else:
                _counts(tally, result, len(unit))
                return tally
        payload: Any = (
            (unit[0].data if unit[0].data is not None else unit[0].raw)
            if spec.group_key is None
            else [r.data if r.data is not None else r.raw for r in unit]
        )
        stored_reason = reason if len(unit) == 1 else f"{at.where}: {reason}"
        entry = self.quarantine.keep(
            workspace_id, f"{origin} {where}", stored_reason, payload,
            field_name if isinstance(field_name, str) else None, spec.quarantine_kind, source.id,
        )  # fmt: skip
        tally.rejected.append(Rejected(at.where, reason, entry.field, entry.id, records=len(unit)))
        return tally

    # Uploads ----------------------------------------------------------------------------------

    def apply_upload(
        self,
        spec: FormatSpec,
        workspace_id: str,
        body: bytes,
        origin: str,
        source_name: str | None = None,
    ) -> Tally:
        """Apply the orders of an uploaded body: JSON for the JSON formats (one order, a list,
        or ``{"orders": [...]}``), else the platform's delimited report.

        Refuses, keeping the body in the quarantine: JSON that does not parse (400), a report
        whose header lacks a required column (422, naming it). Each refused order or unit is
        kept and counted in the tally while its neighbours are applied.
        """
        source = self.source_for(workspace_id, spec, source_name)
        records = self._upload_records(spec, workspace_id, source, body, origin)
        return self.apply_records(spec, workspace_id, source, records, origin)

    def _upload_records(
        self, spec: FormatSpec, workspace_id: str, source: Source, body: bytes, origin: str
    ) -> Iterator[Record]:
        if spec.file_format == "jsonl":
            try:
                document: Any = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                reason = f"the body is not valid JSON: {exc}"
                entry = self.quarantine.keep(
                    workspace_id, origin, reason, body, "body", spec.quarantine_kind, source.id
                )
                raise MalformedPayload(reason, field="body", quarantine_id=entry.id) from None
            return iter(json_items(document))
        delimiter, normalise, required = layout(spec)
        stream = io.BytesIO(body)
        try:
            columns, header_bytes = read_header(stream, delimiter, normalise, required)
        except UnreadableFile as exc:
            field_name = exc.extensions.get("field")
            entry = self.quarantine.keep(
                workspace_id, origin, exc.detail, body, field_name, spec.quarantine_kind, source.id
            )
            raise UnreadableFile(exc.detail, field=field_name, quarantine_id=entry.id) from None
        return delimited_records(stream, columns, header_bytes, delimiter=delimiter)

    # Events from files ------------------------------------------------------------------------

    def apply_events(
        self, workspace_id: str, source: Source, records: Sequence[Record], origin: str
    ) -> Tally:
        """Store imported events once each (by ``messageId``) and quarantine the rest.

        Each refused event is kept with ``origin`` naming its file and line, and the field;
        its neighbours are stored all the same.
        """
        tally = Tally(received=len(records))
        now = utcnow()
        good: list[Record] = []
        for record in records:
            if record.problem is not None:
                reason, field_name = record.problem.detail, record.problem.extensions.get("field")
            else:
                clean = collect_domain.clean_message(record.data, now)
                if not isinstance(clean, collect_domain.Rejection):
                    good.append(record)
                    continue
                reason, field_name = clean.reason, clean.field
            entry = self.quarantine.keep(
                workspace_id, f"{origin} {record.where}", reason,
                record.data if record.data is not None else record.raw,
                field_name, "event", source.id,
            )  # fmt: skip
            tally.rejected.append(Rejected(record.where, reason, field_name, entry.id))
        if good:
            sender = Sender(workspace_id, source.id, source.default_channel)
            result = self.collect.ingest(sender, [r.data for r in good], origin, now)
            tally.accepted += result.accepted
            tally.duplicates += result.duplicates
            for item in result.rejected:
                tally.rejected.append(
                    Rejected(good[item.index].where, item.reason, item.field, item.quarantine_id)
                )
        return tally


def _rows(data: Sequence[Any]) -> list[dict[str, str]]:
    """Report rows as text cells (a fixed row sent as JSON may hold numbers)."""
    rows = []
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise InvalidRecord("each row must be an object of column: value", row=index)
        rows.append({str(k): "" if v is None else str(v) for k, v in row.items()})
    return rows
