"""Pure rules for incoming Segment-shaped messages: shape checks, timestamps, channels.

No session and no clock: ``received_at`` is passed in.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson

from tessera.kit.time import ensure_utc

MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
SHORT_TYPES = {
    "i": "identify",
    "t": "track",
    "p": "page",
    "s": "screen",
    "g": "group",
    "a": "alias",
}
APP_LIBRARIES = (
    "analytics-ios", "analytics-android", "analytics-react-native", "analytics-swift",
    "analytics-kotlin", "analytics_flutter", "rudder-ios", "rudder-android",
)  # fmt: skip

# Segment e-commerce v2 names (reference/collect.md).
ORDER_EVENTS = {"Order Completed", "Order Updated", "Order Refunded", "Order Cancelled"}
PRODUCT_EVENTS = {
    "Product Clicked", "Product Viewed", "Product Added", "Product Removed", "Product Shared",
    "Product Reviewed", "Product Added to Wishlist", "Product Removed from Wishlist",
    "Wishlist Product Added to Cart",
}  # fmt: skip
PRODUCT_LIST_EVENTS = {
    "Product List Viewed", "Product List Filtered", "Cart Viewed", "Checkout Started",
    "Checkout Step Viewed", "Checkout Step Completed", "Payment Info Entered", "Cart Shared",
    *ORDER_EVENTS,
}  # fmt: skip
ECOMMERCE_EVENTS = PRODUCT_EVENTS | PRODUCT_LIST_EVENTS | {
    "Products Searched", "Promotion Viewed", "Promotion Clicked", "Coupon Entered",
    "Coupon Applied", "Coupon Denied", "Coupon Removed",
}  # fmt: skip
MONEY_FIELDS = ("total", "subtotal", "revenue", "shipping", "tax", "discount", "value", "price")
# A money field sent as text, as Segment's own clients allow ("64.50", "-5", ".5"); longer
# text is no amount anyone means, and stays text (to be refused).
_NUMERIC_TEXT = re.compile(r"^-?(?:\d+(?:\.\d*)?|\.\d+)$")
_NUMERIC_TEXT_MAX = 32
_EXACT_INTEGERS = 2**53  # JSON readers hold integers exactly up to here
# Where a stored message records what the server changed: context.tessera.coerced maps each
# field path to the text it arrived as.
SERVER_NOTES = "tessera"


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent a request: the workspace and the source behind a write key or connector."""

    workspace_id: str
    source_id: str | None
    default_channel: str | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one message was refused, with the field at fault when there is one."""

    reason: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class CleanMessage:
    """A message that passed every check, ready to store."""

    message_id: str
    type: str
    event: str | None
    user_id: str | None
    anonymous_id: str | None
    timestamp: datetime
    original_timestamp: datetime | None
    sent_at: datetime | None
    payload: dict[str, Any]


def encoded(message: Any) -> bytes:
    """Compact UTF-8 JSON of a message: what its size is measured on.

    orjson is several times faster than ``json``; values it refuses (integers past 64 bits,
    which only Python callers can pass) fall back to ``json`` with the same compact form.
    """
    try:
        return orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(message, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def encoded_size(message: Mapping[str, Any]) -> int:
    return len(encoded(message))


def has_nul(value: Any) -> bool:
    """Whether a NUL character hides in any string or key. PostgreSQL cannot store one (in
    text or JSONB), so such a message is refused on every backend alike."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False


