"""Shared devices are not people: a kiosk's id is detached, marked shared and joins nobody."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.identity.graph.identifiers import Ident, IdentityRecord
from tessera.identity.graph.service import IdentityService
from tessera.identity.graph.shared import is_shared_now, without_shared
from tessera.kit.errors import InvalidInput
from tessera.models.identity import Identifier, IdentityConflict
from tests.identity.stitching import identify, send
from tests.support.factories import make_workspace

KIOSK = ("anonymous_id", "kiosk-1")
WHEN = datetime(2026, 11, 1, tzinfo=UTC)


def record(ref: str, *keys: tuple[str, str]) -> IdentityRecord:
    return IdentityRecord(ref, WHEN, tuple(Ident(t, v, v) for t, v in keys))


def test_a_record_loses_its_shared_identifiers_and_one_left_with_none_is_dropped() -> None:
    """Only the shared key is taken out; a kiosk visit alone joins nobody."""
    signed_in = record("r1", ("user_id", "u-1"), KIOSK)
    alone = record("r2", KIOSK)
    elsewhere = record("r3", ("anonymous_id", "phone-1"))

    kept = without_shared([signed_in, alone, elsewhere], {KIOSK})

    assert [(r.ref, [i.key for i in r.idents]) for r in kept] == [
        ("r1", [("user_id", "u-1")]),
        ("r3", [("anonymous_id", "phone-1")]),
    ]
    assert kept[1] is elsewhere


@given(users=st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=8), after=st.integers(2, 5))
def test_a_device_is_shared_exactly_when_its_distinct_users_reach_the_threshold(
    users: list[str], after: int
) -> None:
    """Repeated sign-ins by one person never count twice."""
    assert is_shared_now(users, after) == (len(set(users)) >= after)


def kiosk_sign_ins(session: Session, ws: str, people: int) -> None:
    """``people`` shoppers sign in on the kiosk, each then browsing on it signed out."""
    for n in range(people):
        send(session, ws, [identify(f"in-{n}", 10 * n, anonymous_id="kiosk-1", user_id=f"u-{n}")])
        send(session, ws, [identify(f"out-{n}", 10 * n + 1, anonymous_id="kiosk-1")])


def test_a_kiosk_signed_in_by_three_people_is_detached_and_marked_shared(
    session: Session,
) -> None:
    """The third distinct user id detaches the kiosk from the first shopper: it is marked
    shared, a resolved ``shared`` conflict says why, and her timeline keeps only her own
    sign-in, not the kiosk's anonymous browsing."""
    ws = make_workspace(session, "kiosk-three")
    identity = IdentityService(session)

    kiosk_sign_ins(session, ws, 2)
    first = identity.find_profile(ws, "user_id", "u-0")
    assert first is not None
    assert identity.find_profile(ws, *KIOSK) == first  # two people: still hers, conflicts open
    send(session, ws, [identify("in-2", 20, anonymous_id="kiosk-1", user_id="u-2")])

    kiosk = session.scalars(
        select(Identifier).where(Identifier.workspace_id == ws, Identifier.value == "kiosk-1")
    ).one()
    assert (kiosk.is_shared, kiosk.profile_id, kiosk.origin_profile_id) == (True, "", first.id)
    assert identity.find_profile(ws, *KIOSK) is None
    shared = session.scalars(
        select(IdentityConflict).where(
            IdentityConflict.workspace_id == ws, IdentityConflict.rule == "shared"
        )
    ).one()
    assert shared.evidence["user_ids"] == ["u-0", "u-1", "u-2"]
    assert shared.status.value == "resolved"
    events = [e.message_id for e in identity.events_of(ws, first.id)]
    assert events == ["in-0"]


def test_after_sharing_a_visit_joins_nobody_and_a_sign_in_joins_its_user(
    session: Session,
) -> None:
    """Later kiosk events with no user id make no profile; one with a user id joins that user
    (a returning shopper) or makes theirs (a new one), never through the kiosk."""
    ws = make_workspace(session, "kiosk-after")
    identity = IdentityService(session)
    kiosk_sign_ins(session, ws, 3)
    identifiers_before = {
        p.id for p in session.scalars(select(Identifier).where(Identifier.workspace_id == ws))
    }

    send(session, ws, [identify("later-anon", 100, anonymous_id="kiosk-1", city="Oslo")])
    send(session, ws, [identify("later-u1", 101, anonymous_id="kiosk-1", user_id="u-1")])
    send(session, ws, [identify("later-u9", 102, anonymous_id="kiosk-1", user_id="u-9")])

    ids_now = session.scalars(select(Identifier).where(Identifier.workspace_id == ws)).all()
    assert {i.id for i in ids_now} - identifiers_before == {
        i.id for i in ids_now if (i.type, i.value) == ("user_id", "u-9")
    }
    u1 = identity.find_profile(ws, "user_id", "u-1")
    assert u1 is not None
    assert [e.message_id for e in identity.events_of(ws, u1.id)] == ["in-1", "later-u1"]
    assert "city" not in u1.traits
    open_after = session.scalars(
        select(IdentityConflict).where(
            IdentityConflict.workspace_id == ws, IdentityConflict.cause_ref.like("later-%")
        )
    ).all()
    assert open_after == []


def test_the_threshold_is_the_workspaces_own(session: Session) -> None:
    """With shared_after=2 the second person shares the device; below 2 is refused."""
    ws = make_workspace(session, "kiosk-two")
    identity = IdentityService(session)
    identity.set_rules(ws, shared_after=2)

    kiosk_sign_ins(session, ws, 2)

    assert identity.find_profile(ws, *KIOSK) is None
    with pytest.raises(InvalidInput):
        identity.set_rules(ws, shared_after=1)
    assert identity.rules(ws).shared_after == 2
