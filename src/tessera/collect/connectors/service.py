"""Orders arriving from connectors: verify, parse, map, apply, and keep what is refused.

Every record read (a webhook body, a JSON order, a report row) ends in exactly one place:
applied (accepted), recognised as already applied (duplicate), or quarantined with the reason
and the field (rejected). The rows of one order (Amazon) or one store-week (retail) are one
unit: a bad row quarantines its whole unit, with every row, so a fix and a replay apply the
order complete. Quarantine kinds: ``order:shopify``, ``refund:shopify``, ``row:amazon``,
``order:tiktok``, ``order:square``, ``row:retail`` (each replayable), ``webhook:shopify``
(a verified delivery with the wrong topic or shop: not replayable), and ``request`` for
deliveries that could not be tied to a workspace (unknown source, bad signature).

A verified webhook's refusals are kept in the source's workspace. An unverified one is kept
unattributed: anyone can post to a webhook URL, and an unverified body must not be able to
write into a brand's workspace.

A source's secrets (the webhook secret) are stored sealed (``tessera.kit.secrets``) and opened
to verify a delivery, with the keyring passed in or else the process settings' (as the feeds
do). A secret no configured key opens is the server's fault, not the sender's: the delivery is
answered 500 naming the source (Shopify retries it), and nothing is quarantined.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.orm import Session

from tessera.collect import domain as collect_domain
from tessera.collect.connectors import amazon, retail, shopify, square, tiktok
from tessera.collect.connectors.errors import (
    InvalidRecord,
    InvalidWebhookSignature,
    UnknownSource,
    UnsupportedTopic,
)
from tessera.collect.connectors.records import Record, grouped
from tessera.collect.connectors.repository import ConnectorRepository
from tessera.collect.errors import MalformedPayload
from tessera.collect.service import CollectService, Sender, replayer
from tessera.config import HoldsKeyring
from tessera.integrations.amazon.order_report import REQUIRED_COLUMNS as REQUIRED_AMAZON_COLUMNS
from tessera.integrations.retail.sell_through import REQUIRED_COLUMNS as REQUIRED_RETAIL_COLUMNS
from tessera.integrations.retail.sell_through import normalise_column
from tessera.integrations.shopify import webhooks
from tessera.integrations.shopify.payloads import TOPICS
from tessera.kit.errors import InvalidInput
from tessera.kit.logging import get_logger
from tessera.kit.secrets import Keyring, SecretUnreadable, is_sealed
from tessera.kit.time import utcnow
from tessera.models.collect import QuarantineEntry, Source, SourceKind
from tessera.order.domain import CanonicalOrder
from tessera.order.service import ApplyResult, OrderService, Outcome
from tessera.workspace.service import WorkspaceService

_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}\.myshopify\.com$")
MIN_SECRET_LENGTH = 16
log = get_logger("tessera.collect")
SCATTERED = (
    "the rows of this order are not next to each other in the file; "
    "sort the file so each order's rows are together"
)


class OrderFormat(enum.StrEnum):
    SHOPIFY = "shopify"
    AMAZON = "amazon"
    TIKTOK = "tiktok"
    SQUARE = "square"
    RETAIL = "retail"


@dataclass(frozen=True, slots=True)
class FormatSpec:
    """How one platform's orders come in: file shape, source, quarantine kind, grouping."""

    format: OrderFormat
    source_kind: SourceKind
    source_name: str  # the source used unless the caller names another
    quarantine_kind: str
    file_format: str  # jsonl | tsv | csv
    group_key: Callable[[Any], Hashable] | None = None


SPECS: dict[OrderFormat, FormatSpec] = {
    OrderFormat.SHOPIFY: FormatSpec(
        OrderFormat.SHOPIFY, SourceKind.SHOPIFY, "shopify import", "order:shopify", "jsonl"
    ),
    OrderFormat.AMAZON: FormatSpec(
        OrderFormat.AMAZON, SourceKind.AMAZON, "amazon", "row:amazon", "tsv",
        lambda row: row[amazon.ORDER_KEY].strip(),
    ),
    OrderFormat.TIKTOK: FormatSpec(
        OrderFormat.TIKTOK, SourceKind.TIKTOK_SHOP, "tiktok shop", "order:tiktok", "jsonl"
    ),
    OrderFormat.SQUARE: FormatSpec(
        OrderFormat.SQUARE, SourceKind.SQUARE, "square", "order:square", "jsonl"
    ),
    OrderFormat.RETAIL: FormatSpec(
        OrderFormat.RETAIL, SourceKind.RETAIL, "retail partners", "row:retail", "csv",
        retail.group_key,
    ),
}  # fmt: skip


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


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    status: str  # applied | duplicate
    topic: str
    order_id: str | None = None
    outcome: str | None = None
    new_refunds: tuple[str, ...] = ()


