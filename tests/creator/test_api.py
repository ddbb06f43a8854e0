"""The creators API: add, read, change and remove a creator; duplicates refused naming the
creator they repeat; hostile input (NUL bytes, huge follower counts, unknown countries)
answered 4xx naming the field with nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.models.creator import Creator
from tests.support.factories import Tenant, make_tenant

ANA: dict[str, Any] = {
    "name": "Ana Okafor",
    "email": "ana@okafor.studio",
    "bio": "Vegan baker in Toronto.",
    "niches": ["baking", "vegan"],
    "audience_countries": {"CA": 0.58, "us": 0.3},
    "audience_ages": {"18-24": 0.4, "25-34": 0.45},
    "rates": {"tiktok_video": 45000},
    "currency": "CAD",
    "accounts": [
        {"platform": "TikTok", "handle": "@Ana.Bakes", "followers": 48200,
         "engagement_rate": 0.061},
        {"platform": "instagram", "handle": "https://www.instagram.com/ana.bakes/"},
    ],
}  # fmt: skip


@pytest.fixture
def tenant(session: Session) -> Tenant:
    tenant = make_tenant(session, "acme")
    session.commit()
    return tenant


def stored(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(Creator)) or 0)


def test_a_creator_is_added_read_changed_and_removed(client: TestClient, tenant: Tenant) -> None:
    """Handles are kept without the @ and URL; the list pages; a change replaces accounts."""
    created = client.post("/v1/creators", json=ANA, headers=tenant.auth)
    creator_id = created.json()["id"]
    changed = client.patch(
        f"/v1/creators/{creator_id}",
        json={"status": "active", "accounts": [{"platform": "youtube", "handle": "AnaBakes"}]},
        headers=tenant.auth,
    )
    listed = client.get("/v1/creators", params={"status": "active"}, headers=tenant.auth)
    deleted = client.delete(f"/v1/creators/{creator_id}", headers=tenant.auth)
    gone = client.get(f"/v1/creators/{creator_id}", headers=tenant.auth)

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["audience_countries"] == {"CA": 0.58, "US": 0.3}
    assert [(a["platform"], a["handle"], a["url"], a["followers"]) for a in body["accounts"]] == [
        ("instagram", "ana.bakes", "https://www.instagram.com/ana.bakes/", 0),
        ("tiktok", "Ana.Bakes", None, 48200),
    ]
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "active"
    assert [a["platform"] for a in changed.json()["accounts"]] == ["youtube"]
    assert [c["id"] for c in listed.json()["items"]] == [creator_id]
    assert deleted.status_code == 204
    assert gone.status_code == 404 and gone.json()["field"] == "creator_id"


def test_duplicates_are_refused_naming_the_field_and_the_creator(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """The TikTok handle as a URL in capitals, or the email in capitals, is Ana's: 409."""
    ana = client.post("/v1/creators", json=ANA, headers=tenant.auth).json()["id"]
    by_handle = {**ANA, "email": None, "accounts": [
        {"platform": "tiktok", "handle": "https://www.tiktok.com/@ANA.BAKES?lang=en"}]}  # fmt: skip
    by_email = {**ANA, "email": "ANA@OKAFOR.STUDIO",
                "accounts": [{"platform": "tiktok", "handle": "someone.else"}]}  # fmt: skip

    handle = client.post("/v1/creators", json=by_handle, headers=tenant.auth)
    email = client.post("/v1/creators", json=by_email, headers=tenant.auth)

    assert handle.status_code == 409
    assert (handle.json()["field"], handle.json()["existing_id"]) == ("accounts.0.handle", ana)
    assert email.status_code == 409
    assert (email.json()["field"], email.json()["existing_id"]) == ("email", ana)
    assert stored(session) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "Ana\x00"}, "name"),
        ({"accounts": [{"platform": "tiktok", "handle": "ana", "followers": 10**30}]},
         "followers"),
        ({"accounts": [{"platform": "tiktok", "handle": "ana", "followers": -1}]}, "followers"),
        ({"accounts": [{"platform": "tiktok", "handle": "ana", "engagement_rate": 3}]},
         "engagement_rate"),
        ({"accounts": [{"platform": "myspace", "handle": "ana"}]}, "platform"),
        ({"accounts": [{"platform": "tiktok", "handle": "a b"}]}, "accounts"),
        ({"accounts": [{"platform": "tiktok", "handle": "https://instagram.com/ana"}]},
         "accounts"),
        ({"audience_countries": {"ZZ": 0.5}}, "audience_countries"),
        ({"audience_countries": {"USA": 0.5}}, "audience_countries"),
        ({"audience_countries": {"US": 0.8, "CA": 0.5}}, "audience_countries"),
        ({"audience_ages": {"0-12": 0.5}}, "audience_ages"),
        ({"rates": {"video": 10**20}}, "rates"),
        ({"email": "not-an-email"}, "email"),
    ],
)  # fmt: skip
def test_hostile_input_is_refused_naming_the_field(
    client: TestClient, tenant: Tenant, session: Session, change: dict[str, Any], field: str
) -> None:
    """Each is a 422 problem naming its field, and no creator is stored."""
    response = client.post("/v1/creators", json={**ANA, **change}, headers=tenant.auth)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.text
    assert stored(session) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"min_followers": 10**30},
        {"country": "XX"},
        {"country": "U\x00"},
        {"min_country_share": 2},
        {"query": "vegan\x00"},
        {"platform": "myspace"},
        {"statuses": ["famous"]},
        {"limit": 10**9},
    ],
)
def test_hostile_searches_are_refused(
    client: TestClient, tenant: Tenant, body: dict[str, Any]
) -> None:
    """Out-of-range numbers, unknown codes and NUL bytes in a search are 422."""
    response = client.post("/v1/creators/search", json=body, headers=tenant.auth)

    assert response.status_code == 422, response.text


def test_an_import_without_a_name_column_is_refused_and_bad_rows_reported(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """No header named "name" is a 422 naming csv; a row with 1e400 followers is a row error."""
    no_name = client.post("/v1/creators/import", json={"csv": "handle,tiktok\nx,y\n"},
                          headers=tenant.auth)  # fmt: skip
    rows = client.post(
        "/v1/creators/import",
        json={"csv": "name,tiktok,tiktok_followers\nBig,big.one,1e400\nOk,ok.one,12k\n"},
        headers=tenant.auth,
    )

    assert no_name.status_code == 422 and no_name.json()["field"] == "csv"
    assert rows.status_code == 200, rows.text
    assert rows.json() == {
        "imported": 1, "linked": 0, "duplicates": [],
        "errors": [{"line": 2, "field": "tiktok_followers",
                    "detail": "'1e400' is not a count (48200, 48.2k, 1.2M)",
                    "existing_id": None}],
    }  # fmt: skip
    assert stored(session) == 1


def test_another_workspaces_creator_is_not_found(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """Bravo's key cannot read, change, delete or seed lookalikes from Acme's creator."""
    bravo = make_tenant(session, "bravo")
    session.commit()
    ana = client.post("/v1/creators", json=ANA, headers=tenant.auth).json()["id"]

    answers = [
        client.get(f"/v1/creators/{ana}", headers=bravo.auth),
        client.patch(f"/v1/creators/{ana}", json={"notes": "x"}, headers=bravo.auth),
        client.delete(f"/v1/creators/{ana}", headers=bravo.auth),
        client.post("/v1/creators/lookalikes", json={"creator_ids": [ana]}, headers=bravo.auth),
    ]

    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert client.post("/v1/creators/search", json={}, headers=bravo.auth).json() == {
        "total": 0, "items": []}  # fmt: skip
