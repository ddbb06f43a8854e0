"""Matching in production: match records, candidates by indexed keys, merges, the review queue."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.identity.errors import NotEnoughRecords, ReviewDecided, ReviewNotFound
from tessera.identity.graph.service import IdentityService
from tessera.identity.match import tasks as match_tasks
from tessera.identity.match.domain import blocking_keys, fields_from_traits
from tessera.identity.match.service import MatchService
from tessera.kit.errors import InvalidInput
from tessera.models.identity import (
    IdentityConfig,
    IdentityMerge,
    MatchRecord,
    Profile,
    ProfileStatus,
    ReviewStatus,
)
from tessera.models.job import Job, JobStatus
from tests.identity.matchdata import (
    ELIZABETH,
    LIZ_AT_THE_TILL,
    NEIGHBOUR,
    make_profile,
    reviews_of,
    split_apart,
)
from tests.identity.stitching import active_profiles, identify, send
from tests.support.factories import make_workspace

FULL_TWIN = {
    "first_name": "Elizabeth",
    "last_name": "Okafor",
    "postal_code": "10012",
    "city": "New York",
    "address1": "12 Main St",
}


def merges_of(session: Session, workspace_id: str) -> list[IdentityMerge]:
    return list(
        session.scalars(select(IdentityMerge).where(IdentityMerge.workspace_id == workspace_id))
    )


def test_refresh_reads_segment_traits_and_contact_identifiers(session: Session) -> None:
    """A profile's match record holds its seven fields and four blocking keys."""
    ws = make_workspace(session, "refresh")
    profile = make_profile(
        session, ws, email="Eliz.Okafor@Gmail.com", phone="+12125550101", **ELIZABETH
    )

    fields = MatchService(session).refresh(ws, [profile])

    assert fields[profile] == {
        "first_name": "Elizabeth",
        "last_name": "Okafor",
        "email": "Eliz.Okafor@Gmail.com",
        "phone": "+12125550101",
        "postcode": "10012",
        "city": "New York",
        "address_line": "12 Main St",
    }
    record = session.get(MatchRecord, profile)
    assert record is not None
    assert (record.key_name, record.key_postcode, record.key_email, record.key_phone) == (
        "elizabeth okafor",
        "10012:OKFR",
        "eliz.okafor@gmail.com",
        "12125550101",
    )


def test_a_nickname_and_a_full_name_share_the_name_key() -> None:
    """Liz and Elizabeth block together; a missing family name gives no name or postcode key."""
    liz = blocking_keys(fields_from_traits(LIZ_AT_THE_TILL))
    elizabeth = blocking_keys(fields_from_traits(ELIZABETH))
    no_last = blocking_keys(fields_from_traits({"first_name": "Liz", "zip": "10012"}))

    assert liz.name == elizabeth.name == "elizabeth okafor"
    assert liz.postcode == elizabeth.postcode == "10012:OKFR"
    assert (no_last.name, no_last.postcode, no_last.email, no_last.phone) == (None,) * 4


def test_a_strong_match_merges_with_the_score_as_cause(session: Session) -> None:
    """Same name, address and an email one typo apart: merged automatically, evidence kept."""
    ws = make_workspace(session, "merge")
    older = make_profile(session, ws, email="eliz.okafor@gmail.com", **ELIZABETH)
    newer = make_profile(session, ws, email="eliz.okafr@gmail.com", minute=5, **FULL_TWIN)
    service = MatchService(session)
    service.refresh(ws, [older])

    outcome = service.match(ws, [newer])

    assert outcome.merges == 1 and outcome.reviews == 0
    [merge] = merges_of(session, ws)
    assert (merge.survivor_profile_id, merge.absorbed_profile_id) == (older, newer)
    assert merge.cause_kind == "match"
    assert merge.cause_ref.startswith("msc_")
    assert merge.evidence["score_id"] == merge.cause_ref
    assert merge.evidence["probability"] > 0.99
    assert merge.evidence["model"] == "default"
    levels = {f["field"]: f["level"] for f in merge.evidence["fields"]}
    assert levels == {
        "first_name": "exact",
        "last_name": "exact",
        "email": "damerau_levenshtein<=1,same_digits",
        "phone": "missing",
        "postcode": "exact",
        "city": "exact",
        "address_line": "exact",
    }
    absorbed = session.get(Profile, newer)
    assert absorbed is not None
    assert (absorbed.status, absorbed.merged_into_id) == (ProfileStatus.MERGED, older)
    assert session.get(MatchRecord, newer) is None
    assert session.get(MatchRecord, older) is not None


