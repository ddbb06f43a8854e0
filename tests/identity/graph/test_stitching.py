"""Stitching as data arrives: links, merges, guard-rails, reversible merges."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tessera.collect.domain import Sender
from tessera.collect.service import CollectService
from tessera.config import Settings
from tessera.customer.privacy import PrivacyService
from tessera.identity.errors import MergeAlreadyUndone, MergeRefused
from tessera.identity.graph import tasks
from tessera.identity.graph.identifiers import sha256_hex
from tessera.identity.graph.intake import STITCH_JOB
from tessera.identity.graph.service import IdentityService
from tessera.identity.graph.stitch import Stitch
from tessera.job.runner import Worker
from tessera.models.collect import Event
from tessera.models.identity import (
    Identifier,
    IdentityConflict,
    IdentityMerge,
    Profile,
    ProfileStatus,
)
from tessera.models.job import Job, JobStatus
from tests.identity.stitching import active_profiles, identify, partition, send
from tests.support.factories import make_workspace


def test_an_event_with_two_identifiers_links_them_into_one_profile(session: Session) -> None:
    """An identify call carrying a device id, a user id and an email makes one profile of all."""
    ws = make_workspace(session, "stitch-one")

    send(session, ws, [identify("m1", 0, anonymous_id="dev-1", user_id="u-1", email=" A@X.com ")])

    groups = partition(session, ws)
    assert len(groups) == 1
    ((profile_id, members),) = groups.items()
    assert ("anonymous_id", "dev-1") in members
    assert ("user_id", "u-1") in members
    assert ("email", "a@x.com") in members
    profile = session.get(Profile, profile_id)
    assert profile is not None and profile.traits["email"] == " A@X.com "


def test_a_second_device_logging_in_merges_two_profiles_and_records_why(session: Session) -> None:
    """The app's anonymous profile and the site's logged-in one merge when the app logs in."""
    ws = make_workspace(session, "stitch-merge")
    send(session, ws, [identify("m1", 0, anonymous_id="web-1", user_id="u-1", first_name="Ana")])
    send(session, ws, [identify("m2", 1, anonymous_id="app-1", last_name="Silva")])
    assert len(active_profiles(session, ws)) == 2

    send(session, ws, [identify("m3", 2, anonymous_id="app-1", user_id="u-1")])

    profiles = active_profiles(session, ws)
    assert len(profiles) == 1
    (survivor,) = profiles.values()
    assert survivor.traits["first_name"] == "Ana" and survivor.traits["last_name"] == "Silva"
    assert survivor.name_key == "ana silva"
    merge = session.scalars(select(IdentityMerge).where(IdentityMerge.workspace_id == ws)).one()
    assert merge.survivor_profile_id == survivor.id
    assert merge.cause_ref == "m3"
    assert merge.evidence["linking"] == [
        {"type": "user_id", "value": "u-1"},
        {"type": "anonymous_id", "value": "app-1"},
    ]
    kinds = session.scalars(select(Job.kind).where(Job.workspace_id == ws)).all()
    assert "customer.merged" in kinds


def test_blocked_values_link_nothing(session: Session) -> None:
    """null, -1, zeros and test@test.com never join two people."""
    ws = make_workspace(session, "stitch-blocked")

    send(
        session,
        ws,
        [
            identify("m1", 0, anonymous_id="a-1", email="test@test.com", phone="000-000"),
            identify("m2", 1, anonymous_id="a-2", email="test@test.com", user_id="null"),
            identify("m3", 2, anonymous_id="a-3", user_id="-1"),
        ],
    )

    groups = partition(session, ws)
    assert sorted(groups.values(), key=sorted) == [
        frozenset({("anonymous_id", "a-1")}),
        frozenset({("anonymous_id", "a-2")}),
        frozenset({("anonymous_id", "a-3")}),
    ]


def test_the_brands_own_store_email_can_be_blocked(session: Session) -> None:
    """A clerk typing the store's email for every walk-in does not merge the walk-ins."""
    ws = make_workspace(session, "stitch-store-email")
    IdentityService(session).set_rules(ws, blocked_values=["Store@Brand.com"])

    send(
        session,
        ws,
        [
            identify("m1", 0, anonymous_id="pos-1", email="store@brand.com"),
            identify("m2", 1, anonymous_id="pos-2", email="STORE@brand.com"),
        ],
    )

    assert len(active_profiles(session, ws)) == 2


