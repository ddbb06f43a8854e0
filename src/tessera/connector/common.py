"""Parsing helpers every connector shares: money, whole numbers, times, versions, limits.

They raise ``InvalidRecord`` naming the field, so a refused record says exactly what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tessera.connector.errors import InvalidRecord
from tessera.kit.bounds import MAX_MINOR_UNITS, MAX_QUANTITY
from tessera.kit.money import Money
from tessera.kit.time import ensure_utc
from tessera.order.domain import CanonicalCustomer, CanonicalOrder

M = TypeVar("M", bound=BaseModel)
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")

# Column sizes of the order tables (models/order.py); longer values are refused, not cut.
LIMITS = {
    "external_id": 200, "order_number": 100, "channel": 80, "location_ref": 100,
    "fulfillment": 40, "sku": 120, "gtin": 20, "product_ref": 120, "line_key": 200,
    "email": 320, "phone": 40,
}  # fmt: skip


def field_path(location: tuple[int | str, ...]) -> str:
    """``("line_items", 0, "quantity")`` → ``line_items[0].quantity``."""
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def parse(model: type[M], data: Any) -> M:
    """``data`` as ``model``, or ``InvalidRecord`` naming the first field at fault."""
    if not isinstance(data, dict):
        raise InvalidRecord("the record must be a JSON object", field="body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = field_path(tuple(first["loc"]))
        message = first["msg"]
        if first["type"] == "missing":
            message = "is required"
        raise InvalidRecord(f"{where}: {message}", field=where) from None


def money(value: str | None, currency: str, field: str, *, negative: bool = False) -> int:
    """Minor units of a decimal string in major units; empty is zero. Never a float."""
    text = (value or "").strip()
    if not text:
        return 0
    if not _DECIMAL.match(text):
        raise InvalidRecord(f"{field} is not a decimal amount", field=field)
    try:
        amount = Money.parse(Decimal(text), currency).amount
    except (InvalidOperation, ValueError):
        raise InvalidRecord(f"{field} is not a decimal amount", field=field) from None
    if amount < 0 and not negative:
        raise InvalidRecord(f"{field} must not be negative", field=field)
    if abs(amount) > MAX_MINOR_UNITS:
        raise InvalidRecord(f"{field} is larger than any amount this platform keeps", field=field)
    return amount


def goods_subtotal(total: int, discount: int, shipping: int, tax: int, field: str) -> int:
    """The subtotal that makes an order add up: ``subtotal - discount + shipping + tax ==
    total``, the platform's own total (what the buyer paid) being the one figure kept as sent.

    It is the goods' price before discounts, net of any tax their prices include (a shop
    that shows prices with tax: the tax is inside the goods and shipping, so it is taken out
    here). Platforms' totals that hold more than goods, shipping and tax (tips, fees, duties,
    service charges) are counted by the connector in ``shipping``, which holds every charge
    besides the goods. Refuses a total smaller than its shipping and tax after discounts: its
    parts cannot be the platform's, naming ``field``.
    """
    subtotal = total + discount - shipping - tax
    if subtotal < 0:
        raise InvalidRecord(
            f"{field} is less than the order's shipping and tax after its discounts", field=field
        )
    return subtotal


def whole(value: str | int | None, field: str, *, required: bool = True) -> int:
    """A non-negative whole number from a cell or a JSON number ("2", "2.0", 2)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidRecord(f"{field} is required", field=field)
        return 0
    if isinstance(value, bool):
        raise InvalidRecord(f"{field} must be a whole number", field=field)
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise InvalidRecord(f"{field} must be a whole number", field=field) from None
    if not number.is_finite() or number != number.to_integral_value():
        raise InvalidRecord(f"{field} must be a whole number", field=field)
    if number < 0:
        raise InvalidRecord(f"{field} must not be negative", field=field)
    if number > MAX_QUANTITY:
        raise InvalidRecord(f"{field} must be at most {MAX_QUANTITY:,}", field=field)
    return int(number)


def iso_time(value: str | None, field: str) -> datetime:
    """An ISO 8601 time as aware UTC (a naive time is taken as UTC)."""
    text = (value or "").strip()
    if not text:
        raise InvalidRecord(f"{field} is required", field=field)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return ensure_utc(datetime.fromisoformat(text))
    except ValueError:
        raise InvalidRecord(f"{field} is not an ISO 8601 time", field=field) from None


def unix_time(value: int, field: str) -> datetime:
    """Unix seconds as aware UTC; refuses zero and negative times."""
    if value <= 0:
        raise InvalidRecord(f"{field} must be a positive unix time", field=field)
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidRecord(f"{field} is not a unix time", field=field) from None


def time_version(moment: datetime) -> str:
    """A platform time as a version that sorts as text (fixed width, UTC, microseconds)."""
    return ensure_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def currency_code(value: str | None, field: str = "currency") -> str:
    code = (value or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise InvalidRecord(f"{field} must be a 3-letter ISO 4217 code", field=field)
    return code


def slug(text: str) -> str:
    """``"Ulta Beauty"`` → ``ulta-beauty``."""
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def split_name(full: str | None) -> tuple[str | None, str | None]:
    """A display name as (first, last); one word is a first name."""
    parts = (full or "").split()
    if not parts:
        return None, None
    return parts[0], (" ".join(parts[1:]) or None)


def store_channel(channel_refs: Mapping[str, str], location: str | None) -> str:
    """The store channel that claims a POS location id; ``store:location-<id>`` when none does.

    Orders from an unclaimed location are kept under that key (nothing is refused for a missing
    registration); registering the store with the location id in ``external_refs`` names it
    for every order applied from then on, including later updates of those orders.
    """
    if not location:
        return "store:unknown"
    return channel_refs.get(location) or f"store:location-{slug(location)[:60]}"


def checked(order: CanonicalOrder) -> CanonicalOrder:
    """Refuse values longer than the order tables hold, naming the field."""
    _fits(order.external_id, "external_id", "id")
    _fits(order.order_number, "order_number", "order_number")
    _fits(order.channel, "channel", "channel")
    _fits(order.location_ref, "location_ref", "location_id")
    _fits(order.fulfillment, "fulfillment", "fulfillment")
    _fits(order.customer.email, "email", "email")
    _fits(order.customer.phone, "phone", "phone")
    for index, line in enumerate(order.lines):
        for name in ("sku", "gtin", "product_ref", "line_key"):
            _fits(getattr(line, name), name, f"lines[{index}].{name}")
    for refund in order.refunds:
        _fits(refund.external_id, "external_id", "refunds.id")
    return order


def _fits(value: str | None, kind: str, field: str) -> None:
    if value is not None and len(value) > LIMITS[kind]:
        raise InvalidRecord(f"{field} is longer than {LIMITS[kind]} characters", field=field)


def customer(**values: str | None) -> CanonicalCustomer:
    """A customer with blank values dropped and emails trimmed."""
    clean = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in values.items()}
    return CanonicalCustomer(**clean)
