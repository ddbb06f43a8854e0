"""Identity pages: the review queue side by side with per-field evidence, accept and reject from
the page, roles enforced on the server, and the conflicts with their evidence."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.identity.match.service import MatchService
from tessera.models.identity import IdentityConflict, IdentityMerge, IdentityReview, ReviewStatus
from tessera.models.workspace import Role
from tessera.workspace.service import WorkspaceService
from tests.dashboard.conftest import csrf_from, sign_in
from tests.identity.matchdata import ELIZABETH, LIZ_AT_THE_TILL, make_profile, reviews_of
from tests.support.factories import Tenant


def _one_review(session: Session, tenant: Tenant) -> tuple[str, str, str]:
    known = make_profile(session, tenant.workspace_id, email="eliz.okafor@gmail.com", **ELIZABETH)
    guest = make_profile(session, tenant.workspace_id, minute=5, **LIZ_AT_THE_TILL)
    service = MatchService(session)
    service.refresh(tenant.workspace_id, [known])
    service.match(tenant.workspace_id, [guest])
    [review] = reviews_of(session, tenant.workspace_id)
    session.commit()
    return review.id, known, guest


def _row(text: str, field: str) -> list[str]:
    """The cells of one evidence row, tags stripped."""
    row = text.split(f'<tr data-field="{field}"')[1].split(">", 1)[1].split("</tr>")[0]
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<t[hd][^>]*>.*?</t[hd]>", row, re.S)
    ]


def _ladder(text: str, field: str) -> list[tuple[str, str, bool]]:
    """(level, weight, reached) of each level listed under one field's evidence."""
    row = text.split(f'<tr data-field="{field}"')[1].split(">", 1)[1].split("</tr>")[0]
    return [
        (html.unescape(level), weight, bool(current))
        for current, level, weight in re.findall(
            r'<li( aria-current="true")?>([^<]+) <span class="num">([^<]+)</span></li>', row
        )
    ]