def test_a_shared_device_does_not_mega_merge(session: Session) -> None:
    """Ten shoppers logging in on one in-store iPad stay ten profiles; conflicts say why, and
    the iPad, signed in by more than the threshold of people, is marked shared."""
    ws = make_workspace(session, "stitch-ipad")

    send(
        session,
        ws,
        [
            identify(f"m{i}", i, anonymous_id="ipad-store-7", user_id=f"shopper-{i}")
            for i in range(10)
        ],
    )

    groups = partition(session, ws)
    users = [sorted(v for t, v in g if t == "user_id") for g in groups.values()]
    assert sorted(u for us in users for u in us) == sorted(f"shopper-{i}" for i in range(10))
    assert all(len(us) <= 1 for us in users)
    assert len(active_profiles(session, ws)) == 10
    conflicts = session.scalars(
        select(IdentityConflict).where(IdentityConflict.workspace_id == ws)
    ).all()
    assert len(conflicts) == 10
    assert sorted({c.rule for c in conflicts}) == ["limit:user_id", "shared"]
    assert {c.identifier_value for c in conflicts} == {"ipad-store-7"}
    ipad = session.scalars(select(Identifier).where(Identifier.value == "ipad-store-7")).one()
    assert (ipad.is_shared, ipad.profile_id) == (True, "")
    assert (
        session.scalar(
            select(func.count()).select_from(IdentityMerge).where(IdentityMerge.workspace_id == ws)
        )
        == 0
    )


def test_a_sixth_email_stays_out_of_a_profile(session: Session) -> None:
    """Five emails per profile: a sixth, outranking the device, gets a profile of its own."""
    ws = make_workspace(session, "stitch-emails")

    send(
        session,
        ws,
        [identify(f"m{i}", i, anonymous_id="tablet", email=f"p{i}@x.com") for i in range(6)],
    )

    groups = partition(session, ws)
    tablet = next(g for g in groups.values() if ("anonymous_id", "tablet") in g)
    assert sum(1 for t, _ in tablet if t == "email") == 5
    conflict = session.scalars(
        select(IdentityConflict).where(IdentityConflict.workspace_id == ws)
    ).one()
    assert (conflict.rule, conflict.identifier_value) == ("limit:email", "tablet")
    sixth = next(g for g in groups.values() if ("email", "p5@x.com") in g)
    assert ("anonymous_id", "tablet") not in sixth


def test_unmerge_restores_both_profiles_and_a_replay_does_not_merge_them_again(
    session: Session,
) -> None:
    """Undoing a merge gives both profiles back with their ids and traits; the split is a rule."""
    ws = make_workspace(session, "stitch-unmerge")
    send(session, ws, [identify("m1", 0, anonymous_id="web-1", user_id="u-1", first_name="Ana")])
    send(session, ws, [identify("m2", 1, anonymous_id="app-9", first_name="Bea")])
    before = partition(session, ws)
    send(session, ws, [identify("m3", 2, anonymous_id="app-9", user_id="u-1")])
    merge = session.scalars(select(IdentityMerge).where(IdentityMerge.workspace_id == ws)).one()

    result = IdentityService(session).unmerge(ws, merge.id, actor="usr_test", reason="two people")

    assert partition(session, ws) == before
    assert set(result.profile_ids) == set(before)
    profiles = active_profiles(session, ws)
    assert {p.traits.get("first_name") for p in profiles.values()} == {"Ana", "Bea"}

    send(session, ws, [identify("m4", 3, anonymous_id="app-9", user_id="u-1")])

    assert partition(session, ws) == before
    conflict = session.scalars(
        select(IdentityConflict).where(
            IdentityConflict.workspace_id == ws, IdentityConflict.cause_ref == "m4"
        )
    ).one()
    assert conflict.rule == "split"
    with pytest.raises(MergeAlreadyUndone):
        IdentityService(session).unmerge(ws, merge.id)