def test_a_merge_a_guard_rail_refuses_goes_to_review(session: Session) -> None:
    """Two accounts (one user id each, the limit is one) are reviewed, with the refusal."""
    ws = make_workspace(session, "guarded")
    older = make_profile(session, ws, email="eliz.okafor@gmail.com", user_id="u-1", **ELIZABETH)
    newer = make_profile(session, ws, email="eliz.okafr@gmail.com", user_id="u-2", **FULL_TWIN)
    service = MatchService(session)
    service.refresh(ws, [older])

    outcome = service.match(ws, [newer])

    assert (outcome.merges, outcome.reviews) == (0, 1)
    assert outcome.profiles[0].refused == (older,)
    [review] = reviews_of(session, ws)
    assert review.probability > 0.99
    assert review.evidence["refused"]["type"] == "merge-refused"
    assert "user_id" in review.evidence["refused"]["detail"]
    assert merges_of(session, ws) == []
    assert {
        p.status for p in session.scalars(select(Profile).where(Profile.workspace_id == ws))
    } == {ProfileStatus.ACTIVE}


def test_a_probable_match_goes_to_review_with_both_sides(session: Session) -> None:
    """A till guest known by nickname and postcode is a review, not a merge; once only."""
    ws = make_workspace(session, "review")
    known = make_profile(session, ws, email="eliz.okafor@gmail.com", **ELIZABETH)
    guest = make_profile(session, ws, minute=5, **LIZ_AT_THE_TILL)
    neighbour = make_profile(session, ws, minute=6, **NEIGHBOUR)
    service = MatchService(session)
    service.refresh(ws, [known, neighbour])

    first = service.match(ws, [guest])
    again = service.match(ws, [guest])

    assert (first.merges, first.reviews, again.reviews) == (0, 1, 0)
    [review] = reviews_of(session, ws)
    assert (review.profile_id, review.candidate_profile_id) == (guest, known)
    assert review.status is ReviewStatus.OPEN
    assert 0.8 <= review.probability < 0.99
    assert review.evidence["sides"]["profile"]["first_name"] == "Liz"
    assert review.evidence["sides"]["candidate"]["email"] == "eliz.okafor@gmail.com"
    levels = {f["field"]: f["level"] for f in review.evidence["fields"]}
    assert levels["first_name"] == "nickname"
    assert levels["postcode"] == "exact"
    ladder = {f["field"]: f["levels"] for f in review.evidence["fields"]}["first_name"]
    assert [step["level"] for step in ladder] == [
        "exact", "nickname", "jaro_winkler>=0.92", "metaphone", "jaro_winkler>=0.8", "else",
    ]  # fmt: skip
    assert [step["weight"] for step in ladder] == sorted(
        (step["weight"] for step in ladder), reverse=True
    )
    assert merges_of(session, ws) == []


def test_accept_merges_and_reject_is_remembered(session: Session) -> None:
    """Accepting merges the pair with the review as cause; a rejected pair is never proposed."""
    ws = make_workspace(session, "decide")
    known = make_profile(session, ws, email="eliz.okafor@gmail.com", **ELIZABETH)
    guest = make_profile(session, ws, minute=5, **LIZ_AT_THE_TILL)
    other_guest = make_profile(session, ws, minute=7, **LIZ_AT_THE_TILL)
    service = MatchService(session)
    service.refresh(ws, [known])
    service.match(ws, [guest])
    [review] = reviews_of(session, ws)

    rejected = service.reject(ws, review.id, "usr_clerk")
    rematch = service.match(ws, [guest])

    assert (rejected.status, rejected.decided_by) == (ReviewStatus.REJECTED, "usr_clerk")
    assert rematch.profiles[0].ruled_out == (known,)
    assert [r.id for r in reviews_of(session, ws)] == [review.id]

    service.match(ws, [other_guest])
    new = {r.candidate_profile_id: r for r in reviews_of(session, ws) if r.id != review.id}
    assert set(new) == {known, guest}  # the other guest looks like both
    second = new[known]
    accepted = service.accept(ws, second.id, "usr_clerk")

    assert accepted.status is ReviewStatus.MERGED
    [merge] = merges_of(session, ws)
    assert (merge.survivor_profile_id, merge.absorbed_profile_id) == (known, other_guest)
    assert (merge.cause_kind, merge.cause_ref, merge.actor) == ("match", second.id, "usr_clerk")
    assert merge.evidence["review_id"] == second.id


