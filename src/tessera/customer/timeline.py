"""The timeline's pieces: where an item sorts, its opaque cursor, and how each kind of row
(an event, an order, a consent, a merge or its undoing) reads as one item.

Newest first, ties broken by id (descending); an unmerge sorts by when it was undone under the
key ``<merge id>~u``. Pure: rows in, API shapes out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tessera.customer import schemas
from tessera.kit.errors import InvalidInput
from tessera.kit.pagination import decode_cursor, encode_cursor
from tessera.kit.time import ensure_utc
from tessera.models.collect import Event
from tessera.models.identity import Consent, Identifier, IdentityMerge
from tessera.models.order import Order

# Order events (message ids ``order:<id>:...``) are shown once, as their order.
ORDER_EVENT_PREFIX = "order:"


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """Where a timeline item sorts: newest first, ties broken by id (descending)."""

    at: datetime
    key: str


def encode_position(position: Position) -> str:
    return encode_cursor(f"{position.at.isoformat()}|{position.key}")


def decode_position(cursor: str | None) -> Position | None:
    """The position a timeline cursor points after; refuses a cursor this API did not make."""
    value = decode_cursor(cursor)
    if value is None:
        return None
    at, sep, key = value.partition("|")
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        moment = None
    if not sep or not key or moment is None or moment.tzinfo is None or "\x00" in key:
        raise InvalidInput("cursor is not one this API returned", field="cursor")
    return Position(ensure_utc(moment), key)


def consent_out(consent: Consent, identifier: Identifier) -> schemas.ConsentOut:
    """A consent row as the API shows it, with the identifier it was given for."""
    return schemas.ConsentOut(
        id=consent.id,
        identifier_id=consent.identifier_id,
        identifier_type=identifier.type,
        identifier_value=identifier.value,
        purpose=consent.purpose,
        channel=consent.channel,
        status=consent.status,
        recorded_at=consent.recorded_at,
        source=consent.source,
        wording=consent.wording,
        evidence=consent.evidence or {},
        actor=consent.actor,
        created_at=consent.created_at,
    )


def event_item(event: Event) -> schemas.TimelineItem:
    payload = event.payload or {}
    title = event.event or (f"{event.type}" if event.type != "page" else "page view")
    if event.type in ("page", "screen") and payload.get("name"):
        title = f"{event.type}: {payload['name']}"
    detail: dict[str, Any] = {"type": event.type, "message_id": event.message_id}
    for part in ("properties", "traits"):
        if isinstance(payload.get(part), dict) and payload[part]:
            detail[part] = payload[part]
    return schemas.TimelineItem(
        id=event.id,
        kind="event",
        occurred_at=event.timestamp,
        channel=event.channel,
        title=title,
        detail=detail,
    )


def order_item(order: Order) -> schemas.TimelineItem:
    return schemas.TimelineItem(
        id=order.id,
        kind="order",
        occurred_at=order.placed_at,
        channel=order.channel,
        title=f"Order {order.order_number}",
        detail={
            "order_id": order.id,
            "platform": order.platform,
            "order_number": order.order_number,
            "status": order.status.value,
            "currency": order.currency,
            "total": order.total,
            "refunded_total": order.refunded_total,
        },
    )


def consent_item(consent: schemas.ConsentOut) -> schemas.TimelineItem:
    return schemas.TimelineItem(
        id=consent.id,
        kind="consent",
        occurred_at=consent.recorded_at,
        channel=consent.channel,
        title=f"Consent {consent.status.value}: {consent.purpose} by {consent.channel}",
        detail={
            "identifier_type": consent.identifier_type,
            "identifier_value": consent.identifier_value,
            "source": consent.source,
            "wording": consent.wording,
        },
    )


def merge_item(merge: IdentityMerge, *, undone: bool) -> schemas.TimelineItem:
    if undone:
        assert merge.undone_at is not None
        return schemas.TimelineItem(
            id=merge.id,
            kind="unmerge",
            occurred_at=merge.undone_at,
            channel=None,
            title=f"Unmerged {merge.absorbed_profile_id} from {merge.survivor_profile_id}",
            detail={"merge_id": merge.id, "undone_by": merge.undone_by},
        )
    return schemas.TimelineItem(
        id=merge.id,
        kind="merge",
        occurred_at=merge.created_at,
        channel=None,
        title=f"Merged {merge.absorbed_profile_id} into {merge.survivor_profile_id}",
        detail={
            "merge_id": merge.id,
            "cause_kind": merge.cause_kind,
            "cause_ref": merge.cause_ref,
            "evidence": merge.evidence or {},
            "actor": merge.actor,
        },
    )