def test_a_manual_merge_across_a_split_is_refused(session: Session) -> None:
    """After a split, merging the two sides by hand needs the split rule removed first."""
    ws = make_workspace(session, "stitch-manual")
    send(session, ws, [identify("m1", 0, anonymous_id="a", user_id="u-1")])
    send(session, ws, [identify("m2", 1, anonymous_id="b")])
    service = IdentityService(session)
    a, b = sorted(active_profiles(session, ws))
    merge = service.merge_profiles(ws, a, b, cause_kind="manual", cause_ref="usr_1", actor="usr_1")
    assert merge.cause_kind == "manual"
    assert len(active_profiles(session, ws)) == 1
    service.unmerge(ws, merge.id)

    with pytest.raises(MergeRefused):
        service.merge_profiles(ws, a, b, cause_kind="manual", cause_ref="usr_1")

    assert len(active_profiles(session, ws)) == 2


def test_a_merged_profile_id_still_resolves_to_its_survivor(session: Session) -> None:
    """Old profile ids keep working: they answer with the profile that absorbed them."""
    ws = make_workspace(session, "stitch-resolve")
    send(session, ws, [identify("m1", 0, anonymous_id="a", user_id="u-1")])
    send(session, ws, [identify("m2", 1, anonymous_id="b")])
    old = {p for p in active_profiles(session, ws)}

    send(session, ws, [identify("m3", 2, anonymous_id="b", user_id="u-1")])

    (survivor,) = active_profiles(session, ws)
    service = IdentityService(session)
    assert {service.resolve(ws, p).id for p in old} == {survivor}
    absorbed = (old - {survivor}).pop()
    row = session.get(Profile, absorbed)
    assert row is not None and row.status is ProfileStatus.MERGED


_SLUGS = itertools.count()
POOL = st.sampled_from([f"a{i}" for i in range(6)])
USERS = st.one_of(st.none(), st.sampled_from([f"u{i}" for i in range(3)]))
EMAILS = st.one_of(st.none(), st.sampled_from([f"e{i}@x.com" for i in range(4)]))
NAMES = st.one_of(st.none(), st.sampled_from(["Ana", "Bea", "Cy", "Dee"]))
RECORDS = st.lists(st.tuples(POOL, USERS, EMAILS, NAMES), min_size=1, max_size=12)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.parametrize("chunk", [3, Stitch.plan_chunk])
@given(history=RECORDS, anon=POOL, email=st.sampled_from([f"e{i}@x.com" for i in range(4)]))
def test_unmerge_restores_exactly_what_was_there_before_the_merge(
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int,
    history: list[tuple[str, str | None, str | None, str | None]],
    anon: str,
    email: str,
) -> None:
    """Property: history, then a record joining two profiles, then unmerge == history alone;
    whether a batch is planned in one piece or handed to the writer a few records at a time."""
    monkeypatch.setattr(Stitch, "plan_chunk", chunk)
    ws = make_workspace(session, f"prop-{next(_SLUGS)}")
    messages = []
    for n, (device, user, address, name) in enumerate(history):
        traits = {k: v for k, v in (("email", address), ("first_name", name)) if v}
        messages.append(identify(f"h{n}", n, anonymous_id=device, user_id=user, **traits))
    send(session, ws, messages)
    before = partition(session, ws)
    traits_before = {p: dict(r.traits) for p, r in active_profiles(session, ws).items()}

    joining = {
        "type": "track",
        "event": "Linked",
        "messageId": "join",
        "timestamp": "2026-11-02T00:00:00+00:00",
        "anonymousId": anon,
        "context": {"externalIds": [{"id": email, "type": "email"}]},
    }
    send(session, ws, [joining])
    merges = session.scalars(
        select(IdentityMerge).where(
            IdentityMerge.workspace_id == ws, IdentityMerge.cause_ref == "join"
        )
    ).all()
    for merge in reversed(merges):
        IdentityService(session).unmerge(ws, merge.id)

    after = partition(session, ws)
    joined = {("email", email), ("email_sha256", sha256_hex(email)), ("anonymous_id", anon)}
    known = {k for members in before.values() for k in members}
    added = joined - known  # identifiers the joining record brought that were new
    assert {p: m - added for p, m in after.items() if m - added} == before
    profiles = active_profiles(session, ws)
    assert {p: dict(profiles[p].traits) for p in before} == traits_before


