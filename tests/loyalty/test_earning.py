"""Orders on every channel earn points once, refunds and cancellations take them back, tiers
change as an event, merged profiles' points follow the survivor, and erasure removes them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.collect.domain import Sender
from tessera.collect.service import CollectService
from tessera.customer.privacy import PrivacyService
from tessera.identity.errors import ProfileNotFound
from tessera.identity.graph.service import IdentityService
from tessera.kit.time import ManualClock
from tessera.loyalty.earning import TIER_EVENT, Earning
from tessera.loyalty.service import LoyaltyService
from tessera.models.collect import Event
from tessera.models.identity import ErasureMode
from tessera.models.loyalty import LoyaltyEntry, LoyaltyMember
from tests.loyalty.world import T0, apply, balance, order, person, program, refund, run_jobs
from tests.support.factories import make_tenant


def ledger(session: Session, workspace_id: str, profile_id: str) -> list[tuple[str, int, str]]:
    page = LoyaltyService(session).entries(workspace_id, profile_id, None, 200)
    return sorted((e.kind.value, e.points, e.source) for e in page.items)


def test_orders_on_every_channel_earn_for_one_person_once_each(
    session: Session, clock: ManualClock
) -> None:
    """A web, an Amazon, a TikTok Shop and a store order of one email earn, each once."""
    ws = make_tenant(session, "acme").workspace_id
    program(session, ws)
    ana = person(session, ws, "u-ana", "ana@example.com")
    orders = [
        order("1001", 4550, "ana@example.com"),
        order("113-1", 2000, "ana@example.com", channel="amazon", platform="amazon"),
        order("tt-9", 1099, "ana@example.com", channel="tiktok_shop", platform="tiktok_shop"),
        order("pos-4", 800, "ana@example.com", channel="store", platform="square"),
    ]

    for canonical in orders:
        apply(session, ws, canonical)
    run_jobs(session, clock)
    for canonical in orders:  # every webhook delivered a second time
        apply(session, ws, canonical)
    run_jobs(session, clock)

    assert ledger(session, ws, ana) == [
        ("earned", 8, "order"), ("earned", 10, "order"), ("earned", 20, "order"),
        ("earned", 45, "order"),
    ]  # fmt: skip
    assert balance(session, ws, ana) == 83


def test_refunds_take_back_in_proportion_and_a_cancellation_the_rest(
    session: Session, clock: ManualClock
) -> None:
    """A $100 order earns 100; refunding $25 takes 25, then the whole order's cancellation
    takes the other 75, and the balance is the sum of the entries."""
    ws = make_tenant(session, "acme").workspace_id
    program(session, ws)
    ana = person(session, ws, "u-ana", "ana@example.com")
    apply(session, ws, order("1001", 10000, "ana@example.com"))
    run_jobs(session, clock)

    later = T0 + timedelta(hours=2)
    apply(session, ws, order("1001", 10000, "ana@example.com", at=T0,
                             refunds=(refund("r1", 2500, later),)))  # fmt: skip
    run_jobs(session, clock)
    after_refund = balance(session, ws, ana)
    apply(session, ws, order("1001", 10000, "ana@example.com", at=T0, is_cancelled=True,
                             refunds=(refund("r1", 2500, later),)))  # fmt: skip
    run_jobs(session, clock)

    assert after_refund == 75
    assert ledger(session, ws, ana) == [
        ("earned", 100, "order"), ("reversed", -75, "cancellation"), ("reversed", -25, "refund"),
    ]  # fmt: skip
    assert balance(session, ws, ana) == 0


def test_an_order_in_another_currency_earns_nothing(session: Session, clock: ManualClock) -> None:
    """Points are per unit of the program's currency: a EUR order is left alone."""
    ws = make_tenant(session, "acme").workspace_id
    program(session, ws)
    ana = person(session, ws, "u-ana", "ana@example.com")

    apply(session, ws, order("1001", 10000, "ana@example.com", currency="EUR"))
    run_jobs(session, clock)

    assert session.scalars(select(LoyaltyMember).where(LoyaltyMember.profile_id == ana)).all() == []


