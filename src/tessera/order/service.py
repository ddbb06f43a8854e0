"""Applying canonical orders from any connector, and the order events the platform sees.

A connector maps a platform's payload to ``CanonicalOrder`` and calls ``OrderService.apply``.
The same snapshot twice changes nothing; an older snapshot after a newer one changes nothing;
refunds are added once each. Every order also becomes ``Order Completed`` (and
``Order Cancelled`` / ``Order Refunded``) events with deterministic message ids, so the event
stream holds each once, whatever the order of arrival.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from tessera.collect.domain import Sender
from tessera.collect.service import CollectService, IngestResult
from tessera.identity.graph.intake import IdentityIntake
from tessera.identity.graph.service import IdentityService
from tessera.inventory.service.orders import OrderStockService
from tessera.inventory.service.reservations import ReservationService
from tessera.inventory.service.routing import RoutingService
from tessera.kit.bounds import day_problem
from tessera.kit.errors import InvalidInput
from tessera.kit.money import Money
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, page_from
from tessera.kit.time import utcnow
from tessera.models.order import Order, OrderLine, OrderRefund, OrderStatus
from tessera.order import domain
from tessera.order.errors import InvalidOrder, OrderNotFound
from tessera.order.repository import OrderFacets, OrderRepository


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"  # a duplicate or an older snapshot; refunds may still be new


EXPORT_MAX = 50_000  # rows in one CSV download
EXPORT_PAGE = 1_000
# What an order says about its buyer, as the traits of its events: the contact details, the
# name and the whole address, so the buyer's profile can be matched to one who never shared an
# identifier with it (a TikTok guest and the web customer at the same street address).
ORDER_TRAITS = (
    "email", "phone", "first_name", "last_name", "address_line", "address_line2",
    "postal_code", "city", "country",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HeldStock:
    """A checkout's hold that names the order, and its (variant, location, units) lines."""

    id: str
    status: str
    channel: str
    created_at: datetime
    expires_at: datetime
    lines: list[tuple[str, str, int]]


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One order with everything the order page and ``GET /v1/orders/{id}`` show."""

    order: Order
    lines: list[OrderLine]
    refunds: list[OrderRefund]
    history: list[domain.HistoryEntry]
    profile_id: str | None
    reservations: list[HeldStock]
    routing: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ApplyResult:
    order_id: str
    outcome: Outcome
    new_refunds: tuple[str, ...]
    status: OrderStatus


def _validate(order: domain.CanonicalOrder) -> None:
    if not order.external_id:
        raise InvalidOrder("an order needs its platform id", field="id")
    if len(order.currency) != 3 or not order.currency.isupper():
        raise InvalidOrder(f"currency {order.currency!r} is not an ISO 4217 code", field="currency")
    for index, line in enumerate(order.lines):
        if line.quantity < 0:
            raise InvalidOrder(
                "a line quantity cannot be negative", field=f"lines[{index}].quantity"
            )
    for refund in order.refunds:
        if refund.amount < 0:
            raise InvalidOrder("a refund amount cannot be negative", field="refunds.amount")


class OrderService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = OrderRepository(session)

    def apply(
        self, workspace_id: str, order: domain.CanonicalOrder, source_id: str | None = None
    ) -> ApplyResult:
        """Create or update an order from a platform snapshot, idempotently.

        Refuses an order without an id, with a bad currency, or with negative quantities.
        Concurrent deliveries of the same order serialise on its row lock (PostgreSQL) or on
        SQLite's single writer.
        """
        _validate(order)
        key = order.version_key()
        now = utcnow()
        values = self._order_values(order, key)
        created = self.repository.claim_order_row(
            {
                **values,
                "workspace_id": workspace_id,
                "source_id": source_id,
                "status": order.status,
                "refunded_total": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
        row = self.repository.locked_order(workspace_id, order.platform, order.external_id)
        outcome = Outcome.CREATED if created else Outcome.UNCHANGED
        was_placeholder = not created and domain.is_placeholder(row.version_key)
        if created:
            self.repository.replace_lines(row.id, self._line_rows(order))
        elif domain.supersedes(key, row.version_key):
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = now
            self.repository.replace_lines(row.id, self._line_rows(order))
            outcome = Outcome.UPDATED
        new_refunds = self.repository.add_refunds(
            [
                {
                    "order_id": row.id,
                    "external_id": r.external_id,
                    "amount": r.amount,
                    "currency": order.currency,
                    "refunded_at": r.refunded_at,
                    "lines": [{"line_key": k, "quantity": q} for k, q in r.lines],
                }
                for r in order.refunds
            ]
        )
        row.refunded_total = self.repository.refunded_total(row.id)
        row.status = domain.effective_status(
            row.snapshot_status, row.is_cancelled, row.total, row.refunded_total
        )
        self.session.flush()
        if was_placeholder:  # refunds kept before the order came are announced with it now
            new_refunds = [r.external_id for r in self.repository.refunds(row.id)]
        if self._of_erased_person(workspace_id, row):
            # An erased person's order sent again (a replayed webhook): the sale still counts
            # and still moves stock, but nothing personal is kept and no event names anyone.
            row.customer, row.customer_email, row.customer_phone = {}, None, None
            self.session.flush()
        else:
            self._emit_events(workspace_id, row, source_id, new_refunds)
        self._move_stock(workspace_id, row)
        return ApplyResult(row.id, outcome, tuple(new_refunds), row.status)

    def attach_refund(
        self,
        workspace_id: str,
        platform: str,
        external_id: str,
        refund: domain.CanonicalRefund,
        currency: str,
        channel: str,
        source_id: str | None = None,
    ) -> ApplyResult:
        """Add one refund to an order, whether or not the order has arrived yet.

        Platforms send refunds on their own (Shopify's ``refunds/create``), and a refund can
        overtake its order. An unknown order gets a placeholder row holding the refund: its
        version key is empty, so the first real snapshot replaces every other field, and the
        refund (a set member keyed by its platform id) stays. The final state is the same
        whichever came first. A placeholder emits no events; its refunds are announced when
        the order arrives. Refuses a negative amount or a malformed currency, and a refund that
        is already stored is counted once ('unchanged').
        """
        if not external_id:
            raise InvalidOrder("a refund needs its order's platform id", field="order_id")
        if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
            raise InvalidOrder(f"currency {currency!r} is not an ISO 4217 code", field="currency")
        if refund.amount < 0:
            raise InvalidOrder("a refund amount cannot be negative", field="refunds.amount")
        now = utcnow()
        created = self.repository.claim_order_row(
            {
                "workspace_id": workspace_id,
                "source_id": source_id,
                "platform": platform,
                "external_id": external_id,
                "order_number": external_id,
                "channel": channel,
                "status": OrderStatus.PENDING,
                "snapshot_status": OrderStatus.PENDING,
                "currency": currency,
                "customer": {},
                "placed_at": refund.refunded_at,
                "version_key": domain.PLACEHOLDER_VERSION_KEY,
                "refunded_total": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
        row = self.repository.locked_order(workspace_id, platform, external_id)
        placeholder = domain.is_placeholder(row.version_key)
        if placeholder and refund.refunded_at < row.placed_at:
            row.placed_at = refund.refunded_at  # the earliest refund, whatever came first
        new_refunds = self.repository.add_refunds(
            [
                {
                    "order_id": row.id,
                    "external_id": refund.external_id,
                    "amount": refund.amount,
                    "currency": row.currency,
                    "refunded_at": refund.refunded_at,
                    "lines": [{"line_key": k, "quantity": q} for k, q in refund.lines],
                }
            ]
        )
        row.refunded_total = self.repository.refunded_total(row.id)
        row.status = domain.effective_status(
            row.snapshot_status, row.is_cancelled, row.total, row.refunded_total
        )
        if new_refunds:
            row.updated_at = now
        self.session.flush()
        if not placeholder:
            self._emit_events(workspace_id, row, source_id, new_refunds)
            self._move_stock(workspace_id, row)
        outcome = Outcome.CREATED if created else Outcome.UNCHANGED
        return ApplyResult(row.id, outcome, tuple(new_refunds), row.status)

    def _move_stock(self, workspace_id: str, row: Order) -> None:
        """Let stock follow the order's stored state (under the order's row lock): commit on
        first sight, return on cancellation or refund, leave on hand when fulfilled.

        Called after the events, so an order's transaction takes the identity lock that
        recording them takes before any stock row: every order transaction locks in that one
        order, and a transaction holding stock rows never waits for the identity lock."""
        OrderStockService(self.session).sync_order(
            workspace_id, row, self.repository.lines(row.id), self.repository.refunds(row.id)
        )

    @staticmethod
    def _order_values(order: domain.CanonicalOrder, key: str) -> dict[str, Any]:
        customer = {k: v for k, v in asdict(order.customer).items() if v is not None}
        return {
            "platform": order.platform,
            "external_id": order.external_id,
            "order_number": order.order_number,
            "channel": order.channel,
            "location_ref": order.location_ref,
            "fulfillment": order.fulfillment,
            "is_cancelled": order.is_cancelled,
            "currency": order.currency,
            "subtotal": order.subtotal,
            "tax": order.tax,
            "shipping": order.shipping,
            "discount": order.discount,
            "total": order.total,
            "customer_email": (order.customer.email or "").strip().lower() or None,
            "customer_phone": order.customer.phone,
            "customer": customer,
            "placed_at": order.placed_at,
            "snapshot_status": order.status,
            "version_key": key,
        }

    @staticmethod
    def _line_rows(order: domain.CanonicalOrder) -> list[dict[str, Any]]:
        merged: dict[str, dict[str, Any]] = {}
        for line in order.lines:
            row = merged.get(line.line_key)
            if row is None:
                merged[line.line_key] = {**asdict(line)}
            else:  # the same key twice (TikTok sends one line per unit): add them up
                row["quantity"] += line.quantity
                row["total"] += line.total
        return list(merged.values())

    def _of_erased_person(self, workspace_id: str, row: Order) -> bool:
        """Whether the order's customer carries an identifier of someone erased (ADR 0013):
        the same check ingestion makes on the events the order would emit."""
        if not (row.customer or row.customer_email or row.customer_phone):
            return False
        message = self._order_message(row, [], "Order Completed", f"order:{row.id}:completed")
        return bool(IdentityIntake(self.session).suppressed_indexes(workspace_id, [message]))

    def _emit_events(
        self, workspace_id: str, row: Order, source_id: str | None, new_refunds: Sequence[str]
    ) -> IngestResult:
        sender = Sender(workspace_id, source_id, row.channel)
        lines = self.repository.lines(row.id)
        messages = [self._order_message(row, lines, "Order Completed", f"order:{row.id}:completed")]
        if row.is_cancelled:
            messages.append(
                self._order_message(row, lines, "Order Cancelled", f"order:{row.id}:cancelled")
            )
        if new_refunds:
            refunds = {r.external_id: r for r in self.repository.refunds(row.id)}
            for external_id in new_refunds:
                refund = refunds[external_id]
                message = self._order_message(
                    row, lines, "Order Refunded", f"order:{row.id}:refund:{external_id}"
                )
                message["properties"]["total"] = _major(refund.amount, row.currency)
                message["timestamp"] = refund.refunded_at.isoformat()
                messages.append(message)
        return CollectService(self.session).record_messages(
            sender,
            messages,
            f"order {row.platform}:{row.external_id}",
            identify=domain.has_shopper(row.fulfillment),
        )

    @staticmethod
    def _order_message(
        row: Order, lines: Sequence[OrderLine], event: str, message_id: str
    ) -> dict[str, Any]:
        customer = row.customer or {}
        buyer = customer.get("external_id")
        traits = {k: customer[k] for k in ORDER_TRAITS if customer.get(k)}
        external_ids = (
            [
                {
                    "id": str(buyer),
                    "type": f"{row.platform}_customer_id",
                    "collection": "users",
                    "encoding": "none",
                }
            ]
            if buyer
            else []
        )
        return {
            "type": "track",
            "event": event,
            "messageId": message_id,
            "anonymousId": f"{row.platform}:{buyer}"
            if buyer
            else f"{row.platform}-order:{row.external_id}",
            "timestamp": row.placed_at.isoformat(),
            "properties": {
                "order_id": row.order_number or row.external_id,
                "checkout_id": row.external_id,
                "affiliation": row.platform,
                "total": _major(row.total, row.currency),
                "subtotal": _major(row.subtotal, row.currency),
                "revenue": _major(row.subtotal - row.discount, row.currency),
                "shipping": _major(row.shipping, row.currency),
                "tax": _major(row.tax, row.currency),
                "discount": _major(row.discount, row.currency),
                "currency": row.currency,
                "products": [
                    {
                        "sku": line.sku,
                        "product_id": line.product_ref or line.sku,
                        "name": line.title,
                        "price": _major(line.unit_price, row.currency),
                        "quantity": line.quantity,
                    }
                    for line in lines
                    if not line.is_cancelled
                ],
            },
            "context": {
                "channel": row.channel,
                "traits": traits,
                "externalIds": external_ids,
                "location": {"id": row.location_ref} if row.location_ref else {},
            },
        }

    def get(
        self, workspace_id: str, order_id: str
    ) -> tuple[Order, Sequence[OrderLine], Sequence[OrderRefund]]:
        """An order with its lines and refunds; another workspace's order is not found."""
        order = self.repository.order(workspace_id, order_id)
        if order is None:
            raise OrderNotFound(f"no order {order_id} in this workspace")
        return order, self.repository.lines(order.id), self.repository.refunds(order.id)

    def by_id(self, workspace_id: str, ids: Collection[str]) -> dict[str, Order]:
        """Orders keyed by id, of this workspace only: pages that name orders (the stock an
        order holds) show their numbers."""
        return {o.id: o for o in self.repository.orders_by_id(workspace_id, ids)}

    def find(self, workspace_id: str, platform: str, external_id: str) -> Order | None:
        """The order a platform calls ``external_id``, or None if it has not arrived."""
        return self.repository.order_by_external_id(workspace_id, platform, external_id)

    def find_by_number(self, workspace_id: str, number: str) -> Sequence[Order]:
        """Orders whose number is what a receipt shows, with or without its leading '#'
        (Shopify's ``#1001``); one indexed lookup. Several platforms may share a number."""
        numbers = domain.number_forms(number)
        if not numbers:
            return []
        return self.repository.orders_by_number(workspace_id, list(numbers))

    @staticmethod
    def make_filter(
        channel: str | None = None,
        status: str | None = None,
        placed_from: date | None = None,
        placed_to: date | None = None,
        store: str | None = None,
        email: str | None = None,
        number: str | None = None,
        zone: tzinfo = UTC,
    ) -> domain.OrderFilter:
        """The filter a person asked for, dates as whole days in ``zone`` ("to" included;
        the dashboard passes the workspace's zone, the API and CLI mean UTC).

        Refuses a status that is not an order status, a day outside 1900-9000 and a range that
        ends before it starts, naming the field, so a typo does not quietly show every order."""
        chosen: OrderStatus | None = None
        if status:
            try:
                chosen = OrderStatus(status)
            except ValueError:
                names = ", ".join(s.value for s in OrderStatus)
                raise InvalidInput(f"status must be one of {names}", field="status") from None
        for field, day in (("placed_from", placed_from), ("placed_to", placed_to)):
            problem = day_problem(day) if day is not None else None
            if problem is not None:
                raise InvalidInput(f"{field} {problem}", field=field)
        if placed_from and placed_to and placed_to < placed_from:
            raise InvalidInput("the date range ends before it starts", field="placed_to")
        return domain.OrderFilter(
            channel=(channel or "").strip() or None,
            status=chosen,
            placed_from=_midnight(placed_from, zone) if placed_from else None,
            placed_to=_midnight(placed_to + timedelta(days=1), zone) if placed_to else None,
            store=(store or "").strip() or None,
            email=(email or "").strip().lower() or None,
            numbers=domain.number_forms(number) if number else (),
        )

    def list(
        self,
        workspace_id: str,
        cursor: str | None = None,
        limit: int = 50,
        where: domain.OrderFilter | None = None,
    ) -> Page[Order]:
        """Orders matching ``where``, newest first, a page at a time; refuses a cursor it did
        not make and a limit outside 1..200."""
        limit = clamp_limit(limit)
        rows = self.repository.orders(
            workspace_id, decode_cursor(cursor), limit + 1, where or domain.OrderFilter()
        )
        return page_from(rows, limit)

    def export_csv(
        self, workspace_id: str, where: domain.OrderFilter | None = None
    ) -> tuple[str, bool]:
        """Every order matching ``where`` as CSV text (header first, newest first), and whether
        it stopped at ``EXPORT_MAX`` rows: a download is built whole inside the request's
        transaction, so it is bounded; narrow the filter to export more."""
        where = where or domain.OrderFilter()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(domain.CSV_COLUMNS)
        after: str | None = None
        written = 0
        while written < EXPORT_MAX:
            rows = self.repository.orders(
                workspace_id, after, min(EXPORT_PAGE, EXPORT_MAX - written), where
            )
            for order in rows:
                writer.writerow(domain.csv_row(order))
            written += len(rows)
            if len(rows) < EXPORT_PAGE:
                return buffer.getvalue(), False
            after = rows[-1].id
        more = bool(self.repository.orders(workspace_id, after, 1, where))
        return buffer.getvalue(), more

    def facets(self, workspace_id: str) -> OrderFacets:
        """The channels and stores that orders name, for the list's filter choices."""
        return self.repository.facets(workspace_id)

    def record(self, workspace_id: str, order_id: str) -> OrderRecord:
        """Everything known about one order: lines, refunds, its history as stored, the
        customer profile it belongs to, the checkout holds naming it and where routing took
        its units from. Another workspace's order is not found."""
        order, lines, refunds = self.get(workspace_id, order_id)
        profile = IdentityService(self.session).find_profile(workspace_id, "order", order.id)
        holds = ReservationService(self.session).reservations_for_order(
            workspace_id, f"{order.platform}:{order.external_id}"
        )
        return OrderRecord(
            order=order,
            lines=list(lines),
            refunds=list(refunds),
            history=domain.status_history(order, refunds),
            profile_id=profile.id if profile is not None else None,
            reservations=[
                HeldStock(
                    id=r.id,
                    status=r.status.value,
                    channel=r.channel,
                    created_at=r.created_at,
                    expires_at=r.expires_at,
                    lines=[(line.variant_id, line.location_id, line.quantity) for line in rl],
                )
                for r, rl in holds
            ],
            routing=RoutingService(self.session).routing_decision(workspace_id, order.id),
        )

    def per_hour(self, workspace_id: str, since: datetime) -> dict[tuple[int, str], int]:
        """Orders placed per (hours since epoch, channel) from ``since``."""
        return {(h, c): n for h, c, n in self.repository.orders_per_hour(workspace_id, since)}

    def per_day(self, workspace_id: str, since: datetime) -> dict[tuple[int, str], int]:
        """Orders placed per (days since epoch, channel) from ``since``, in UTC days."""
        return {(d, c): n for d, c, n in self.repository.orders_per_day(workspace_id, since)}

    def counts_by_channel(self, workspace_id: str, since: datetime) -> dict[str, int]:
        """Orders placed per channel from ``since``."""
        return self.repository.counts_by_channel(workspace_id, since)


def _midnight(day: date, zone: tzinfo = UTC) -> datetime:
    """The day's first instant in ``zone``, as UTC (zoneinfo resolves a DST gap forward)."""
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _major(amount: int, currency: str) -> float:
    """Segment's e-commerce spec carries money as numbers in major units."""
    return float(Money(amount, currency).to_decimal())
