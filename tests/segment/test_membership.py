"""Membership follows what people do: orders, events and traits arriving, time passing,
merges and erasure; every change is a Segment Entered or Exited event on the timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.customer.privacy import PrivacyService
from tessera.customer.profiles import ProfileService
from tessera.identity.graph.service import IdentityService
from tessera.job.service import JobService
from tessera.models.collect import Event
from tessera.models.segment import SegmentMember
from tessera.segment import domain
from tessera.segment.membership import Membership
from tessera.segment.rules import parse_rule
from tessera.segment.service import REFRESH_JOB, SegmentService
from tests.journey.flows import Platform, identify, store_order, track
from tests.support.factories import make_workspace

VIP = {"kind": "orders", "min_spent": 8000, "currency": "USD"}
RECENT = {"kind": "orders", "min_count": 1, "within_days": 30}


def segment(platform: Platform, name: str, rule: dict[str, Any]) -> str:
    found = SegmentService(platform.session, platform.clock).create(
        platform.workspace_id, name, rule
    )
    platform.run()
    return found.id


def members(session: Session, segment_id: str) -> list[str]:
    return list(
        session.scalars(
            select(SegmentMember.profile_id)
            .where(SegmentMember.segment_id == segment_id)
            .order_by(SegmentMember.profile_id)
        )
    )


def profile_of(platform: Platform, email: str) -> str:
    found = IdentityService(platform.session).find_profile(platform.workspace_id, "email", email)
    assert found is not None
    return found.id


def segment_events(session: Session, workspace_id: str) -> list[tuple[str, str]]:
    rows = session.scalars(
        select(Event)
        .where(Event.workspace_id == workspace_id, Event.channel == "segment")
        .order_by(Event.timestamp, Event.id)
    ).all()
    return [(str(e.event), e.payload["properties"]["segment"]) for e in rows]


def test_a_second_store_order_enters_the_spender_and_says_so(platform: Platform) -> None:
    """Two store sales of $42 pass $80 spent: the person enters VIP and Segment Entered with
    the segment's name lands on their timeline."""
    vip = segment(platform, "VIP", VIP)
    platform.order(store_order("S-1", platform.clock(), "ada@example.com"))
    platform.run()
    assert members(platform.session, vip) == []

    platform.order(store_order("S-2", platform.clock() + timedelta(minutes=5), "ada@example.com"))
    platform.run()

    assert members(platform.session, vip) == [profile_of(platform, "ada@example.com")]
    assert segment_events(platform.session, platform.workspace_id) == [("Segment Entered", "VIP")]


def test_time_alone_takes_a_person_out_of_a_windowed_segment(platform: Platform) -> None:
    """Thirty-one days after the last order the sweep's refresh moves the buyer out."""
    recent = segment(platform, "Bought this month", RECENT)
    platform.order(store_order("S-1", platform.clock(), "bo@example.com"))
    platform.run()
    assert len(members(platform.session, recent)) == 1

    platform.clock.advance(timedelta(days=31))
    refresh(platform, "t")
    platform.run()

    assert members(platform.session, recent) == []
    assert segment_events(platform.session, platform.workspace_id) == [
        ("Segment Entered", "Bought this month"),
        ("Segment Exited", "Bought this month"),
    ]


def test_an_event_count_within_a_window_and_a_trait(platform: Platform) -> None:
    """Three product views this week by a gold-tier shopper: in; two are not enough."""
    rule = {
        "kind": "all",
        "rules": [
            {"kind": "event", "event": "Product Viewed", "min_count": 3, "within_days": 7},
            {"kind": "trait", "trait": "tier", "op": "eq", "value": "Gold"},
        ],
    }
    keen = segment(platform, "Keen gold", rule)
    now = platform.clock()
    platform.send(identify("i1", now, "u-1", tier="gold", email="cy@example.com"))
    platform.send(*(track(f"v{i}", "Product Viewed", now, user_id="u-1") for i in range(2)))
    platform.run()
    assert members(platform.session, keen) == []

    platform.send(track("v3", "Product Viewed", now, user_id="u-1"))
    platform.run()

    assert members(platform.session, keen) == [profile_of(platform, "cy@example.com")]


def test_erasure_removes_every_membership(platform: Platform) -> None:
    """An erased person is in no segment and no audience afterwards."""
    vip = segment(platform, "Any buyer", {"kind": "orders", "min_count": 1})
    platform.order(store_order("S-1", platform.clock(), "di@example.com"))
    platform.run()
    profile_id = profile_of(platform, "di@example.com")
    service = SegmentService(platform.session, platform.clock)
    audience = service.create_audience(platform.workspace_id, "Buyers", vip, actor="t")
    assert service.audience_members(platform.workspace_id, audience.id) == [profile_id]

    erasure = PrivacyService(platform.session).erase(platform.workspace_id, profile_id, actor="t")
    platform.session.commit()

    assert members(platform.session, vip) == []
    assert service.audience_members(platform.workspace_id, audience.id) == []
    assert erasure.counts["segments"] == 2