def test_reaching_a_tier_is_an_event_journeys_can_enter_on(
    session: Session, clock: ManualClock
) -> None:
    """Crossing 100 then 500 points stores two Loyalty Tier Changed events on the timeline."""
    ws = make_tenant(session, "acme").workspace_id
    program(session, ws)
    ana = person(session, ws, "u-ana", "ana@example.com")

    apply(session, ws, order("1001", 15000, "ana@example.com"))
    run_jobs(session, clock)
    apply(session, ws, order("1002", 40000, "ana@example.com"))
    run_jobs(session, clock)

    events = session.scalars(
        select(Event).where(Event.workspace_id == ws, Event.event == TIER_EVENT).order_by(Event.id)
    ).all()
    assert [(e.payload["properties"]["previous_tier"], e.payload["properties"]["tier"])
            for e in events] == [(None, "Silver"), ("Silver", "Gold")]  # fmt: skip
    assert {e.user_id for e in events} == {"u-ana"}
    assert LoyaltyService(session).member(ws, ana).member.tier == "Gold"


def test_a_merged_profiles_points_follow_the_survivor(session: Session, clock: ManualClock) -> None:
    """A TikTok guest's points join the web customer's when a later order links them."""
    ws = make_tenant(session, "acme").workspace_id
    program(session, ws)
    ana = person(session, ws, "u-ana", "ana@example.com")
    apply(session, ws, order("1001", 3000, "ana@example.com"))
    apply(session, ws, order("tt-1", 2000, "guest-ana@example.com", channel="tiktok_shop",
                             platform="tiktok_shop"))  # fmt: skip
    run_jobs(session, clock)
    found = IdentityService(session).find_profile(ws, "email", "guest-ana@example.com")
    assert found is not None and found.id != ana
    guest = found.id
    assert (balance(session, ws, ana), balance(session, ws, guest)) == (30, 20)

    from tests.identity.stitching import send

    send(session, ws, [{"type": "identify", "messageId": "link-1", "userId": "u-ana",
                        "timestamp": T0.isoformat(),
                        "traits": {"email": "guest-ana@example.com"}}])  # fmt: skip
    run_jobs(session, clock)

    survivor = LoyaltyService(session).live_profile_id(ws, ana)
    absorbed = ({ana, guest} - {survivor}).pop()
    assert balance(session, ws, survivor) == 50
    assert balance(session, ws, absorbed) == 50  # asked by the absorbed id: the survivor's
    assert session.scalars(
        select(LoyaltyMember.profile_id).where(LoyaltyMember.workspace_id == ws)
    ).all() == [survivor]


def test_undoing_a_merge_gives_the_absorbed_profile_its_points_back(
    session: Session, clock: ManualClock
) -> None:
    """Ana (30 points) and a TikTok guest (20) merge, the survivor earns 15 more, and the merge
    is undone: the guest's 20 go back to the guest, the survivor keeps 30 + 15, every balance
    is the sum of its entries and the workspace's total is unchanged; a second run moves
    nothing."""
    ws = make_tenant(session, "acme").workspace_id
    program(session, ws)
    ana = person(session, ws, "u-ana", "ana@example.com")
    apply(session, ws, order("1001", 3000, "ana@example.com"))
    apply(session, ws, order("tt-1", 2000, "guest-ana@example.com", channel="tiktok_shop",
                             platform="tiktok_shop"))  # fmt: skip
    run_jobs(session, clock)
    found = IdentityService(session).find_profile(ws, "email", "guest-ana@example.com")
    assert found is not None
    guest = found.id
    identity = IdentityService(session)
    merge = identity.merge_profiles(ws, ana, guest, cause_kind="manual", cause_ref="same person")
    run_jobs(session, clock)
    survivor = merge.survivor_profile_id
    absorbed = merge.absorbed_profile_id
    assert balance(session, ws, survivor) == 50
    apply(session, ws, order("1002", 1500, "ana@example.com"))
    run_jobs(session, clock)
    total_before = sum(
        session.scalars(select(LoyaltyEntry.points).where(LoyaltyEntry.workspace_id == ws))
    )

    identity.unmerge(ws, merge.id, actor="test", reason="two people")
    run_jobs(session, clock)
    Earning(session, ws, clock).profiles_unmerged(merge.id)  # the job again

    points = {ana: 45, guest: 20}
    assert {survivor: balance(session, ws, survivor), absorbed: balance(session, ws, absorbed)} == {
        survivor: points[survivor],
        absorbed: points[absorbed],
    }
    assert ledger(session, ws, guest) == [("earned", 20, "order")]
    assert ledger(session, ws, ana) == [("earned", 15, "order"), ("earned", 30, "order")]
    assert (
        sum(session.scalars(select(LoyaltyEntry.points).where(LoyaltyEntry.workspace_id == ws)))
        == total_before
        == 65
    )
    for member in session.scalars(select(LoyaltyMember).where(LoyaltyMember.workspace_id == ws)):
        entries = session.scalars(
            select(LoyaltyEntry.points).where(LoyaltyEntry.member_id == member.id)
        )
        assert balance(session, ws, member.profile_id) == sum(entries)