def parse_time(value: Any, field: str) -> datetime | Rejection | None:
    """An ISO 8601 time (a ``Z`` suffix allowed) as aware UTC; None when absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        return Rejection(f"{field} must be an ISO 8601 string", field)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return ensure_utc(datetime.fromisoformat(text))
    except (ValueError, OverflowError):  # OverflowError: year 1 shifted into year 0 by UTC
        return Rejection(f"{field} is not an ISO 8601 time: {value[:40]!r}", field)


def _id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return (str(int(value)) if float(value).is_integer() else str(value))[:200]
    if isinstance(value, str):
        return value[:200]
    return None


def corrected_timestamp(
    original: datetime | None, sent_at: datetime | None, received_at: datetime
) -> datetime:
    """Segment's clock-skew correction: ``receivedAt - (sentAt - originalTimestamp)``.

    All messages of one batch share the batch's ``sentAt``, so the correction shifts a device's
    events by one offset and never reorders them.
    """
    if original is None:
        return received_at
    if sent_at is None:
        return original
    return received_at - (sent_at - original)


def merge_batch_context(item: dict[str, Any], batch: Mapping[str, Any]) -> dict[str, Any]:
    """A batch's top-level ``context`` and ``integrations`` merged under each item's own."""
    merged = dict(item)
    for key in ("context", "integrations"):
        shared = batch.get(key)
        if isinstance(shared, dict):
            own = item.get(key)
            merged[key] = {**shared, **own} if isinstance(own, dict) else dict(shared)
    return merged


def clean_message(
    raw: Any,
    received_at: datetime,
    forced_type: str | None = None,
    batch_sent_at: datetime | None = None,
) -> CleanMessage | Rejection:
    """Check one message's shape and fill in the server-side fields, or say why not."""
    if not isinstance(raw, dict):
        return Rejection("a message must be a JSON object")
    as_json = encoded(raw)
    if len(as_json) > MAX_EVENT_BYTES:
        return Rejection(f"message is larger than the {MAX_EVENT_BYTES // 1024} KB limit")
    if b"\\u0000" in as_json and has_nul(raw):  # the cheap test first: JSON escapes NUL
        return Rejection("a string or key contains a NUL character (\\u0000)")
    kind = forced_type or raw.get("type")
    if isinstance(kind, str):
        kind = SHORT_TYPES.get(kind, kind)
    if kind not in MESSAGE_TYPES:
        return Rejection(f"type must be one of {', '.join(MESSAGE_TYPES)}", "type")
    for key in ("properties", "traits", "context", "integrations"):
        if key in raw and raw[key] is not None and not isinstance(raw[key], dict):
            return Rejection(f"{key} must be an object", key)
    user_id, anonymous_id = _id(raw.get("userId")), _id(raw.get("anonymousId"))
    if user_id is None and anonymous_id is None:
        return Rejection("userId or anonymousId is required", "userId")
    event_name: str | None = None
    properties: dict[str, Any] = raw.get("properties") or {}
    coerced: dict[str, str] = {}  # field path -> the numeric text it arrived as
    if kind == "track":
        event_name = raw.get("event")
        if not isinstance(event_name, str) or not event_name.strip():
            return Rejection("a track call needs an event name", "event")
        properties, coerced = coerce_money(event_name, properties)
        problem = check_ecommerce(event_name, properties)
        if problem:
            return problem
    elif kind in ("page", "screen"):
        name = raw.get("name")
        event_name = name if isinstance(name, str) else None
    elif kind == "group" and _id(raw.get("groupId")) is None:
        return Rejection("a group call needs a groupId", "groupId")
    elif kind == "alias" and (_id(raw.get("previousId")) is None or user_id is None):
        return Rejection("an alias call needs previousId and userId", "previousId")

    original = parse_time(raw.get("originalTimestamp", raw.get("timestamp")), "timestamp")
    sent = batch_sent_at or parse_time(raw.get("sentAt"), "sentAt")
    for value in (original, sent):
        if isinstance(value, Rejection):
            return value
    assert not isinstance(original, Rejection) and not isinstance(sent, Rejection)
    if "originalTimestamp" in raw and "timestamp" in raw:
        # An import that sets both: the caller's timestamp is already corrected.
        explicit = parse_time(raw["timestamp"], "timestamp")
        if isinstance(explicit, Rejection):
            return explicit
        timestamp = explicit or received_at
    else:
        try:
            timestamp = corrected_timestamp(original, sent, received_at)
        except OverflowError:
            return Rejection("sentAt and timestamp are too far apart to correct", "sentAt")

    payload = dict(raw)
    if coerced:
        payload["properties"] = properties
        payload["context"] = noted(raw.get("context"), coerced)
    if "writeKey" in payload or "write_key" in payload:
        payload.pop("writeKey", None)
        payload.pop("write_key", None)
    payload["type"] = kind
    message_id = _id(raw.get("messageId")) or generated_message_id(payload)
    payload["messageId"] = message_id
    payload["timestamp"] = timestamp.isoformat()
    payload["receivedAt"] = _shared_isoformat(received_at)
    if original is not None:
        payload["originalTimestamp"] = original.isoformat()
    if sent is not None:
        payload["sentAt"] = _shared_isoformat(sent)
    return CleanMessage(
        message_id=message_id,
        type=kind,
        event=event_name[:200] if event_name else None,
        user_id=user_id,
        anonymous_id=anonymous_id,
        timestamp=timestamp,
        original_timestamp=original,
        sent_at=sent,
        payload=payload,
    )


# receivedAt and a batch's sentAt are the same for every message of a request.
_shared_isoformat = lru_cache(maxsize=64)(datetime.isoformat)


def generated_message_id(payload: Mapping[str, Any]) -> str:
    """For a message without a messageId: a digest of its content, so a replay still dedupes."""
    stable = {k: v for k, v in payload.items() if k not in ("sentAt", "receivedAt")}
    digest = hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()
    return f"gen-{digest[:32]}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(text: str) -> int | float:
    """A numeric text as the JSON number it writes: whole amounts as integers (those every
    JSON reader holds exactly), the rest as floats, as an SDK would have sent them."""
    amount = Decimal(text)
    if amount == amount.to_integral_value() and abs(amount) < _EXACT_INTEGERS:
        return int(amount)
    return float(amount)


