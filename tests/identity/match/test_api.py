"""/v1/identity: the review queue (list, accept, reject), the match model (read, train) and the
conflicts, with roles enforced and refusals that change nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.identity.match import tasks as match_tasks
from tessera.identity.match.service import MatchService
from tessera.models.identity import (
    IdentityConfig,
    IdentityConflict,
    IdentityMerge,
    IdentityReview,
    ReviewStatus,
)
from tessera.models.job import Job
from tessera.models.workspace import ApiKeyKind, Role
from tessera.workspace.service import WorkspaceService
from tests.identity.matchdata import ELIZABETH, LIZ_AT_THE_TILL, make_profile, reviews_of
from tests.support.cli import invoke as run_cli
from tests.support.connectors import Keyed, keyed_workspace


def _key(session: Session, workspace_id: str, role: Role) -> dict[str, str]:
    _key, token = WorkspaceService(session).create_api_key(
        workspace_id, ApiKeyKind.SECRET, f"{role.value} key", role
    )
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def _queue(session: Session, slug: str, role: Role = Role.MARKETER) -> tuple[Keyed, str, str, str]:
    """A workspace with one open review: a till guest (Liz) and a known customer (Elizabeth)."""
    keyed = keyed_workspace(session, slug, role)
    known = make_profile(session, keyed.workspace_id, email="eliz.okafor@gmail.com", **ELIZABETH)
    guest = make_profile(session, keyed.workspace_id, minute=5, **LIZ_AT_THE_TILL)
    service = MatchService(session)
    service.refresh(keyed.workspace_id, [known])
    service.match(keyed.workspace_id, [guest])
    [review] = reviews_of(session, keyed.workspace_id)
    session.commit()
    return keyed, review.id, known, guest


def test_the_queue_lists_both_sides_with_the_evidence(client: TestClient, session: Session) -> None:
    """GET /v1/identity/reviews: open reviews, both sides' fields, per-field levels, counts."""
    keyed, review_id, known, guest = _queue(session, "queue", Role.VIEWER)

    response = client.get("/v1/identity/reviews", headers=keyed.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["counts"] == {"open": 1, "merged": 0, "rejected": 0}
    assert body["next_cursor"] is None
    [item] = body["items"]
    assert item["id"] == review_id
    assert item["status"] == "open"
    assert [s["profile_id"] for s in item["sides"]] == [guest, known]
    assert item["sides"][0]["fields"]["first_name"] == "Liz"
    assert item["sides"][1]["fields"] == {
        "first_name": "Elizabeth",
        "last_name": "Okafor",
        "email": "eliz.okafor@gmail.com",
        "phone": None,
        "postcode": "10012",
        "city": "New York",
        "address_line": "12 Main St",
    }
    levels = {f["field"]: f["level"] for f in item["evidence"]["fields"]}
    assert (levels["first_name"], levels["last_name"], levels["postcode"]) == (
        "nickname",
        "exact",
        "exact",
    )
    assert "sides" not in item["evidence"]
    one = client.get(f"/v1/identity/reviews/{review_id}", headers=keyed.headers).json()
    assert one == item


def test_a_bad_status_filter_is_a_problem(client: TestClient, session: Session) -> None:
    """status=maybe is a 422 naming the field; limit=0 too."""
    keyed, _, _, _ = _queue(session, "filter", Role.VIEWER)

    bad_status = client.get("/v1/identity/reviews?status=maybe", headers=keyed.headers)
    bad_limit = client.get("/v1/identity/conflicts?limit=0", headers=keyed.headers)

    assert bad_status.status_code == 422
    assert bad_status.headers["content-type"] == "application/problem+json"
    assert bad_status.json()["field"] == "status"
    assert bad_limit.status_code == 422
    assert bad_limit.json()["field"] == "limit"


def test_accepting_merges_and_a_second_decision_is_a_conflict(
    client: TestClient, session: Session
) -> None:
    """POST accept merges the two profiles (cause: the review); deciding again is a 409."""
    keyed, review_id, known, guest = _queue(session, "accept")

    accepted = client.post(f"/v1/identity/reviews/{review_id}/accept", headers=keyed.headers)
    again = client.post(f"/v1/identity/reviews/{review_id}/reject", headers=keyed.headers)

    assert accepted.status_code == 200
    assert accepted.json()["status"] == "merged"
    guest_side, known_side = accepted.json()["sides"]
    assert (guest_side["profile_id"], guest_side["status"]) == (guest, "merged")
    assert guest_side["fields"]["first_name"] == "Liz"  # as kept with the review
    assert (known_side["profile_id"], known_side["status"]) == (known, "active")
    assert accepted.json()["decided_by"].startswith("key_")
    assert again.status_code == 409
    assert again.json()["type"].endswith("/review-decided")
    session.expire_all()
    [merge] = session.scalars(
        select(IdentityMerge).where(IdentityMerge.workspace_id == keyed.workspace_id)
    ).all()
    assert (merge.survivor_profile_id, merge.absorbed_profile_id) == (known, guest)
    assert (merge.cause_kind, merge.cause_ref) == ("match", review_id)
    review = session.get(IdentityReview, review_id)
    assert review is not None and review.status is ReviewStatus.MERGED


def test_a_viewer_cannot_decide_and_nothing_changes(client: TestClient, session: Session) -> None:
    """A viewer key gets 403 on accept and reject; the review stays open, nothing merges."""
    keyed, review_id, _, _ = _queue(session, "viewer", Role.VIEWER)

    accept = client.post(f"/v1/identity/reviews/{review_id}/accept", headers=keyed.headers)
    reject = client.post(f"/v1/identity/reviews/{review_id}/reject", headers=keyed.headers)

    assert (accept.status_code, reject.status_code) == (403, 403)
    session.expire_all()
    review = session.get(IdentityReview, review_id)
    assert review is not None and review.status is ReviewStatus.OPEN
    assert session.scalars(select(IdentityMerge)).all() == []


def test_rejecting_keeps_the_pair_apart(client: TestClient, session: Session) -> None:
    """POST reject: the review is rejected and matching the guest again proposes nothing."""
    keyed, review_id, _, guest = _queue(session, "reject")

    rejected = client.post(f"/v1/identity/reviews/{review_id}/reject", headers=keyed.headers)
    unknown = client.post("/v1/identity/reviews/rev_nothing/reject", headers=keyed.headers)

    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert unknown.status_code == 404
    assert unknown.json()["type"].endswith("/review-not-found")
    session.expire_all()
    MatchService(session).match(keyed.workspace_id, [guest])
    assert [r.id for r in reviews_of(session, keyed.workspace_id)] == [review_id]


def test_the_model_is_the_default_until_trained(client: TestClient, session: Session) -> None:
    """GET /v1/identity/model shows the default; training with too few profiles is a 409."""
    keyed, _, _, _ = _queue(session, "model", Role.ADMIN)
    viewer = _key(session, keyed.workspace_id, Role.VIEWER)

    shown = client.get("/v1/identity/model", headers=viewer)
    by_viewer = client.post("/v1/identity/model/train", headers=viewer)
    too_few = client.post("/v1/identity/model/train", headers=keyed.headers)

    assert shown.status_code == 200
    model = shown.json()
    assert (model["source"], model["trained_at"], model["records"]) == ("default", None, None)
    assert (model["merge_threshold"], model["review_threshold"]) == (0.99, 0.8)
    first_name = model["comparisons"][0]
    assert first_name["name"] == "first_name"
    assert [level["level"] for level in first_name["levels"]][:2] == ["exact", "nickname"]
    assert by_viewer.status_code == 403
    assert too_few.status_code == 409
    assert too_few.json()["type"].endswith("/not-enough-records")
    assert too_few.json()["records"] == 2
    session.expire_all()
    config = session.get(IdentityConfig, keyed.workspace_id)
    assert config is None or (config.match_model, config.trained_at) == (None, None)


def test_training_through_the_api_is_a_job(client: TestClient, session: Session) -> None:
    """POST /v1/identity/model/train with 60 profiles: 202 and a job; once it ran, trained."""
    keyed = keyed_workspace(session, "trained", Role.ADMIN)
    firsts = ("Ava", "Noah", "Mia", "Zoe", "Ethan", "Isla")
    lasts = ("Chen", "Kim", "Rossi", "Silva", "Novak")
    ids = [
        make_profile(
            session,
            keyed.workspace_id,
            email=f"shopper{n}@example.com",
            first_name=firsts[n % 6],
            last_name=lasts[n % 5],
            zip=f"{78700 + n % 7}",
        )
        for n in range(60)
    ]
    MatchService(session).refresh(keyed.workspace_id, ids)
    session.commit()

    queued = client.post("/v1/identity/model/train", headers=keyed.headers)
    before = client.get("/v1/identity/model", headers=keyed.headers).json()
    session.expire_all()
    job = session.get(Job, queued.json()["id"])
    assert job is not None
    match_tasks.train_model(session, job.payload)  # what the worker does
    session.commit()
    shown = client.get("/v1/identity/model", headers=keyed.headers).json()

    assert queued.status_code == 202, queued.text
    assert (queued.json()["kind"], queued.json()["status"]) == ("identity.model_trained", "queued")
    assert job.payload == {"workspace_id": keyed.workspace_id}
    assert before["source"] == "default"
    assert (shown["source"], shown["records"]) == ("trained", 60)
    assert shown["trained_at"] is not None
    assert shown["report"]["random_pairs"] > 0


def test_conflicts_are_listed_with_their_evidence(client: TestClient, session: Session) -> None:
    """GET /v1/identity/conflicts: open conflicts oldest first, rule, identifier, evidence."""
    keyed = keyed_workspace(session, "conflicts", Role.VIEWER)
    for n, rule in enumerate(("limit:user_id", "split")):
        session.add(
            IdentityConflict(
                workspace_id=keyed.workspace_id,
                rule=rule,
                profile_ids=[f"cus_a{n}", f"cus_b{n}"],
                identifier_type="user_id",
                identifier_value=f"u-{n}",
                cause_ref=f"msg-{n}",
                evidence={"message": f"msg-{n}", "limit": 1},
            )
        )
        session.flush()
    session.commit()

    response = client.get("/v1/identity/conflicts", headers=keyed.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["counts"] == {"open": 2, "resolved": 0}
    assert [(c["rule"], c["identifier_value"], c["evidence"]) for c in body["items"]] == [
        ("limit:user_id", "u-0", {"message": "msg-0", "limit": 1}),
        ("split", "u-1", {"message": "msg-1", "limit": 1}),
    ]
    assert body["items"][0]["profile_ids"] == ["cus_a0", "cus_b0"]


def _cli(settings: Settings, factory: sessionmaker[Session], *args: str) -> tuple[int, str]:
    """``tessera identity ARGS``."""
    return run_cli(settings, factory, "identity", *args)


def test_the_cli_lists_reviews_and_conflicts_and_refuses_to_train_on_too_little(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """`tessera identity reviews|conflicts|train`: the queue, the conflicts, a one-line refusal."""
    _keyed, review_id, known, guest = _queue(session, "cli", Role.VIEWER)
    slug = "cli"

    code_reviews, reviews = _cli(settings, session_factory, "reviews", "-w", slug)
    code_conflicts, conflicts = _cli(settings, session_factory, "conflicts", "-w", slug)
    code_train, train = _cli(settings, session_factory, "train", "-w", slug)
    code_bad, bad = _cli(settings, session_factory, "reviews", "-w", slug, "--status", "maybe")

    assert code_reviews == 0
    assert review_id in reviews and guest in reviews and known in reviews
    assert "first_name=nickname" in reviews
    assert "open: 1, merged: 0, rejected: 0" in reviews
    assert (code_conflicts, "open: 0, resolved: 0" in conflicts) == (0, True)
    assert code_train == 1
    assert "training needs at least 50" in train
    assert code_bad == 1 and "(field: status)" in bad
