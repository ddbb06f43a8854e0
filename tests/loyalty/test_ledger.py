"""The points ledger, driven by any sequence of orders on several channels, partial refunds,
cancellations, reward redemptions, adjustments, time passing (expiry) and retail
registrations: the balance always equals the sum of the entries, a redemption never spends
points that are not there, each order and each receipt or serial earns once, and a refund
never takes back more than its order earned."""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.kit.errors import Problem
from tessera.kit.time import ManualClock
from tessera.loyalty.earning import Earning
from tessera.loyalty.registration import Registrations
from tessera.loyalty.schemas import RegistrationIn
from tessera.loyalty.service import LoyaltyService
from tessera.models.loyalty import EntryKind, LoyaltyEntry
from tests.loyalty.world import (
    T0,
    apply,
    order,
    person,
    product,
    program,
    refund,
    run_jobs,
)
from tests.support.factories import make_workspace

WORKSPACES = itertools.count()
CHANNELS = [("web", "shopify"), ("amazon", "amazon"), ("tiktok_shop", "tiktok_shop"),
            ("store", "square")]  # fmt: skip

orders = st.tuples(
    st.just("order"),
    st.integers(0, 60_000),  # cents
    st.sampled_from(CHANNELS),
    st.lists(st.integers(1, 100), max_size=3),  # refunds, percent of the total each
    st.booleans(),  # cancelled in the end
)
steps = st.lists(
    st.one_of(
        orders,
        st.tuples(st.just("redeem")),
        st.tuples(st.just("adjust"), st.integers(-300, 300).filter(bool)),
        st.tuples(st.just("advance"), st.integers(1, 200)),  # days
        st.tuples(st.just("register"), st.integers(0, 2), st.integers(0, 2)),
        st.tuples(st.just("redeliver")),
    ),
    min_size=1,
    max_size=12,
)


def ledger(session: Session, workspace_id: str) -> list[LoyaltyEntry]:
    return list(
        session.scalars(select(LoyaltyEntry).where(LoyaltyEntry.workspace_id == workspace_id))
    )


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=steps)
def test_the_balance_is_always_the_sum_of_its_entries(
    session: Session, plan: list[tuple[object, ...]]
) -> None:
    """Whatever happens, in whatever order, the ledger's rules hold after every step."""
    ws = make_workspace(session, f"ledger-{next(WORKSPACES)}")
    program(session, ws)
    product(session, ws)
    clock = ManualClock(T0)
    ana = person(session, ws, "u-ana", "ana@example.com")
    service = LoyaltyService(session, clock)
    applied: list[object] = []
    registrations: set[tuple[int, int]] = set()
    receipts: set[int] = set()
    serials: set[int] = set()

    for number, step in enumerate(plan):
        kind = step[0]
        if kind == "order":
            _, cents, (channel, platform), refunds, cancelled = step
            at = clock()
            canonical = order(f"o{number}", int(cents), "ana@example.com", channel=channel,
                              platform=platform, at=at)  # fmt: skip
            apply(session, ws, canonical)
            applied.append(canonical)
            taken = []
            for i, percent in enumerate(refunds):  # type: ignore[union-attr]
                taken.append(refund(f"r{i}", int(cents) * percent // 100, at + timedelta(hours=i)))
                canonical = order(f"o{number}", int(cents), "ana@example.com", channel=channel,
                                  platform=platform, at=at, refunds=tuple(taken))  # fmt: skip
                apply(session, ws, canonical)
            if cancelled:
                apply(session, ws, order(f"o{number}", int(cents), "ana@example.com",
                                         channel=channel, platform=platform, at=at,
                                         refunds=tuple(taken), is_cancelled=True))  # fmt: skip
        elif kind == "redeliver" and applied:
            apply(session, ws, applied[-1])  # type: ignore[arg-type]
        elif kind == "redeem":
            before = balance_of(session, ws)
            try:
                service.redeem_reward(ws, ana, "ten-off", f"redeem-{number}")
                assert before >= 200
            except Problem:
                assert before < 200
        elif kind == "adjust":
            points = int(step[1])  # type: ignore[call-overload]
            before = balance_of(session, ws)
            try:
                service.adjust(ws, ana, points, "test", f"adjust-{number}", "test")
                assert before + points >= 0
            except Problem:
                assert points < 0 and before + points < 0
        elif kind == "advance":
            clock.advance(timedelta(days=int(step[1])))  # type: ignore[call-overload]
            Earning(session, ws, clock).expire()
        elif kind == "register":
            receipt, serial = int(step[1]), int(step[2])  # type: ignore[call-overload]
            form = RegistrationIn(email="ana@example.com", name="Ana", sku="KETTLE-1",
                                  serial=f"SN-{serial}", retailer="Target",
                                  receipt_number=f"R-{receipt}")  # fmt: skip
            key = service.program(ws).registration_key
            try:
                Registrations(session, clock).register(key, form)
                assert receipt not in receipts and serial not in serials
                registrations.add((receipt, serial))
                receipts.add(receipt)
                serials.add(serial)
            except Problem as refused:
                assert refused.status == 409
                assert receipt in receipts or serial in serials
        run_jobs(session, clock)

        entries = ledger(session, ws)
        member = service.member(ws, ana) if entries else None
        assert member is None or member.balance == sum(e.points for e in entries)
        earned = [e for e in entries if e.kind is EntryKind.EARNED]
        keys = [e.idempotency_key for e in entries]
        assert len(keys) == len(set(keys))
        assert len([e for e in earned if e.source == "registration"]) == len(registrations)
        assert sum(e.points for e in earned if e.source == "registration") == 150 * len(
            registrations
        )
        references = [e.reference for e in earned if e.source == "order"]
        assert len(references) == len(set(references))  # each order earned once
        for entry in earned:
            if entry.source == "order":
                back = [e for e in entries if e.kind is EntryKind.REVERSED
                        and e.reference == entry.reference]  # fmt: skip
                assert -sum(e.points for e in back) <= entry.points
        assert all(e.points < 0 for e in entries if e.kind is EntryKind.EXPIRED)


def balance_of(session: Session, workspace_id: str) -> int:
    return sum(e.points for e in ledger(session, workspace_id))