def test_a_decided_review_cannot_be_decided_again(session: Session) -> None:
    """Accepting a rejected review is a 409 and changes nothing; an unknown one is a 404."""
    ws = make_workspace(session, "twice")
    known = make_profile(session, ws, **ELIZABETH)
    guest = make_profile(session, ws, minute=5, **LIZ_AT_THE_TILL)
    service = MatchService(session)
    service.refresh(ws, [known])
    service.match(ws, [guest])
    [review] = reviews_of(session, ws)
    service.reject(ws, review.id, "usr_a")

    with pytest.raises(ReviewDecided):
        service.accept(ws, review.id, "usr_b")
    with pytest.raises(ReviewNotFound):
        service.reject(ws, "rev_unknown", "usr_b")

    session.refresh(review)
    assert (review.status, review.decided_by) == (ReviewStatus.REJECTED, "usr_a")
    assert merges_of(session, ws) == []


def test_a_split_pair_is_never_proposed(session: Session) -> None:
    """Profiles a person split apart are not merged or reviewed, however alike they are."""
    ws = make_workspace(session, "split")
    older = make_profile(session, ws, email="eliz.okafor@gmail.com", **ELIZABETH)
    newer = make_profile(session, ws, email="eliz.okafr@gmail.com", minute=5, **FULL_TWIN)
    split_apart(session, ws, older, newer)
    service = MatchService(session)
    service.refresh(ws, [older])

    outcome = service.match(ws, [newer])

    assert outcome.merges == 0 and outcome.reviews == 0
    assert outcome.profiles[0].ruled_out == (older,)
    assert merges_of(session, ws) == [] and reviews_of(session, ws) == []


def test_a_key_shared_by_too_many_profiles_is_skipped(session: Session) -> None:
    """A common name's block over the limit is skipped; the postcode key still finds her."""
    ws = make_workspace(session, "common")
    target = make_profile(session, ws, **ELIZABETH)
    namesakes = [
        make_profile(session, ws, first_name="Elizabeth", last_name="Okafor", zip=f"2000{n}")
        for n in range(4)
    ]
    MatchService(session).refresh(ws, [target, *namesakes])
    guest = fields_from_traits(LIZ_AT_THE_TILL)

    small = MatchService(session, block_limit=3)
    found, compared = small.score(ws, "cus_guest", guest, small.model(ws))
    _, compared_all = MatchService(session).score(ws, "cus_guest", guest, small.model(ws))

    assert compared == 1
    assert [c.profile_id for c in found] == [target]
    assert compared_all == 5


def test_after_a_merge_the_merged_profiles_split_rules_hold(session: Session) -> None:
    """A new profile like two people a person split apart joins one and never the other."""
    ws = make_workspace(session, "split-after")
    first = make_profile(session, ws, email="eliz.okafor@gmail.com", **ELIZABETH)
    second = make_profile(session, ws, email="e.okafor@gmail.com", minute=1, **FULL_TWIN)
    split_apart(session, ws, first, second)
    newcomer = make_profile(session, ws, email="eliz.okafr@gmail.com", minute=5, **FULL_TWIN)
    service = MatchService(session)
    service.refresh(ws, [first, second])

    outcome = service.match(ws, [newcomer])

    [done] = outcome.profiles
    assert len(done.merged_with) == 1
    [joined] = done.merged_with
    assert joined in (first, second)
    assert done.ruled_out == ((second,) if joined == first else (first,))
    assert reviews_of(session, ws) == []
    assert len(merges_of(session, ws)) == 1


def test_a_profile_merged_away_is_not_proposed_from_its_old_record(session: Session) -> None:
    """The stitcher's merges leave the absorbed profile's match record; it is never proposed."""
    ws = make_workspace(session, "stale")
    survivor = make_profile(session, ws, first_name="Noah", last_name="Chen", zip="78701")
    absorbed = make_profile(session, ws, email="eliz.okafor@gmail.com", **ELIZABETH)
    MatchService(session).refresh(ws, [absorbed])
    IdentityService(session).merge_profiles(
        ws, survivor, absorbed, cause_kind="manual", cause_ref="test"
    )
    guest = make_profile(session, ws, minute=5, **LIZ_AT_THE_TILL)

    outcome = MatchService(session).match(ws, [guest])

    assert session.get(MatchRecord, absorbed) is not None  # the old record is still there
    assert outcome.profiles[0].compared == 1
    assert reviews_of(session, ws) == []