def test_the_queue_shows_both_sides_and_the_evidence(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """Each field: the guest's value, the customer's value, the level and its weight, and the
    weight of every level of its comparison, closest first, the one reached marked."""
    review_id, known, guest = _one_review(session, tenant)

    page = owner.get("/customers/reviews")

    assert page.status_code == 200
    text = page.text
    assert f'id="{review_id}"' in text
    assert (
        f'<a href="/customers/{guest}">Liz Okafor</a><br><code class="muted small">{guest}' in text
    )
    assert (
        f'<a href="/customers/{known}">Elizabeth Okafor</a><br><code class="muted small">{known}'
        in text
    )
    assert _row(text, "first_name")[:3] == ["First name differs", "Liz", "Elizabeth"]
    assert _row(text, "first_name")[3].startswith("nickname")
    assert _row(text, "first_name")[4] == "+4.9"
    assert _ladder(text, "first_name") == [
        ("exact", "+5.3", False), ("nickname", "+4.9", True), ("jaro_winkler>=0.92", "+3.7", False),
        ("metaphone", "+2.0", False), ("jaro_winkler>=0.8", "+0.0", False),
        ("else", "-4.2", False),
    ]  # fmt: skip
    assert _row(text, "postcode")[:3] == ["Postcode same", "10012", "10012"]
    assert _ladder(text, "postcode")[0] == ("exact", "+9.6", True)
    assert _row(text, "email")[:3] == ["Email one side only", "—", "eliz.okafor@gmail.com"]
    assert _row(text, "email")[3].startswith("missing") and _row(text, "email")[4] == "+0.0"
    assert "Same person: merge</button>" in text
    assert "Different people</button>" in text
    assert "Scored with the default model" in text


def test_the_fields_that_differ_are_marked_in_words_and_colour(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """Liz at the till and Elizabeth online: the first names differ (highlighted), surname and
    postcode agree, the email, city and street are on one side only, no one has a phone."""
    _one_review(session, tenant)

    text = owner.get("/customers/reviews").text

    assert dict(re.findall(r'<tr data-field="([a-z_]+)" data-agreement="([a-z ]+)"', text)) == {
        "first_name": "differs", "last_name": "same", "email": "one side", "phone": "neither",
        "postcode": "same", "city": "one side", "address_line": "one side",
    }  # fmt: skip
    assert text.count('class="agree-differs"') == 1
    assert "1 field differs · score" in text


def test_accepting_from_the_page_merges_the_pair(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """The merge button merges the two profiles; the page then says so and the queue is empty."""
    review_id, known, guest = _one_review(session, tenant)
    page = owner.get("/customers/reviews")

    answer = owner.post(
        f"/customers/reviews/{review_id}/accept", data={"csrf_token": csrf_from(page)}
    )

    assert answer.status_code == 200  # followed the 303 back to the queue
    assert f"Merged {guest} and {known}." in answer.text
    assert "No probable matches wait for a decision." in answer.text
    session.expire_all()
    [merge] = session.scalars(
        select(IdentityMerge).where(IdentityMerge.workspace_id == tenant.workspace_id)
    ).all()
    assert (merge.survivor_profile_id, merge.absorbed_profile_id) == (known, guest)
    assert (merge.cause_ref, merge.actor) == (review_id, tenant.owner_id)


def test_rejecting_twice_says_it_was_decided(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """Reject keeps them apart; a second decision is refused with the reason on the page."""
    review_id, _, _ = _one_review(session, tenant)
    token = csrf_from(owner.get("/customers/reviews"))

    first = owner.post(f"/customers/reviews/{review_id}/reject", data={"csrf_token": token})
    second = owner.post(f"/customers/reviews/{review_id}/accept", data={"csrf_token": token})

    assert "will not be proposed again" in first.text
    assert "Not merged: review" in second.text and "already decided: rejected" in second.text
    session.expire_all()
    review = session.get(IdentityReview, review_id)
    assert review is not None and review.status is ReviewStatus.REJECTED
    assert session.scalars(select(IdentityMerge)).all() == []
    rejected = owner.get("/customers/reviews?status=rejected").text
    assert f'id="{review_id}"' in rejected and "Same person: merge</button>" not in rejected


def test_a_viewer_sees_the_queue_but_cannot_decide(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """No buttons for a viewer, and a forged POST is a 403 that changes nothing."""
    review_id, _, _ = _one_review(session, tenant)
    WorkspaceService(session).add_user(
        tenant.workspace_id, "viewer@acme.example", Role.VIEWER, password="viewer password 1"
    )
    session.commit()
    sign_in(client, "viewer@acme.example", "viewer password 1")
    page = client.get("/customers/reviews")

    accept = client.post(
        f"/customers/reviews/{review_id}/accept", data={"csrf_token": csrf_from(page)}
    )

    assert f'id="{review_id}"' in page.text
    assert "Same person: merge</button>" not in page.text
    assert accept.status_code == 403
    session.expire_all()
    review = session.get(IdentityReview, review_id)
    assert review is not None and review.status is ReviewStatus.OPEN


def test_a_bad_status_filter_is_a_clear_error(owner: TestClient) -> None:
    """?status=maybe answers 422 with the allowed values, not a 500."""
    page = owner.get("/customers/reviews?status=maybe")

    assert page.status_code == 422
    assert "status must be open, merged, rejected or all" in page.text


def test_conflicts_show_the_rule_identifier_and_evidence(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """A guard-rail's conflict: the rule, the identifier, both profiles and the evidence."""
    session.add(
        IdentityConflict(
            workspace_id=tenant.workspace_id,
            rule="limit:user_id",
            profile_ids=["cus_first", "cus_second"],
            identifier_type="device_id",
            identifier_value="shared-ipad-7",
            cause_ref="msg-42",
            evidence={"limit": 1, "message": "msg-42"},
        )
    )
    session.commit()

    page = owner.get("/customers/conflicts")
    empty = owner.get("/customers/conflicts?status=resolved")

    assert page.status_code == 200
    assert "limit:user_id</h2>" in page.text
    assert "<code>device_id:shared-ipad-7</code>" in page.text
    assert (
        '<a href="/customers/cus_first"><code>cus_first</code></a>, '
        '<a href="/customers/cus_second"><code>cus_second</code></a>'
    ) in page.text
    assert "<dt>limit</dt><dd><code>1</code></dd>" in page.text
    assert "No resolved conflicts." in empty.text