def test_a_stitch_that_read_its_records_before_an_erasure_links_nothing(
    session: Session,
) -> None:
    """A worker holding a batch from before the erasure: the stitch drops the erased person's
    record and the event it names, under the workspace lock."""
    ws = make_workspace(session, "stitch-erased")
    send(session, ws, [identify("m1", 0, anonymous_id="a1", email="gone@x.com")])
    CollectService(session).ingest(
        Sender(ws, None), [identify("m2", 1, anonymous_id="a2", email="gone@x.com")], "test"
    )
    job = session.scalars(
        select(Job).where(
            Job.workspace_id == ws, Job.kind == STITCH_JOB, Job.status == JobStatus.QUEUED
        )
    ).one()
    payload = dict(job.payload)
    session.delete(job)  # a worker already holds it
    profile = IdentityService(session).find_profile(ws, "email", "gone@x.com")
    assert profile is not None
    PrivacyService(session).erase(ws, profile.id, actor="usr_dpo")

    tasks.stitch(session, payload)

    assert partition(session, ws) == {}
    assert session.scalars(select(Event.message_id).where(Event.workspace_id == ws)).all() == []


def test_values_with_control_characters_survive_the_bulk_write(session: Session) -> None:
    """Identifiers and traits are written by COPY on PostgreSQL: a backslash, tab, newline or
    quote in a raw value, a trait or a message id comes back exactly as it was sent."""
    ws = make_workspace(session, "stitch-escapes")
    awkward = 'dev\\1\t"x",{y}\nend\r'
    send(
        session,
        ws,
        [identify("m\t1\\", 0, anonymous_id=awkward, user_id="u\\2", first_name="A\tB\\n")],
    )

    ((profile_id, members),) = partition(session, ws).items()
    assert members == {("anonymous_id", awkward.strip()), ("user_id", "u\\2")}
    raws = session.scalars(select(Identifier.raw).where(Identifier.workspace_id == ws)).all()
    assert awkward.strip() in raws
    profile = session.get(Profile, profile_id)
    assert profile is not None and profile.traits["first_name"] == "A\tB\\n"
    assert profile.first_seen is not None and profile.last_seen == profile.first_seen

    # Looked up again (by an array of values on PostgreSQL): found, so joined, not duplicated.
    send(session, ws, [identify("m2", 3600, anonymous_id=awkward, email="e@x.com")])
    ((again, members),) = partition(session, ws).items()
    assert again == profile_id and ("email", "e@x.com") in members


def test_a_stitch_job_drains_its_workspaces_queued_batches_with_it(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """A backlog of stitch batches (an import, a burst) is done in one pass: the job the worker
    runs takes its workspace's queued stitch jobs with it, in their order, and marks them done
    in its own transaction. Another workspace's batch waits for its own run."""
    with session_factory() as session:
        ws = make_workspace(session, "stitch-drain")
        other = make_workspace(session, "stitch-drain-other")
        collect = CollectService(session)
        collect.ingest(Sender(ws, None), [identify("d1", 0, anonymous_id="a1", user_id="u1")], "t")
        collect.ingest(Sender(ws, None), [identify("d2", 1, anonymous_id="a2", user_id="u1")], "t")
        collect.ingest(Sender(ws, None), [identify("d3", 2, anonymous_id="a3", email="x@y.z")], "t")
        collect.ingest(Sender(other, None), [identify("o1", 3, anonymous_id="b1")], "t")
        session.commit()
    one_at_a_time = settings.model_copy(update={"worker_batch_size": 1})

    ran = Worker(session_factory, one_at_a_time, run_periodic=False).run_until_idle(max_jobs=1)

    assert [e.kind for e in ran] == [STITCH_JOB]
    with session_factory() as session:
        statuses = dict(
            session.execute(
                select(Job.workspace_id, func.count())
                .where(Job.kind == STITCH_JOB, Job.status == JobStatus.SUCCEEDED)
                .group_by(Job.workspace_id)
            ).all()
        )
        assert statuses == {ws: 3}
        assert set(partition(session, ws).values()) == {
            frozenset(
                {("anonymous_id", "a3"), ("email", "x@y.z"), ("email_sha256", sha256_hex("x@y.z"))}
            ),
            frozenset({("anonymous_id", "a1"), ("anonymous_id", "a2"), ("user_id", "u1")}),
        }
        assert partition(session, other) == {}

    Worker(session_factory, one_at_a_time, run_periodic=False).run_until_idle()

    with session_factory() as session:
        assert list(partition(session, other).values()) == [{("anonymous_id", "b1")}]
