"""The link that brought an identifier in is kept on its row; merges stay link rows (ADR 0010)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.customer.privacy import PrivacyService
from tessera.customer.profiles import ProfileService
from tessera.identity.graph.repository import IdentityRepository
from tessera.identity.graph.service import IdentityService
from tessera.models.identity import Identifier, IdentityLink, IdentityMerge
from tests.identity.stitching import active_profiles, identify, partition, send
from tests.support.factories import make_workspace


def _rows(session: Session, workspace_id: str) -> dict[tuple[str, str], Identifier]:
    return {
        (i.type, i.value): i
        for i in session.scalars(select(Identifier).where(Identifier.workspace_id == workspace_id))
    }


def _links(session: Session, workspace_id: str) -> list[IdentityLink]:
    return list(
        session.scalars(select(IdentityLink).where(IdentityLink.workspace_id == workspace_id))
    )


def test_new_identifiers_keep_the_link_that_brought_them_and_merges_are_rows(
    session: Session,
) -> None:
    ws = make_workspace(session, "links-kept")
    send(session, ws, [identify("m1", 0, anonymous_id="dev-1", user_id="u-1")])
    rows = _rows(session, ws)
    user, device = rows[("user_id", "u-1")], rows[("anonymous_id", "dev-1")]
    # The record's first identifier (by priority) made the profile; the other joined through it.
    assert (user.joined_via_id, user.joined_ref) == (None, "m1")
    assert (device.joined_via_id, device.joined_ref) == (user.id, "m1")
    assert _links(session, ws) == []

    send(session, ws, [identify("m2", 1, anonymous_id="dev-2")])
    send(session, ws, [identify("m3", 2, anonymous_id="dev-2", user_id="u-1", email="a@x.com")])
    rows = _rows(session, ws)
    (link,) = _links(session, ws)  # the merge of the two profiles: both sides were known
    assert {link.identifier_id, link.other_identifier_id} == {
        rows[("user_id", "u-1")].id,
        rows[("anonymous_id", "dev-2")].id,
    }
    assert link.cause_ref == "m3"
    merge = session.scalars(select(IdentityMerge).where(IdentityMerge.workspace_id == ws)).one()
    assert merge.link_ids == [link.id]
    email = rows[("email", "a@x.com")]
    assert (email.joined_via_id, email.joined_ref) == (rows[("user_id", "u-1")].id, "m3")


def test_a_replay_meets_kept_links_and_link_rows_in_the_order_they_were_planned(
    session: Session,
) -> None:
    """One batch: a merge (a link row), then a new identifier joining (kept on its row). Ids
    for both come from one sequence in plan order, so ``links_among`` (the unmerge's replay)
    returns the merge first, as it was planned."""
    ws = make_workspace(session, "links-order")
    send(session, ws, [identify("a", 0, anonymous_id="dev-a", user_id="u-a")])
    send(session, ws, [identify("b", 1, anonymous_id="dev-b", email="b@x.com")])
    send(
        session,
        ws,
        [
            identify("join", 2, anonymous_id="dev-b", user_id="u-a"),  # merges the two
            identify("later", 3, anonymous_id="dev-b", phone="+12125550100"),  # joins
        ],
    )
    rows = _rows(session, ws)
    names = {r.id: key for key, r in rows.items()}
    ordered = [
        {names[e.a], names[e.b]}
        for e in IdentityRepository(session).links_among([r.id for r in rows.values()])
    ]
    merge_edge = {("user_id", "u-a"), ("anonymous_id", "dev-b")}
    phone = ("phone", "+12125550100")
    phone_edge = next(i for i, edge in enumerate(ordered) if phone in edge)
    assert ordered.index(merge_edge) < phone_edge
    assert rows[phone].joined_ref == "later" and rows[phone].joined_via_id is not None

    merge = session.scalars(
        select(IdentityMerge).where(
            IdentityMerge.workspace_id == ws, IdentityMerge.cause_ref == "join"
        )
    ).one()
    IdentityService(session).unmerge(ws, merge.id)
    assert len(active_profiles(session, ws)) == 2
    (with_phone,) = [m for m in partition(session, ws).values() if phone in m]
    assert ("anonymous_id", "dev-b") in with_phone  # the side it joined, after the merge


def test_erasure_takes_the_kept_links_with_the_rows_and_clears_any_naming_them(
    session: Session,
) -> None:
    """Kept links go with the erased identifiers, and are cleared on any other row that names
    one of them. The stitcher only writes a link to an identifier of the same profile; the
    second row is made by hand here to stand for any path that moves one apart."""
    ws = make_workspace(session, "links-erase")
    send(session, ws, [identify("a", 0, anonymous_id="dev-a", user_id="u-a")])
    send(session, ws, [identify("b", 1, anonymous_id="dev-b", user_id="u-b")])
    rows = _rows(session, ws)
    erased_profile = rows[("user_id", "u-a")].profile_id
    other = rows[("anonymous_id", "dev-b")]
    other.joined_via_id = rows[("user_id", "u-a")].id
    session.flush()

    erasure = PrivacyService(session).erase(ws, erased_profile, actor="test")

    assert erasure.counts["links"] == 2  # dev-a's own, and the one on dev-b naming u-a
    session.expire_all()
    survivors = _rows(session, ws)
    assert set(survivors) == {("anonymous_id", "dev-b"), ("user_id", "u-b")}
    kept = survivors[("anonymous_id", "dev-b")]
    assert kept.joined_via_id is None and kept.joined_ref is None
    assert survivors[("user_id", "u-b")].joined_ref == "b"


def test_the_360_view_names_the_channel_of_the_record_that_brought_an_identifier(
    session: Session,
) -> None:
    ws = make_workspace(session, "links-source")
    message = identify("m1", 0, anonymous_id="dev-1")
    message["context"] = {**message.get("context", {}), "channel": "app"}
    send(session, ws, [message])
    rows = _rows(session, ws)
    assert rows[("anonymous_id", "dev-1")].joined_ref == "m1"
    links = ProfileService(session).repository.first_links([rows[("anonymous_id", "dev-1")].id])
    assert links == {rows[("anonymous_id", "dev-1")].id: ("event", "m1")}