def test_another_workspaces_profiles_are_never_candidates(session: Session) -> None:
    """The same person in another workspace is not a candidate."""
    ws, other = make_workspace(session, "mine"), make_workspace(session, "theirs")
    theirs = make_profile(session, other, email="eliz.okafor@gmail.com", **ELIZABETH)
    mine = make_profile(session, ws, email="eliz.okafr@gmail.com", **FULL_TWIN)
    MatchService(session).refresh(other, [theirs])

    outcome = MatchService(session).match(ws, [mine])

    assert outcome.profiles[0].compared == 0
    assert merges_of(session, ws) == merges_of(session, other) == []


def test_training_needs_enough_profiles(session: Session) -> None:
    """Fewer than 50 profiles: 409 not-enough-records, and the workspace keeps the default."""
    ws = make_workspace(session, "few")
    ids = [make_profile(session, ws, **ELIZABETH) for _ in range(3)]
    service = MatchService(session)
    service.refresh(ws, ids)

    with pytest.raises(NotEnoughRecords) as refused:
        service.train(ws)

    assert refused.value.extensions["records"] == 3
    config = session.get(IdentityConfig, ws)
    assert config is None or (config.match_model, config.trained_at) == (None, None)
    assert service.model_summary(ws).source == "default"


FIRSTS = ("Ava", "Noah", "Mia", "Elizabeth", "Zoe", "Ethan", "Isla", "Mateo", "Priya", "Kenji")
LASTS = ("Okafor", "Lindqvist", "Nakamura", "Alvarez", "Chen", "Haddad", "Kowalski", "Murphy")


def test_training_stores_a_model_that_matching_then_uses(session: Session) -> None:
    """A trained model is stored with its report, shown as trained with every comparison's
    weights falling from its closest level to its farthest, and used for evidence."""
    ws = make_workspace(session, "train")
    ids = []
    for n in range(80):
        first, last = FIRSTS[n % 10], LASTS[n % 8]
        ids.append(
            make_profile(
                session,
                ws,
                email=f"{first}.{last}{n}@example.com".lower(),
                first_name=first,
                last_name=last,
                postal_code=f"{10000 + n % 13}",
                city=("New York", "Austin", "Venice")[n % 3],
            )
        )
    service = MatchService(session)
    service.refresh(ws, ids)

    summary = service.train(ws)

    assert summary.source == "trained"
    assert summary.records == 80
    assert summary.trained_at is not None
    assert [c["name"] for c in summary.comparisons] == [
        "first_name",
        "last_name",
        "email",
        "phone",
        "postcode",
        "city",
        "address_line",
    ]
    for comparison in summary.comparisons:
        weights = [level["weight"] for level in comparison["levels"]]
        assert weights == sorted(weights, reverse=True), comparison
    config = session.get(IdentityConfig, ws)
    assert config is not None and config.match_model is not None
    assert config.match_model["records"] == 80
    guest = make_profile(session, ws, first_name="Ava", last_name="Okafor", zip="10000")
    outcome = service.match(ws, [guest])
    assert outcome.profiles[0].compared >= 1


def test_the_match_job_groups_profiles_by_workspace(session: Session) -> None:
    """The job's payload names profiles only; each is matched in its own workspace."""
    ws, other = make_workspace(session, "job-a"), make_workspace(session, "job-b")
    known_a = make_profile(session, ws, **ELIZABETH)
    known_b = make_profile(session, other, **ELIZABETH)
    guest_a = make_profile(session, ws, **LIZ_AT_THE_TILL)
    guest_b = make_profile(session, other, **LIZ_AT_THE_TILL)
    MatchService(session).refresh(ws, [known_a])
    MatchService(session).refresh(other, [known_b])

    match_tasks.match_profiles(session, {"profile_ids": [guest_a, guest_b, "cus_unknown"]})

    [review_a] = reviews_of(session, ws)
    [review_b] = reviews_of(session, other)
    assert (review_a.profile_id, review_a.candidate_profile_id) == (guest_a, known_a)
    assert (review_b.profile_id, review_b.candidate_profile_id) == (guest_b, known_b)


def test_the_match_job_refuses_a_malformed_payload(session: Session) -> None:
    """A payload without a list of ids is refused with the field named; nothing is written."""
    with pytest.raises(InvalidInput) as refused:
        match_tasks.match_profiles(session, {"profile_ids": "cus_1"})

    assert refused.value.extensions["field"] == "profile_ids"
    assert session.scalar(select(func.count()).select_from(MatchRecord)) == 0


