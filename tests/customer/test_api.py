"""``/v1/profiles`` over HTTP: search, the 360, the timeline, consent, export and erasure, with
roles, problem+json refusals that change nothing, and workspace isolation."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.models.identity import Consent, Erasure, Profile
from tessera.models.workspace import ApiKeyKind, AuditEntry, Role
from tessera.workspace.service import WorkspaceService
from tests.http.test_isolation import _rows_of
from tests.identity.people import ANA_EMAIL, Story, ana_and_ben, profile_probes
from tests.support.factories import Tenant, make_tenant

PROBLEM = "application/problem+json"
CONSENT = {
    "identifier_type": "email",
    "identifier_value": ANA_EMAIL,
    "purpose": "marketing",
    "channel": "email",
    "status": "granted",
    "source": "store:soho",
    "wording": "Yes, email me offers",
}


@pytest.fixture
def tenant(session: Session) -> Tenant:
    return make_tenant(session, "acme")


@pytest.fixture
def story(session: Session, tenant: Tenant) -> Story:
    story = ana_and_ben(session, tenant.workspace_id)
    session.commit()
    return story


def bearer(session: Session, tenant: Tenant, role: Role) -> dict[str, str]:
    _key, token = WorkspaceService(session).create_api_key(
        tenant.workspace_id, ApiKeyKind.SECRET, f"{role.value} key", role
    )
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def count(session: Session, model: type) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_search_view_and_timeline_answer_a_viewer(
    client: TestClient, session: Session, tenant: Tenant, story: Story
) -> None:
    """A viewer key finds Ana by phone, reads her 360 and walks her timeline two at a time."""
    viewer = bearer(session, tenant, Role.VIEWER)

    found = client.get("/v1/profiles", params={"q": "415-555-0134"}, headers=viewer)
    profile = client.get(f"/v1/profiles/{story.ana}", headers=viewer)
    items, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"/v1/profiles/{story.ana}/timeline", params=params, headers=viewer)
        assert page.status_code == 200
        items += page.json()["items"]
        pages += 1
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break

    assert found.status_code == 200
    assert [(h["id"], h["matched_by"]) for h in found.json()["items"]] == [(story.ana, "phone")]
    assert profile.status_code == 200
    body = profile.json()
    assert body["id"] == story.ana and body["name"] == "Ana Silva"
    assert body["computed"]["revenue"] == [{"currency": "USD", "amount": 10000}]
    assert "content-location" not in profile.headers
    assert (len(items), pages) == (8, 4)
    assert [i["kind"] for i in items].count("order") == 3


def test_a_merged_id_answers_with_the_survivor(
    client: TestClient, tenant: Tenant, story: Story
) -> None:
    """The absorbed profile's id gives Ana's 360, saying which id was asked and where she is."""
    response = client.get(f"/v1/profiles/{story.absorbed}", headers=tenant.auth)

    assert response.status_code == 200
    assert (response.json()["id"], response.json()["requested_id"]) == (story.ana, story.absorbed)
    assert response.headers["content-location"] == f"/v1/profiles/{story.ana}"


BAD_READS = [
    ("/v1/profiles", 422, "invalid-input"),
    ("/v1/profiles?q=", 422, "invalid-input"),
    ("/v1/profiles?q=%20%20", 422, "invalid-input"),
    ("/v1/profiles?q=ana&limit=0", 422, "invalid-input"),
    ("/v1/profiles/cus_01NOPE", 404, "profile-not-found"),
    ("/v1/profiles/cus_01NOPE/timeline", 404, "profile-not-found"),
    ("/v1/profiles/{ana}/timeline?cursor=garbage", 422, "invalid-input"),
    ("/v1/profiles/{ana}/timeline?limit=201", 422, "invalid-input"),
]


def test_bad_reads_are_problems(client: TestClient, tenant: Tenant, story: Story) -> None:
    """No query, a blank one, a zero limit, an unknown profile, a forged cursor: 4xx
    problem+json with a slug, never a 500."""
    answers = [
        client.get(path.format(ana=story.ana), headers=tenant.auth) for path, *_ in BAD_READS
    ]

    assert [
        (a.status_code, a.headers["content-type"], a.json()["type"].rsplit("/", 1)[1])
        for a in answers
    ] == [(status, PROBLEM, slug) for _path, status, slug in BAD_READS]


def test_roles_decide_who_records_consent_exports_and_erases(
    client: TestClient, session: Session, tenant: Tenant, story: Story
) -> None:
    """Viewer and analyst read; a marketer records consent but cannot export or erase; only an
    admin does. Each refusal is a 403 that changes nothing."""
    viewer = bearer(session, tenant, Role.VIEWER)
    analyst = bearer(session, tenant, Role.ANALYST)
    marketer = bearer(session, tenant, Role.MARKETER)
    consents = f"/v1/profiles/{story.ana}/consents"

    refused = [
        client.post(consents, json=CONSENT, headers=viewer).status_code,
        client.post(consents, json=CONSENT, headers=analyst).status_code,
        client.get(f"/v1/profiles/{story.ana}/export", headers=marketer).status_code,
        client.post(f"/v1/profiles/{story.ana}/erase", headers=marketer).status_code,
    ]
    assert refused == [403, 403, 403, 403]
    assert (count(session, Consent), count(session, Erasure)) == (0, 0)
    recorded = client.post(consents, json=CONSENT, headers=marketer)
    listed = client.get(consents, headers=analyst)
    exported = client.get(f"/v1/profiles/{story.ana}/export", headers=tenant.auth)
    erased = client.post(
        f"/v1/profiles/{story.ana}/erase", json={"mode": "anonymise"}, headers=tenant.auth
    )

    assert recorded.status_code == 201
    assert recorded.json()["identifier_value"] == "ana.silva@example.com"
    assert [c["id"] for c in listed.json()["current"]] == [recorded.json()["id"]]
    assert exported.status_code == 200
    assert exported.headers["content-disposition"] == f'attachment; filename="{story.ana}.json"'
    assert json.loads(exported.text)["profile_id"] == story.ana
    assert erased.status_code == 200 and erased.json()["mode"] == "anonymise"
    assert client.get(f"/v1/profiles/{story.ana}", headers=tenant.auth).status_code == 404
    session.expire_all()
    actions = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.subject == story.ana, AuditEntry.action != "profile.viewed")
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["consent.recorded", "profile.exported", "profile.erased"]


BAD_CONSENTS = [
    ('{"identifier_type": "email",', 400, "malformed-json"),
    (json.dumps(CONSENT | {"status": "maybe"}), 422, "invalid-input"),
    (json.dumps(CONSENT | {"colour": "blue"}), 422, "invalid-input"),
    (json.dumps(CONSENT | {"purpose": "resale"}), 422, "invalid-input"),
    (json.dumps(CONSENT | {"identifier_value": "ben@example.com"}), 422, "invalid-input"),
    (json.dumps({k: v for k, v in CONSENT.items() if k != "source"}), 422, "invalid-input"),
    (json.dumps(CONSENT | {"wording": "yes\u0000"}), 422, "invalid-input"),
    (json.dumps(CONSENT | {"evidence": {"ip": ["\u0000"]}}), 422, "invalid-input"),
]


def test_a_bad_consent_is_a_problem_and_stores_nothing(
    client: TestClient, session: Session, tenant: Tenant, story: Story
) -> None:
    """Broken JSON, an unknown status, field or purpose, someone else's email, no source, a NUL
    character (which PostgreSQL cannot store) in the wording or the evidence."""
    headers = tenant.auth | {"Content-Type": "application/json"}

    answers = [
        client.post(f"/v1/profiles/{story.ana}/consents", content=body, headers=headers)
        for body, *_ in BAD_CONSENTS
    ]

    assert [
        (a.status_code, a.headers["content-type"], a.json()["type"].rsplit("/", 1)[1])
        for a in answers
    ] == [(status, PROBLEM, slug) for _body, status, slug in BAD_CONSENTS]
    assert count(session, Consent) == 0


def test_a_bad_erase_request_changes_nothing(
    client: TestClient, session: Session, tenant: Tenant, story: Story
) -> None:
    """An unknown mode is 422 and every profile is still there."""
    before = count(session, Profile)

    response = client.post(
        f"/v1/profiles/{story.ana}/erase", json={"mode": "shred"}, headers=tenant.auth
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert (count(session, Profile), count(session, Erasure)) == (before, 0)


def test_workspace_a_never_sees_or_changes_workspace_bs_customers(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    """Every /v1/profiles route with A's key against B's customer: 404 (or only A's own, for
    search), no id of B's in any answer, and B's rows exactly as they were."""
    b = make_tenant(session, "bravo")
    probes = profile_probes(session, b)
    session.commit()
    before = _rows_of(session, b.workspace_id)
    b_ids = {row["id"] for rows in before.values() for row in rows if "id" in row}

    answers = [client.request(p.method, p.path, headers=tenant.auth, json=p.json) for p in probes]

    session.expire_all()
    assert len(probes) == 7
    assert [a.status_code for a in answers] == [200, 404, 404, 404, 404, 404, 404]
    assert answers[0].json()["items"] == []
    echoed = [(p.path, a.text) for p, a in zip(probes, answers, strict=True)]
    assert [i for path, text in echoed for i in b_ids if i in text and i not in path] == []
    assert _rows_of(session, b.workspace_id) == before


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    q=st.text(max_size=40) | st.from_regex(r"[#+()0-9 .\-]{0,20}", fullmatch=True),
    cursor=st.none() | st.text(max_size=30),
)
def test_no_query_or_cursor_makes_a_500(
    client: TestClient, tenant: Tenant, story: Story, q: str, cursor: str | None
) -> None:
    """Whatever is typed into the search box or passed as a cursor: 200 or a 4xx problem."""
    found = client.get("/v1/profiles", params={"q": q}, headers=tenant.auth)
    params = {"cursor": cursor} if cursor is not None else {}
    page = client.get(f"/v1/profiles/{story.ana}/timeline", params=params, headers=tenant.auth)

    for response in (found, page):
        assert response.status_code in (200, 400, 404, 422), response.text
        if response.status_code != 200:
            assert response.headers["content-type"] == PROBLEM
