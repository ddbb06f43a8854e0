"""Alias calls join identities through the graph's merge: audited, reversible, guard-railed."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.identity.graph.identifiers import (
    Rules,
    alias_previous_id,
    record_from_json,
    record_from_message,
    record_to_json,
)
from tessera.identity.graph.service import IdentityService
from tessera.models.identity import IdentityConflict, IdentityMerge
from tests.identity.stitching import active_profiles, at, identify, partition, send
from tests.support.factories import make_workspace

WORKSPACES = itertools.count()


def alias(message_id: str, minute: int, previous_id: str, user_id: str) -> dict[str, Any]:
    return {
        "type": "alias",
        "messageId": message_id,
        "timestamp": at(minute),
        "previousId": previous_id,
        "userId": user_id,
    }


def test_an_alias_record_carries_its_previous_id_through_the_job_payload() -> None:
    """An alias message's previousId is read trimmed, survives the job's JSON, and other
    message types carry none."""
    rules = Rules()
    message = alias("a1", 0, "  anon-7 ", "u-1")
    when = datetime(2026, 11, 1, tzinfo=UTC)

    record = record_from_message(message, when, "web", rules)
    assert record is not None

    assert record.previous_id == "anon-7"
    assert record_from_json(record_to_json(record)).previous_id == "anon-7"
    assert alias_previous_id(identify("i1", 0, user_id="u-1"), rules) is None
    assert alias_previous_id(alias("a2", 0, "null", "u-1"), rules) is None


def test_an_alias_merges_the_anonymous_history_into_the_user_and_is_audited(
    session: Session,
) -> None:
    """alias(anon-7, u-1) merges the anonymous visitor's profile into u-1's, recorded as an
    ``alias`` merge with its evidence; the events of both are the person's."""
    ws = make_workspace(session, "alias-anon")
    send(session, ws, [identify("m1", 0, user_id="u-1", first_name="Ava")])
    send(session, ws, [identify("m2", 1, anonymous_id="anon-7", last_name="Lindqvist")])
    assert len(active_profiles(session, ws)) == 2

    send(session, ws, [alias("a1", 2, "anon-7", "u-1")])

    (profile,) = active_profiles(session, ws).values()
    assert (profile.traits["first_name"], profile.traits["last_name"]) == ("Ava", "Lindqvist")
    merge = session.scalars(select(IdentityMerge).where(IdentityMerge.workspace_id == ws)).one()
    assert (merge.cause_kind, merge.cause_ref, merge.survivor_profile_id) == (
        "alias",
        "a1",
        profile.id,
    )
    assert merge.evidence["previous_id"] == {"type": "anonymous_id", "value": "anon-7"}
    events = IdentityService(session).events_of(ws, profile.id)
    assert [e.message_id for e in events] == ["m1", "m2", "a1"]


def test_an_alias_of_an_unseen_id_makes_its_later_events_the_persons(session: Session) -> None:
    """A previousId the graph never saw joins userId's person as an anonymous id."""
    ws = make_workspace(session, "alias-unseen")
    send(session, ws, [identify("m1", 0, user_id="u-1")])

    send(session, ws, [alias("a1", 1, "anon-new", "u-1")])
    send(session, ws, [identify("m2", 2, anonymous_id="anon-new", city="Lyon")])

    (profile,) = active_profiles(session, ws).values()
    assert profile.traits["city"] == "Lyon"
    assert ("anonymous_id", "anon-new") in partition(session, ws)[profile.id]


def test_an_alias_between_two_user_ids_is_a_conflict_under_the_default_limit(
    session: Session,
) -> None:
    """With the default limit of one user id, alias(u-old, u-new) opens an ``alias`` conflict
    and merges nothing; with a limit of two the same call merges."""
    ws = make_workspace(session, "alias-limit")
    send(session, ws, [identify("m1", 0, user_id="u-old"), identify("m2", 1, user_id="u-new")])
    before = partition(session, ws)

    send(session, ws, [alias("a1", 2, "u-old", "u-new")])

    assert partition(session, ws) == before
    conflict = session.scalars(
        select(IdentityConflict).where(IdentityConflict.workspace_id == ws)
    ).one()
    assert (conflict.rule, conflict.identifier_type, conflict.identifier_value) == (
        "alias",
        "user_id",
        "u-old",
    )
    assert "limit of user_id" in conflict.evidence["refused"]

    IdentityService(session).set_rules(ws, limits={"user_id": 2})
    send(session, ws, [alias("a2", 3, "u-old", "u-new")])

    assert len(active_profiles(session, ws)) == 1


def test_an_alias_sent_twice_merges_once(session: Session) -> None:
    """A replayed alias finds the two ids already one person and changes nothing."""
    ws = make_workspace(session, "alias-twice")
    send(session, ws, [identify("m1", 0, user_id="u-1"), identify("m2", 1, anonymous_id="a-1")])

    send(session, ws, [alias("a1", 2, "a-1", "u-1")])
    send(session, ws, [alias("a1-again", 3, "a-1", "u-1")])

    merges = session.scalars(select(IdentityMerge).where(IdentityMerge.workspace_id == ws)).all()
    assert len(merges) == 1


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    visits=st.lists(
        st.tuples(st.sampled_from(["a-1", "a-2", "a-3"]), st.sampled_from([None, "u-1", "u-2"])),
        min_size=1,
        max_size=6,
    ),
    previous=st.sampled_from(["a-1", "a-2", "a-3"]),
    user=st.sampled_from(["u-1", "u-2"]),
)
def test_unmerging_an_alias_restores_the_partition(
    session: Session, visits: list[tuple[str, str | None]], previous: str, user: str
) -> None:
    """Whatever the graph looked like, undoing the merge an alias made gives back exactly the
    identifiers' grouping from before the alias (plus the previousId alone, if it was new)."""
    ws = make_workspace(session, f"alias-prop-{next(WORKSPACES)}")
    send(session, ws, [identify("u-seed", 0, user_id=user)])
    send(
        session,
        ws,
        [identify(f"v{i}", i + 1, anonymous_id=a, user_id=u) for i, (a, u) in enumerate(visits)],
    )
    before = list(partition(session, ws).values())
    if not any(("anonymous_id", previous) in group for group in before):
        before.append(frozenset({("anonymous_id", previous)}))

    send(session, ws, [alias("alias", 50, previous, user)])
    merges = session.scalars(
        select(IdentityMerge).where(
            IdentityMerge.workspace_id == ws, IdentityMerge.cause_kind == "alias"
        )
    ).all()
    for merge in merges:
        IdentityService(session).unmerge(ws, merge.id, actor="test")

    assert sorted(map(sorted, partition(session, ws).values())) == sorted(map(sorted, before))