def coerce_money(
    event: str, properties: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """An e-commerce event's money fields sent as numeric text ("64.50") as numbers, as
    Segment accepts them, and a map of each field changed to the text it arrived as.

    Only text that reads as a decimal number is changed: anything else ("sixty", "64,50",
    "$64.50") stays as sent, for ``check_ecommerce`` to refuse naming the field. Events that
    are not Segment e-commerce events are never touched.
    """
    if event not in ECOMMERCE_EVENTS:
        return dict(properties), {}
    coerced: dict[str, str] = {}

    def fixed(fields: Mapping[str, Any], where: str, names: Collection[str]) -> dict[str, Any]:
        out = dict(fields)
        for name in names:
            sent = out.get(name)
            text = sent.strip() if isinstance(sent, str) else ""
            if len(text) <= _NUMERIC_TEXT_MAX and _NUMERIC_TEXT.match(text):
                out[name] = _number(text)
                coerced[f"{where}.{name}"] = str(sent)
        return out

    result = fixed(properties, "properties", MONEY_FIELDS)
    products = result.get("products")
    if event in PRODUCT_LIST_EVENTS and isinstance(products, list):
        result["products"] = [
            fixed(item, f"properties.products[{index}]", ("price",))
            if isinstance(item, dict)
            else item
            for index, item in enumerate(products)
        ]
    return result, coerced


def noted(context: Any, coerced: Mapping[str, str]) -> dict[str, Any]:
    """A message's context with the server's note of the fields it coerced
    (``context.tessera.coerced``), so the debugger and the quarantine can show them."""
    merged = dict(context) if isinstance(context, dict) else {}
    notes = merged.get(SERVER_NOTES)
    notes = dict(notes) if isinstance(notes, dict) else {}
    notes["coerced"] = dict(coerced)
    merged[SERVER_NOTES] = notes
    return merged


def check_ecommerce(event: str, properties: Mapping[str, Any]) -> Rejection | None:
    """Check a Segment e-commerce v2 event against its spec; None when it conforms."""
    if event not in ECOMMERCE_EVENTS:
        return None
    if event in ORDER_EVENTS and _id(properties.get("order_id")) is None:
        return Rejection(f"{event} needs properties.order_id", "properties.order_id")
    for name in MONEY_FIELDS:
        if name in properties and properties[name] is not None and not _is_number(properties[name]):
            return Rejection(f"properties.{name} must be a number", f"properties.{name}")
    currency = properties.get("currency")
    if currency is not None and not (isinstance(currency, str) and len(currency) == 3):
        return Rejection("properties.currency must be a 3-letter code", "properties.currency")
    if event in PRODUCT_LIST_EVENTS and "products" in properties:
        products = properties["products"]
        if not isinstance(products, list):
            return Rejection("properties.products must be a list", "properties.products")
        for index, product in enumerate(products):
            problem = _check_product(product, f"properties.products[{index}]")
            if problem:
                return problem
    if event in PRODUCT_EVENTS:
        return _check_product(properties, "properties")
    return None


def _check_product(product: Any, where: str) -> Rejection | None:
    if not isinstance(product, dict):
        return Rejection(f"{where} must be an object", where)
    for name in ("price", "quantity"):
        value = product.get(name)
        if value is not None and not _is_number(value):
            return Rejection(f"{where}.{name} must be a number", f"{where}.{name}")
    return None


def resolve_channel(
    payload: Mapping[str, Any], known_channels: Collection[str], source_default: str | None
) -> str:
    """The channel an event belongs to: explicit ``context.channel`` if it is registered, then
    the source's default, then an app library or app context means ``app``, else ``web``."""
    context = payload.get("context") or {}
    explicit = context.get("channel") if isinstance(context, dict) else None
    if isinstance(explicit, str) and explicit in known_channels:
        return explicit
    if source_default:
        return source_default
    library = context.get("library") if isinstance(context, dict) else None
    name = library.get("name", "") if isinstance(library, dict) else ""
    if isinstance(name, str) and name.startswith(APP_LIBRARIES):
        return "app"
    if isinstance(context, dict) and isinstance(context.get("app"), dict) and "page" not in context:
        return "app"
    return "web"


def event_row(
    sender: Sender, clean: CleanMessage, known: Collection[str], received_at: datetime
) -> dict[str, Any]:
    """The ``event`` row of a clean message: its channel resolved, its sender recorded."""
    return {
        "workspace_id": sender.workspace_id,
        "message_id": clean.message_id,
        "type": clean.type,
        "event": clean.event,
        "user_id": clean.user_id,
        "anonymous_id": clean.anonymous_id,
        "channel": resolve_channel(clean.payload, known, sender.default_channel),
        "source_id": sender.source_id,
        "timestamp": clean.timestamp,
        "original_timestamp": clean.original_timestamp,
        "sent_at": clean.sent_at,
        "received_at": received_at,
        "payload": clean.payload,
    }