_trait_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=400),
    st.lists(st.text(max_size=5), max_size=2),
    st.dictionaries(
        st.sampled_from(["postal_code", "city", "street", "zip"]), st.text(max_size=300)
    ),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "first_name",
                "firstName",
                "lastName",
                "name",
                "email",
                "phone",
                "zip",
                "address",
                "city",
            ]
        ),
        _trait_values,
    )
)
def test_any_traits_give_fields_and_keys_that_fit_their_columns(traits: dict[str, object]) -> None:
    """Whatever a client put in traits, the fields are short strings and the keys fit the index."""
    fields = fields_from_traits(traits)
    keys = blocking_keys(fields)

    assert all(v is None or (isinstance(v, str) and 0 < len(v) <= 200) for v in fields.values())
    assert keys.name is None or len(keys.name) <= 80
    assert keys.postcode is None or len(keys.postcode) <= 80
    assert keys.email is None or len(keys.email) <= 200
    assert keys.phone is None or len(keys.phone) <= 80
    assert blocking_keys(fields_from_traits(traits)) == keys


def _run_match_jobs(session: Session) -> int:
    jobs = session.scalars(
        select(Job)
        .where(Job.kind == "identity.match", Job.status == JobStatus.QUEUED)
        .order_by(Job.id)
    ).all()
    for job in jobs:
        match_tasks.match_profiles(session, job.payload)
        job.status = JobStatus.SUCCEEDED
    session.flush()
    return len(jobs)


def test_identify_calls_reach_the_review_queue_through_the_jobs(session: Session) -> None:
    """Two identify calls with no shared identifier: stitching makes two profiles and enqueues
    identity.match, whose handler puts the pair in review."""
    ws = make_workspace(session, "flow")
    send(session, ws, [identify("m1", 0, user_id="acct-1", email="eliz.okafor@gmail.com",
                                firstName="Elizabeth", lastName="Okafor",
                                address={"postalCode": "10012", "city": "New York"})])  # fmt: skip
    send(session, ws, [identify("m2", 5, anonymous_id="till-7", firstName="Liz",
                                lastName="Okafor", address={"postalCode": "10012"})])  # fmt: skip

    ran = _run_match_jobs(session)

    assert ran == 2
    [review] = reviews_of(session, ws)
    profiles = active_profiles(session, ws)
    assert {review.profile_id, review.candidate_profile_id} == set(profiles)
    levels = {f["field"]: f["level"] for f in review.evidence["fields"]}
    assert (levels["first_name"], levels["last_name"], levels["postcode"]) == (
        "nickname",
        "exact",
        "exact",
    )


def test_models_are_retrained_daily_when_missing_or_a_week_old(session: Session) -> None:
    """The daily job enqueues training for a workspace with 50+ profiles and no recent model."""
    untrained, small = make_workspace(session, "untrained"), make_workspace(session, "small")
    service = MatchService(session)
    service.refresh(
        untrained,
        [make_profile(session, untrained, first_name=f"N{n}", last_name="Chen") for n in range(50)],
    )
    service.refresh(small, [make_profile(session, small, **ELIZABETH)])

    match_tasks.retrain_models(session, {"slot": "2026-11-20T00:00:00+00:00"})
    match_tasks.retrain_models(session, {"slot": "2026-11-20T00:00:00+00:00"})

    queued = session.scalars(select(Job).where(Job.kind == "identity.model_trained")).all()
    assert [(job.workspace_id, job.payload) for job in queued] == [
        (untrained, {"workspace_id": untrained})
    ]
    match_tasks.train_model(session, {"workspace_id": untrained})
    match_tasks.train_model(session, {"workspace_id": small})  # too few: keeps the default
    assert MatchService(session).model_summary(untrained).source == "trained"
    assert MatchService(session).model_summary(small).source == "default"


def test_a_long_job_continues_in_a_follow_up_per_workspace(session: Session) -> None:
    """Past 500 ids the rest is enqueued, grouped by workspace, unknown ids dropped."""
    ws = make_workspace(session, "long")
    first = make_profile(session, ws, **ELIZABETH)
    last = make_profile(session, ws, **LIZ_AT_THE_TILL)
    payload = {"profile_ids": [first, *(f"cus_gone{n}" for n in range(499)), last, "cus_gone"]}
    stitched = set(session.scalars(select(Job.id).where(Job.kind == "identity.match")))

    match_tasks.match_profiles(session, payload)

    [follow_up] = session.scalars(
        select(Job).where(Job.kind == "identity.match", Job.id.not_in(stitched))
    ).all()
    assert (follow_up.workspace_id, follow_up.payload) == (ws, {"profile_ids": [last]})
    assert session.get(MatchRecord, first) is not None
    assert session.get(MatchRecord, last) is None
