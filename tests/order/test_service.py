"""Canonical orders apply idempotently, independent of arrival order, and become events."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.models.collect import Event
from tessera.models.order import OrderStatus
from tessera.order.domain import (
    CanonicalCustomer,
    CanonicalLine,
    CanonicalOrder,
    CanonicalRefund,
)
from tessera.order.errors import InvalidOrder
from tessera.order.service import OrderService, Outcome
from tests.support.factories import make_tenant, make_workspace

PLACED = CanonicalOrder(
    platform="shopify",
    external_id="820982911946154508",
    order_number="#1001",
    channel="web",
    status=OrderStatus.PLACED,
    currency="USD",
    placed_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    version="2026-11-20T09:00:00+00:00",
    lines=(CanonicalLine("l1", 2, 3800, 7600, sku="SERUM-30", title="Night Serum"),),
    subtotal=7600,
    total=7600,
    customer=CanonicalCustomer(email="Ava.Okafor@example.com", external_id="c-77"),
)
FULFILLED = replace(PLACED, status=OrderStatus.FULFILLED, version="2026-11-21T10:00:00+00:00")
REFUNDED_ONE = replace(
    FULFILLED,
    refunds=(CanonicalRefund("r1", 3800, datetime(2026, 11, 22, tzinfo=UTC), (("l1", 1),)),),
)
CANCELLED = replace(
    PLACED, is_cancelled=True, status=OrderStatus.PLACED, version="2026-11-20T12:00:00+00:00"
)


def state(session: Session, workspace_id: str, order_id: str) -> tuple[object, ...]:
    order, lines, refunds = OrderService(session).get(workspace_id, order_id)
    return (
        order.status, order.snapshot_status, order.is_cancelled, order.total,
        order.refunded_total, order.version_key, order.customer_email,
        tuple((line.line_key, line.quantity, line.total) for line in lines),
        tuple((r.external_id, r.amount) for r in refunds),
    )  # fmt: skip


def test_the_same_snapshot_twice_changes_nothing(session: Session) -> None:
    """A repeated delivery is 'unchanged' and leaves the order as it was."""
    tenant = make_tenant(session, "acme")
    service = OrderService(session)

    first = service.apply(tenant.workspace_id, PLACED)
    before = state(session, tenant.workspace_id, first.order_id)
    second = service.apply(tenant.workspace_id, PLACED)

    assert (first.outcome, second.outcome) == (Outcome.CREATED, Outcome.UNCHANGED)
    assert state(session, tenant.workspace_id, first.order_id) == before


def test_an_older_snapshot_never_overwrites_a_newer_one(session: Session) -> None:
    """fulfilled then placed (late) stays fulfilled."""
    tenant = make_tenant(session, "acme")
    service = OrderService(session)

    result = service.apply(tenant.workspace_id, FULFILLED)
    late = service.apply(tenant.workspace_id, PLACED)

    assert late.outcome is Outcome.UNCHANGED
    assert late.status is OrderStatus.FULFILLED
    assert result.order_id == late.order_id


def test_refunds_are_counted_once_and_set_the_status(session: Session) -> None:
    """A refund of half the total makes the order partially refunded, counted once."""
    tenant = make_tenant(session, "acme")
    service = OrderService(session)

    service.apply(tenant.workspace_id, REFUNDED_ONE)
    result = service.apply(tenant.workspace_id, REFUNDED_ONE)

    order, _, refunds = service.get(tenant.workspace_id, result.order_id)
    assert (order.status, order.refunded_total, len(refunds)) == (
        OrderStatus.PARTIALLY_REFUNDED, 3800, 1,
    )  # fmt: skip


def test_orders_become_order_events_once(session: Session) -> None:
    """An order emits Order Completed, and Order Refunded per refund, each stored once."""
    tenant = make_tenant(session, "acme")
    service = OrderService(session)

    service.apply(tenant.workspace_id, PLACED)
    service.apply(tenant.workspace_id, REFUNDED_ONE)
    service.apply(tenant.workspace_id, REFUNDED_ONE)

    events = session.scalars(
        select(Event).where(Event.workspace_id == tenant.workspace_id).order_by(Event.event)
    ).all()
    assert [(e.event, e.channel) for e in events] == [
        ("Order Completed", "web"), ("Order Refunded", "web"),
    ]  # fmt: skip
    completed = events[0].payload
    assert completed["properties"]["order_id"] == "#1001"
    assert completed["properties"]["products"] == [
        {"sku": "SERUM-30", "product_id": "SERUM-30", "name": "Night Serum", "price": 38.0,
         "quantity": 2}
    ]  # fmt: skip
    assert completed["context"]["traits"]["email"] == "Ava.Okafor@example.com"
    assert completed["anonymousId"] == "shopify:c-77"


def test_invalid_orders_are_refused_and_change_nothing(session: Session) -> None:
    """A negative quantity or a bad currency is refused before anything is written."""
    tenant = make_tenant(session, "acme")
    bad_line = replace(PLACED, lines=(CanonicalLine("l1", -1, 100, -100),))

    with pytest.raises(InvalidOrder) as caught:
        OrderService(session).apply(tenant.workspace_id, bad_line)
    with pytest.raises(InvalidOrder):
        OrderService(session).apply(tenant.workspace_id, replace(PLACED, currency="usd"))

    assert caught.value.extensions["field"] == "lines[0].quantity"
    assert OrderService(session).list(tenant.workspace_id).items == []


MESSAGES = [PLACED, FULFILLED, REFUNDED_ONE, CANCELLED]
_SLUGS = itertools.count()  # hypothesis reuses one session (one transaction) for all examples


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.sampled_from(range(len(MESSAGES))), min_size=1, max_size=8).flatmap(
        lambda picks: st.permutations(picks)
    )
)
def test_final_state_does_not_depend_on_arrival_order(session: Session, picks: list[int]) -> None:
    """Any order of any subset of deliveries, with repeats, ends where sorted delivery ends."""
    tenant_id = make_workspace(session, f"t{next(_SLUGS)}")
    reference_id = make_workspace(session, f"r{next(_SLUGS)}")
    service = OrderService(session)

    for index in picks:
        result = service.apply(tenant_id, MESSAGES[index])
    for index in sorted(set(picks)):
        expected = service.apply(reference_id, MESSAGES[index])

    assert state(session, tenant_id, result.order_id) == state(
        session, reference_id, expected.order_id
    )


def test_every_permutation_of_all_deliveries_agrees(session: Session) -> None:
    """All 24 orders of the four deliveries give one final state."""
    service = OrderService(session)
    finals = set()
    for number, permutation in enumerate(itertools.permutations(MESSAGES)):
        workspace_id = make_workspace(session, f"perm{number}")
        for message in permutation:
            result = service.apply(workspace_id, message)
        finals.add(state(session, workspace_id, result.order_id))

    assert len(finals) == 1
    # The newest snapshot (fulfilled, 21 Nov) wins over the older cancellation; one refund.
    assert next(iter(finals))[0] is OrderStatus.PARTIALLY_REFUNDED


REFUND_FIRST = CanonicalRefund("r9", 1200, datetime(2026, 11, 19, 8, 0, tzinfo=UTC), (("l1", 1),))


def test_a_refund_before_its_order_is_kept_on_a_placeholder_without_events(
    session: Session,
) -> None:
    """attach_refund on an unknown order: a placeholder with the refund, no events yet."""
    workspace_id = make_workspace(session, "early")
    service = OrderService(session)

    result = service.attach_refund(
        workspace_id, "shopify", PLACED.external_id, REFUND_FIRST, "USD", "web"
    )

    order, lines, refunds = service.get(workspace_id, result.order_id)
    assert (result.outcome, result.new_refunds) == (Outcome.CREATED, ("r9",))
    assert (order.version_key, order.order_number, order.refunded_total, lines) == (
        "", PLACED.external_id, 1200, [],
    )  # fmt: skip
    assert [(r.external_id, r.lines) for r in refunds] == [
        ("r9", [{"line_key": "l1", "quantity": 1}])
    ]
    assert session.scalars(select(Event).where(Event.workspace_id == workspace_id)).all() == []


def test_the_order_after_its_refund_ends_as_if_it_came_first(session: Session) -> None:
    """Order then refund, and refund then order, give the same state and the same events."""
    refund_first = make_workspace(session, "refund-first")
    order_first = make_workspace(session, "order-first")
    service = OrderService(session)

    service.attach_refund(refund_first, "shopify", PLACED.external_id, REFUND_FIRST, "USD", "web")
    late = service.apply(refund_first, PLACED)
    early = service.apply(order_first, PLACED)
    service.attach_refund(order_first, "shopify", PLACED.external_id, REFUND_FIRST, "USD", "web")

    assert late.outcome is Outcome.UPDATED
    assert late.new_refunds == ("r9",)
    assert state(session, refund_first, late.order_id) == state(
        session, order_first, early.order_id
    )
    for workspace_id in (refund_first, order_first):
        names = session.scalars(
            select(Event.event).where(Event.workspace_id == workspace_id).order_by(Event.event)
        ).all()
        assert list(names) == ["Order Completed", "Order Refunded"]


def test_a_placeholder_takes_its_earliest_refund_time_whatever_came_first(
    session: Session,
) -> None:
    """Two refunds before the order: placed_at is the earlier one's time in either order."""
    later = replace(REFUND_FIRST, external_id="r10", refunded_at=datetime(2026, 11, 21, tzinfo=UTC))
    one, two = make_workspace(session, "one"), make_workspace(session, "two")
    service = OrderService(session)

    for workspace_id, refunds in ((one, (REFUND_FIRST, later)), (two, (later, REFUND_FIRST))):
        for refund in refunds:
            result = service.attach_refund(
                workspace_id, "shopify", PLACED.external_id, refund, "USD", "web"
            )
        order, _, _ = service.get(workspace_id, result.order_id)
        assert (order.placed_at, order.refunded_total) == (REFUND_FIRST.refunded_at, 2400)


def test_a_refund_with_a_bad_currency_or_negative_amount_is_refused(session: Session) -> None:
    """Nothing is written for a refund that cannot be right."""
    workspace_id = make_workspace(session, "bad")
    service = OrderService(session)

    with pytest.raises(InvalidOrder) as bad_currency:
        service.attach_refund(workspace_id, "shopify", "1", REFUND_FIRST, "usd", "web")
    with pytest.raises(InvalidOrder) as negative:
        service.attach_refund(
            workspace_id, "shopify", "1", replace(REFUND_FIRST, amount=-1), "USD", "web"
        )

    assert (bad_currency.value.extensions["field"], negative.value.extensions["field"]) == (
        "currency", "refunds.amount",
    )  # fmt: skip
    assert service.list(workspace_id).items == []