def test_a_merge_job_that_runs_after_its_undo_moves_nothing(
    session: Session, clock: ManualClock
) -> None:
    """The merge is undone before loyalty's merge job runs: the job finds the absorbed profile
    live again and leaves both ledgers as they were."""
    ws = make_tenant(session, "acme").workspace_id
    program(session, ws)
    ana = person(session, ws, "u-ana", "ana@example.com")
    apply(session, ws, order("1001", 3000, "ana@example.com"))
    apply(session, ws, order("tt-1", 2000, "guest-ana@example.com", channel="tiktok_shop",
                             platform="tiktok_shop"))  # fmt: skip
    run_jobs(session, clock)
    found = IdentityService(session).find_profile(ws, "email", "guest-ana@example.com")
    assert found is not None
    guest = found.id
    identity = IdentityService(session)
    merge = identity.merge_profiles(ws, ana, guest, cause_kind="manual", cause_ref="same person")

    identity.unmerge(ws, merge.id, actor="test", reason="two people")
    moved = Earning(session, ws, clock).profiles_merged(
        merge.survivor_profile_id, merge.absorbed_profile_id, merge.id
    )
    run_jobs(session, clock)

    assert moved == 0
    assert (balance(session, ws, ana), balance(session, ws, guest)) == (30, 20)


def test_erasure_removes_the_members_ledger(session: Session, clock: ManualClock) -> None:
    """After erasure the person has no member row, no entries and no codes."""
    ws = make_tenant(session, "acme").workspace_id
    program(session, ws)
    ana = person(session, ws, "u-ana", "ana@example.com")
    apply(session, ws, order("1001", 30000, "ana@example.com"))
    run_jobs(session, clock)
    LoyaltyService(session, clock).redeem_reward(ws, ana, "ten-off", "k1")

    PrivacyService(session).erase(ws, ana, ErasureMode.DELETE, actor="test")

    assert session.scalars(select(LoyaltyEntry).where(LoyaltyEntry.workspace_id == ws)).all() == []
    with pytest.raises(ProfileNotFound):
        LoyaltyService(session).member(ws, ana)


def test_unspent_points_expire_twelve_months_after_earning_once(
    session: Session, clock: ManualClock
) -> None:
    """100 earned, 30 spent by hand: a year and a day later 70 expire, once however often
    the sweep runs, and the balance is 0."""
    ws = make_tenant(session, "acme").workspace_id
    program(session, ws)
    ana = person(session, ws, "u-ana", "ana@example.com")
    apply(session, ws, order("1001", 10000, "ana@example.com"))
    run_jobs(session, clock)
    LoyaltyService(session, clock).adjust(ws, ana, -30, "used", "k1", "test")

    clock.advance(timedelta(days=363))  # the day before the lot's expiry
    early = Earning(session, ws, clock).expire()
    clock.advance(timedelta(days=2))
    first = Earning(session, ws, clock).expire()
    again = Earning(session, ws, clock).expire()

    assert (early, first, again) == (0, 1, 0)
    assert ("expired", -70, "expiry") in ledger(session, ws, ana)
    assert balance(session, ws, ana) == 0


def test_an_event_dressed_as_an_order_earns_nothing(session: Session, clock: ManualClock) -> None:
    """A write key's "Order Completed" with an order-like message id and a $10,000 total names
    no stored order: no points."""
    ws = make_tenant(session, "acme").workspace_id
    program(session, ws)
    ana = person(session, ws, "u-ana", "ana@example.com")
    forged = {"type": "track", "event": "Order Completed", "userId": "u-ana",
              "messageId": "order:ord_01FAKEFAKEFAKEFAKEFAKEFAKE:completed",
              "timestamp": T0.isoformat(),
              "properties": {"total": 10000, "revenue": 10000, "currency": "USD"}}  # fmt: skip

    CollectService(session).ingest(Sender(ws, None), [forged], "test")
    run_jobs(session, clock)

    assert session.scalars(select(LoyaltyMember).where(LoyaltyMember.profile_id == ana)).all() == []