def _counts(tally: Tally, result: ApplyResult, records: int) -> None:
    if result.outcome is Outcome.UNCHANGED and not result.new_refunds:
        tally.duplicates += records
    else:
        tally.accepted += records
    tally.order_ids.append(result.order_id)


class ConnectorService(HoldsKeyring):
    def __init__(self, session: Session, keyring: Keyring | None = None) -> None:
        self.session = session
        self.repository = ConnectorRepository(session)
        self.collect = CollectService(session)
        self.orders = OrderService(session)
        self._refs: dict[str, dict[str, str]] = {}
        self._keyring = keyring

    def secret(self, source: Source, name: str) -> str | None:
        """The source's setting ``name`` (a secret), opened; None when it has none. Refuses
        (``SecretUnreadable``, 500, naming the source) a secret no configured key opens."""
        sealed = (source.settings or {}).get(name)
        if sealed is None:
            return None
        try:
            return str(self.keyring.open(sealed, _secret_of(source, name)))
        except SecretUnreadable as error:
            log.error("source_secret_unreadable", source_id=source.id, error=error.detail)
            raise

    def channel_refs(self, workspace_id: str) -> dict[str, str]:
        """External reference (POS location id, partner name) → channel key, read once."""
        if workspace_id not in self._refs:
            self._refs[workspace_id] = {
                ref: channel.key
                for channel in self.collect.list_channels(workspace_id)
                for ref in channel.external_refs or []
            }
        return self._refs[workspace_id]

    # Sources ----------------------------------------------------------------------------------

    def register_shopify(
        self,
        workspace_id: str,
        shop_domain: str,
        webhook_secret: str,
        default_channel: str | None = None,
        actor: str = "system",
    ) -> tuple[Source, bool]:
        """Register a Shopify shop as a source, or rotate its webhook secret; (source, created).

        Refuses a domain that is not ``<shop>.myshopify.com`` (webhooks name that domain), a
        secret shorter than 16 characters, and a default channel the workspace does not have.
        The secret is kept sealed in the source's settings to verify signatures; no API
        returns it.
        """
        domain = shop_domain.strip().lower()
        if not _SHOP_DOMAIN.match(domain):
            raise InvalidInput(
                "shop_domain must look like brand.myshopify.com", field="shop_domain"
            )
        secret = webhook_secret.strip()
        if len(secret) < MIN_SECRET_LENGTH:
            raise InvalidInput(
                f"webhook_secret must be at least {MIN_SECRET_LENGTH} characters",
                field="webhook_secret",
            )
        if default_channel is not None:
            self.collect.require_channel(workspace_id, default_channel)
        existing = self.collect.repository.source_named(workspace_id, SourceKind.SHOPIFY, domain)
        settings = {"shop_domain": domain, "webhook_secret": self.keyring.seal(secret)}
        source = self.collect.connector_source(
            workspace_id, SourceKind.SHOPIFY, domain, default_channel, settings
        )
        source.settings = {**(source.settings or {}), **settings}
        if default_channel is not None:
            source.default_channel = default_channel
        self.session.flush()
        WorkspaceService(self.session).record(
            workspace_id,
            actor,
            "source.registered" if existing is None else "source.secret_rotated",
            source.id,
            {"kind": "shopify", "shop_domain": domain},
        )
        return source, existing is None

    def reseal_secrets(self) -> int:
        """Seal every source's secrets (of every workspace) again under the current key, so a
        previous secret key can be dropped; returns how many sources. Refuses (500, naming the
        source) a secret no configured key opens, and the caller's scope then keeps nothing.
        """
        count = 0
        for source in self.repository.locked_sources_of_every_workspace():
            settings = dict(source.settings or {})
            sealed = [name for name, value in settings.items() if is_sealed(value)]
            for name in sealed:
                settings[name] = self.keyring.reseal(settings[name], _secret_of(source, name))
            if sealed:
                source.settings = settings
                count += 1
        self.session.flush()
        return count

    def source_for(self, workspace_id: str, spec: FormatSpec, name: str | None = None) -> Source:
        """The source a file or upload of this format is recorded under (made on first use)."""
        return self.collect.connector_source(
            workspace_id, spec.source_kind, (name or spec.source_name).strip()[:200]
        )

    def event_source(self, workspace_id: str, name: str | None = None) -> Source:
        """The source of events imported from files."""
        return self.collect.connector_source(
            workspace_id, SourceKind.IMPORT, (name or "file import").strip()[:200]
        )

    # Shopify webhooks -------------------------------------------------------------------------

    def receive_shopify_webhook(
        self, source_id: str, headers: Mapping[str, str], body: bytes, origin: str
    ) -> WebhookOutcome:
        """Verify, dedupe and apply one Shopify webhook delivery.

        Refuses (and keeps in the quarantine): an unknown source (404), a missing or wrong
        ``X-Shopify-Hmac-Sha256`` (401), a delivery from another shop or with a topic other than
        ``orders/create|updated|cancelled`` and ``refunds/create`` (422), a body that is not
        JSON (400) or not a valid order or refund (422, naming the field). A delivery whose
        ``X-Shopify-Webhook-Id`` was seen before is a duplicate and changes nothing, so
        Shopify's retries are harmless; a refused delivery is recorded too, and its retries
        are answered as duplicates, since the quarantine already holds it. A stored secret no
        configured key opens is a 500 naming the source, with nothing kept: the fault is the
        server's, and Shopify's retries succeed once the key is fixed.
        """
        source = self.repository.source_by_id(source_id)
        if source is None or source.kind is not SourceKind.SHOPIFY:
            reason = f"no Shopify source {source_id}; register the shop first"
            entry = self.collect.quarantine(None, origin, reason, body, "source_id", "request")
            raise UnknownSource(reason, field="source_id", quarantine_id=entry.id)
        signature = headers.get(webhooks.HMAC_HEADER)
        secret = self.secret(source, "webhook_secret") or ""
        if not webhooks.is_authentic(secret, body, signature):
            reason = (
                "the X-Shopify-Hmac-Sha256 header is missing"
                if not signature
                else "X-Shopify-Hmac-Sha256 does not match the body signed with the shop's secret"
            )
            entry = self.collect.quarantine(
                None, origin, reason, body, "X-Shopify-Hmac-Sha256", "request", source.id
            )
            raise InvalidWebhookSignature(
                reason, field="X-Shopify-Hmac-Sha256", quarantine_id=entry.id
            )
        workspace_id = source.workspace_id
        topic = headers.get(webhooks.TOPIC_HEADER, "").strip()
        shop = headers.get(webhooks.SHOP_HEADER, "").strip().lower()
        expected_shop = str((source.settings or {}).get("shop_domain") or "")
        if topic not in TOPICS or (shop and expected_shop and shop != expected_shop):
            header, reason = (
                ("X-Shopify-Topic", f"topic {topic!r} is not handled; send {', '.join(TOPICS)}")
                if topic not in TOPICS
                else ("X-Shopify-Shop-Domain", f"the delivery is from {shop}, not {expected_shop}")
            )
            entry = self.collect.quarantine(
                workspace_id, origin, reason, body, header, "webhook:shopify", source.id
            )
            raise UnsupportedTopic(reason, field=header, quarantine_id=entry.id)
        delivery = headers.get(webhooks.WEBHOOK_ID_HEADER, "").strip()[:200]
        if delivery and not self.collect.repository.record_delivery(
            workspace_id, source.id, delivery, topic
        ):
            return WebhookOutcome("duplicate", topic)
        self.collect.repository.touch_source(source.id, utcnow())
        kind = "refund:shopify" if topic == "refunds/create" else "order:shopify"
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            reason = f"the body is not valid JSON: {exc}"
            entry = self.collect.quarantine(
                workspace_id, origin, reason, body, "body", kind, source.id
            )
            raise MalformedPayload(reason, field="body", quarantine_id=entry.id) from None
        try:
            if topic == "refunds/create":
                result = self.apply_shopify_refund(workspace_id, source, document)
            else:
                result = self._apply(
                    workspace_id, source, self.to_canonical(SPECS[OrderFormat.SHOPIFY],
                                                             workspace_id, source, [document])
                )  # fmt: skip
        except InvalidInput as exc:
            field_name = exc.extensions.get("field")
            entry = self.collect.quarantine(
                workspace_id, origin, exc.detail, document, field_name, kind, source.id
            )
            raise InvalidRecord(exc.detail, field=field_name, quarantine_id=entry.id) from None
        return WebhookOutcome(
            "applied", topic, result.order_id, result.outcome.value, result.new_refunds
        )

    def apply_shopify_refund(self, workspace_id: str, source: Source, document: Any) -> ApplyResult:
        """Add a ``refunds/create`` refund to its order, even before the order arrives.

        The refund's money is parsed in its transactions' currency, else the order's (when it
        is here). Refuses a refund whose currency cannot be known either way.
        """
        refund = shopify.parse_refund(document)
        external_id = str(refund.order_id)
        order = self.orders.find(workspace_id, shopify.PLATFORM, external_id)
        currency = shopify.refund_currency(refund) or (order.currency if order else None)
        if currency is None:
            raise InvalidRecord(
                "the refund has no transactions naming a currency and its order is not here "
                "yet; replay it once the order has arrived",
                field="transactions",
            )
        canonical = shopify.refund_to_canonical(refund, currency)
        return self.orders.attach_refund(
            workspace_id,
            shopify.PLATFORM,
            external_id,
            canonical,
            currency,
            source.default_channel or "web",
            source.id,
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

    def _apply(self, workspace_id: str, source: Source, order: CanonicalOrder) -> ApplyResult:
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
        self.collect.repository.touch_source(source.id, utcnow())
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
                result = self._apply(workspace_id, source, order)
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
        entry = self.collect.quarantine(
            workspace_id, f"{origin} {where}", stored_reason, payload,
            field_name if isinstance(field_name, str) else None, spec.quarantine_kind, source.id,
        )  # fmt: skip
        tally.rejected.append(Rejected(at.where, reason, entry.field, entry.id, records=len(unit)))
        return tally

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
            entry = self.collect.quarantine(
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


def _secret_of(source: Source, name: str) -> str:
    return f"the {name} of source {source.id} ({source.kind.value} {source.name})"


def _rows(data: Sequence[Any]) -> list[dict[str, str]]:
    """Report rows as text cells (a fixed row sent as JSON may hold numbers)."""
    rows = []
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise InvalidRecord("each row must be an object of column: value", row=index)
        rows.append({str(k): "" if v is None else str(v) for k, v in row.items()})
    return rows


# Replaying fixed records from the quarantine --------------------------------------------------


def _source_of(service: ConnectorService, entry: QuarantineEntry, spec: FormatSpec) -> Source:
    assert entry.workspace_id is not None
    if entry.source_id is not None:
        source = service.collect.repository.source(entry.workspace_id, entry.source_id)
        if source is not None:
            return source
    return service.source_for(entry.workspace_id, spec)


def _order_replayer(spec: FormatSpec) -> None:
    def replay(session: Session, entry: QuarantineEntry, fixed: Any) -> str:
        service = ConnectorService(session)
        source = _source_of(service, entry, spec)
        assert entry.workspace_id is not None
        if spec.group_key is not None:
            data = fixed if isinstance(fixed, list) else [fixed]
        else:
            data = [fixed]
        try:
            order = service.to_canonical(spec, entry.workspace_id, source, data)
            result = service._apply(entry.workspace_id, source, order)
        except InvalidInput as exc:
            raise InvalidInput(
                f"still refused: {exc.detail}", field=exc.extensions.get("field")
            ) from None
        return f"applied to order {result.order_id} ({result.outcome.value})"

    replayer(spec.quarantine_kind)(replay)


for _spec in SPECS.values():
    _order_replayer(_spec)


@replayer("refund:shopify")
def _replay_shopify_refund(session: Session, entry: QuarantineEntry, fixed: Any) -> str:
    service = ConnectorService(session)
    assert entry.workspace_id is not None
    source = _source_of(service, entry, SPECS[OrderFormat.SHOPIFY])
    try:
        result = service.apply_shopify_refund(entry.workspace_id, source, fixed)
    except InvalidInput as exc:
        raise InvalidInput(
            f"still refused: {exc.detail}", field=exc.extensions.get("field")
        ) from None
    return f"applied to order {result.order_id} ({len(result.new_refunds)} new refund)"


def layout(spec: FormatSpec) -> tuple[str, Callable[[str], str] | None, tuple[str, ...]]:
    """A delimited format's delimiter, header normaliser and required columns."""
    if spec.format is OrderFormat.AMAZON:
        return "\t", None, REQUIRED_AMAZON_COLUMNS
    return ",", normalise_column, REQUIRED_RETAIL_COLUMNS