def test_a_merge_leaves_one_membership_for_the_survivor(platform: Platform) -> None:
    """Two profiles found to be one person: one membership, the survivor's; the merge
    undone, it is the buyer's again (and not the survivor's)."""
    buyers = segment(platform, "Buyers", {"kind": "orders", "min_count": 1})
    platform.send(identify("i1", platform.clock(), "u-ed", email="ed@work.example.com"))
    platform.run()
    platform.order(store_order("S-1", platform.clock(), "ed@example.com"))
    platform.run()
    first = profile_of(platform, "ed@example.com")
    second = profile_of(platform, "ed@work.example.com")
    platform.send(
        track(
            "link",
            "Signed In",
            platform.clock(),
            user_id="u-ed",
            traits={"email": "ed@example.com"},
        )
    )
    platform.run()

    survivor = ProfileService(platform.session).resolve(platform.workspace_id, first).id
    assert survivor in (first, second)
    assert members(platform.session, buyers) == [survivor]

    [merge] = IdentityService(platform.session).merge_log(platform.workspace_id)
    IdentityService(platform.session).unmerge(platform.workspace_id, merge.id, actor="t")
    platform.run()

    buyer = profile_of(platform, "ed@example.com")
    assert members(platform.session, buyers) == [buyer]


STEPS = st.lists(
    st.tuples(
        st.sampled_from(["u-1", "u-2", "u-3"]),
        st.sampled_from(["view", "order", "wait"]),
        st.integers(min_value=0, max_value=20),
    ),
    min_size=1,
    max_size=8,
)
# Without a window: only data changes the answer, so the recomputes the data's arrival
# queues must keep membership exact with no sweep at all.
TIMELESS = {
    "kind": "any",
    "rules": [
        {"kind": "event", "event": "Product Viewed", "min_count": 2},
        {
            "kind": "all",
            "rules": [
                {"kind": "orders", "min_spent": 8000, "currency": "USD"},
                {"kind": "not", "rule": {"kind": "channel", "channel": "web"}},
            ],
        },
    ],
}
WINDOWED = {
    "kind": "any",
    "rules": [
        {"kind": "event", "event": "Product Viewed", "min_count": 2, "within_days": 10},
        {
            "kind": "all",
            "rules": [
                {"kind": "orders", "min_spent": 8000, "currency": "USD"},
                {"kind": "not", "rule": {"kind": "orders", "min_count": 1, "within_days": 5}},
            ],
        },
    ],
}
WORKSPACES = iter(range(10_000))


def refresh(platform: Platform, round_: object) -> None:
    JobService(platform.session).enqueue(
        REFRESH_JOB,
        {
            "workspace_id": platform.workspace_id,
            "after": None,
            "round": str(round_),
            "at": platform.clock().isoformat(),
        },
    )


def play(platform: Platform, steps: list[tuple[str, str, int]]) -> None:
    for index, (user, what, days) in enumerate(steps):
        if what == "wait":
            platform.clock.advance(timedelta(days=days))
        elif what == "view":
            channel = "web" if days % 2 else "ios"
            platform.send(
                track(
                    f"e{index}", "Product Viewed", platform.clock(), user_id=user, channel=channel
                )
            )
        else:
            platform.send(
                identify(f"i{index}", platform.clock(), user, email=f"{user}@example.com")
            )
            platform.order(store_order(f"S-{index}", platform.clock(), f"{user}@example.com"))
        platform.run()


def from_scratch(platform: Platform, rule: dict[str, Any]) -> list[str]:
    membership = Membership(platform.session, platform.clock)
    profiles = ProfileService(platform.session)
    parsed = parse_rule(rule)
    ws = platform.workspace_id
    return sorted(
        pid
        for pid in membership.repository.active_profile_ids(ws, None, 1000)
        if domain.matches(
            parsed, membership.activity(ws, profiles.person(ws, pid)), platform.clock()
        )
    )


PROPERTY = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(steps=STEPS)
def test_membership_kept_by_arrivals_equals_the_rule_from_scratch(
    platform: Platform, steps: list[tuple[str, str, int]]
) -> None:
    """Whatever events and orders arrive in whatever order, the members the arrivals' own
    recomputes leave are exactly the people the rule holds for, evaluated afresh."""
    platform.workspace_id = make_workspace(platform.session, f"seg-prop-{next(WORKSPACES)}")
    platform.session.commit()
    seg = segment(platform, "Timeless", TIMELESS)

    play(platform, steps)

    assert members(platform.session, seg) == from_scratch(platform, TIMELESS)


@PROPERTY
@given(steps=STEPS)
def test_membership_after_a_sweep_equals_the_windowed_rule_from_scratch(
    platform: Platform, steps: list[tuple[str, str, int]]
) -> None:
    """With windows, time passing matters too: after the sweep at the clock's time the
    members are exactly the people the rule holds for now."""
    platform.workspace_id = make_workspace(platform.session, f"seg-win-{next(WORKSPACES)}")
    platform.session.commit()
    seg = segment(platform, "Windowed", WINDOWED)

    play(platform, steps)
    refresh(platform, "final")
    platform.run()

    assert members(platform.session, seg) == from_scratch(platform, WINDOWED)
