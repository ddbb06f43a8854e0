"""What a message sent for an event can show of that event: ``event`` and, for a cart, ``cart``.

A journey's messages are about what the person did: the checkout they left, the order they
placed. The event that let them into the journey is read once, when the message is queued,
and kept on the outbox row with the rest of its context, so a message rendered hours later
shows the cart as it was left.

- ``event`` is the event's ``properties`` as stored (Segment's shape: ``{{ event.order_id }}``,
  ``{{ event.checkout_url }}``), made JSON-safe and bounded: properties too large for the row
  keep their plain values only, so an event with a huge payload never stops a message.
- ``cart`` (for cart and checkout events) is Segment's ``products`` as a template wants them:
  ``items`` (also ``products``) of name, SKU, quantity, price as text in major units
  ("38.00"), url and image_url, taken from the event or, where the event lacks them, from the
  catalog by SKU; and the cart's id, total, currency and address (``checkout_url``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from tessera.catalog.service import CatalogService
from tessera.collect.service import CollectService

CART_EVENTS = frozenset(
    {
        "Checkout Started",
        "Checkout Step Viewed",
        "Checkout Step Completed",
        "Payment Info Entered",
        "Cart Viewed",
        "Product Added",
        "Product Removed",
    }
)
MAX_EVENT_BYTES = 24 * 1024  # the row's context holds 64 KB; the cart shares it
MAX_ITEMS = 50
MAX_TEXT = 2000

# A SKU's storefront page and picture from the catalog: (url, image_url) by SKU.
LinksOf = Callable[[Sequence[str]], Mapping[str, tuple[str | None, str | None]]]


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` as plain JSON: strings, finite numbers, booleans, None, lists and objects
    (keys as text); anything else as its text, too deep a nesting dropped."""
    if depth > 10:
        return None
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): json_safe(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item, depth + 1) for item in value]
    return str(value)


def _size(value: Any) -> int:
    return len(json.dumps(value, allow_nan=False))


def event_view(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The event's properties for ``event``, within ``MAX_EVENT_BYTES`` (plain values only
    when the whole does not fit)."""
    safe = json_safe(dict(properties))
    assert isinstance(safe, dict)
    if _size(safe) <= MAX_EVENT_BYTES:
        return safe
    plain = {
        key: value[:MAX_TEXT] if isinstance(value, str) else value
        for key, value in safe.items()
        if not isinstance(value, dict | list)
    }
    while plain and _size(plain) > MAX_EVENT_BYTES:
        plain.pop(max(plain, key=lambda k: _size(plain[k])))
    return plain


def _money(value: Any) -> str | None:
    """A Segment amount (a number in major units, or its text) as ``"38.00"``."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(str(value).strip().lstrip("$"))
    except InvalidOperation:
        return None
    if not amount.is_finite() or abs(amount) >= 10**12:
        return None
    return f"{amount.quantize(Decimal('0.01')):f}"


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text[:MAX_TEXT] or None


def _quantity(value: Any) -> int:
    try:
        quantity = int(value)
    except (TypeError, ValueError, OverflowError):
        return 1
    return quantity if 0 < quantity < 1_000_000 else 1


def cart_view(properties: Mapping[str, Any], links_of: LinksOf | None = None) -> dict[str, Any]:
    """``cart`` from a cart or checkout event's properties (see the module docstring)."""
    raw = properties.get("products")
    products = [p for p in raw if isinstance(p, Mapping)] if isinstance(raw, list) else []
    if not products and (properties.get("sku") or properties.get("name")):
        products = [properties]  # Product Added: the product is the properties themselves
    products = products[:MAX_ITEMS]
    skus = [str(p["sku"]) for p in products if _text(p.get("sku"))]
    links = links_of(skus) if links_of and skus else {}
    items = []
    for product in products:
        sku = _text(product.get("sku"))
        url, image = links.get(sku or "", (None, None))
        items.append(
            {
                "name": _text(product.get("name")) or sku,
                "sku": sku,
                "quantity": _quantity(product.get("quantity", 1)),
                "price": _money(product.get("price")),
                "url": _text(product.get("url")) or url,
                "image_url": _text(product.get("image_url")) or image,
            }
        )
    total = properties.get("value", properties.get("revenue", properties.get("total")))
    return {
        "id": _text(properties.get("cart_id") or properties.get("checkout_id")),
        "total": _money(total),
        "currency": _text(properties.get("currency")),
        "url": _text(properties.get("checkout_url") or properties.get("cart_url")),
        "items": items,
        "products": items,
    }


def for_event(
    name: str | None, properties: Mapping[str, Any], links_of: LinksOf | None = None
) -> dict[str, Any]:
    """The context a message about this event carries: ``event``, and ``cart`` for a cart or
    checkout event."""
    context: dict[str, Any] = {"event": event_view(properties)}
    if name in CART_EVENTS:
        context["cart"] = cart_view(properties, links_of)
    return context


class EventContexts:
    """Reads a stored event and the catalog for ``for_event``. Reads only; never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def of_message(self, workspace_id: str, message_id: str) -> dict[str, Any]:
        """The context for the event stored under ``message_id``; empty when it is gone
        (an erased person's events are)."""
        found = CollectService(self.session).events_by_message_id(workspace_id, [message_id])
        if not found:
            return {}
        event = found[0]
        properties = event.payload.get("properties")
        if not isinstance(properties, Mapping):
            properties = {}
        return for_event(event.event, properties, lambda skus: self._links(workspace_id, skus))

    def _links(
        self, workspace_id: str, skus: Sequence[str]
    ) -> dict[str, tuple[str | None, str | None]]:
        catalog = CatalogService(self.session)
        variants = catalog.variants_by_sku(workspace_id, skus)
        found: dict[str, tuple[str | None, str | None]] = {}
        for sku, variant in variants.items():
            product = catalog.get_product(workspace_id, variant.product_id)[0]
            found[sku] = (variant.url or product.url, variant.image_url or product.image_url)
        return found
