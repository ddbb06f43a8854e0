"""Discovery over a small roster: filters narrow, relevance ranks by meaning as well as words,
lookalikes follow the seeds, the fit score lists its parts, and the safety screen names the
terms it found."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.creator.world import CSV
from tests.support.factories import Tenant, make_tenant


@pytest.fixture
def tenant(session: Session, client: TestClient) -> Tenant:
    tenant = make_tenant(session, "acme")
    session.commit()
    response = client.post("/v1/creators/import", json={"csv": CSV}, headers=tenant.auth)
    assert response.json()["imported"] == 7, response.text
    return tenant


def search(client: TestClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/creators/search", json=body, headers=tenant.auth)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def names(result: dict[str, Any]) -> list[str]:
    return [item["creator"]["name"] for item in result["items"]]


def test_filters_narrow_by_platform_followers_engagement_country_niche_and_status(
    client: TestClient, tenant: Tenant
) -> None:
    """Each filter keeps exactly the creators it should; without a query, biggest first."""
    assert names(search(client, tenant)) == [
        "Tyler Brooks", "Lea Martin", "Priya Nair", "Marco Ruiz", "Sofia Rossi",
        "Jonas Berg", "Ana Okafor",
    ]  # fmt: skip
    assert names(search(client, tenant, platform="youtube")) == [
        "Tyler Brooks", "Priya Nair", "Jonas Berg"]  # fmt: skip
    mid_tiktok = search(client, tenant, platform="tiktok", min_followers=50_000,
                        max_followers=600_000)  # fmt: skip
    assert names(mid_tiktok) == ["Lea Martin", "Marco Ruiz", "Sofia Rossi"]
    assert names(search(client, tenant, min_engagement=0.055)) == [
        "Lea Martin", "Priya Nair", "Ana Okafor"]  # fmt: skip
    assert names(search(client, tenant, country="us", min_country_share=0.3)) == [
        "Tyler Brooks", "Marco Ruiz", "Ana Okafor"]  # fmt: skip
    assert names(search(client, tenant, niches=["Vegan"], statuses=["active"])) == [
        "Sofia Rossi", "Ana Okafor"]  # fmt: skip
    assert search(client, tenant, niches=["knitting"]) == {"total": 0, "items": []}


def test_relevance_fuses_words_and_meaning(client: TestClient, tenant: Tenant) -> None:
    """ "plant-based desserts" ranks the vegan baker first, then the vegan cook and the
    pastry chef; "croissant pastry" finds Lea first by word and by meaning; "cosmetics" and
    "backpacking" (words nobody writes) find the skincare reviewer and the wild camper by
    meaning alone; "knitting"
    finds nobody."""
    desserts = search(client, tenant, query="plant-based desserts", limit=3)
    pastry = search(client, tenant, query="croissant pastry", limit=1)
    cosmetics = search(client, tenant, query="cosmetics")
    backpacking = search(client, tenant, query="backpacking")
    knitting = search(client, tenant, query="knitting")

    assert names(desserts)[0] == "Ana Okafor"
    assert set(names(desserts)[1:]) == {"Lea Martin", "Sofia Rossi"}
    assert desserts["items"][0]["relevance"] == 1.0
    assert names(pastry) == ["Lea Martin"]
    assert pastry["items"][0]["bm25_rank"] == 1 and pastry["items"][0]["semantic_rank"] == 1
    assert names(cosmetics) == ["Priya Nair"] and names(backpacking) == ["Jonas Berg"]
    assert cosmetics["items"][0]["bm25_rank"] is None
    assert cosmetics["items"][0]["semantic_rank"] == 1
    assert knitting == {"total": 0, "items": []}


def test_the_fit_score_explains_itself_and_safety_names_its_terms(
    client: TestClient, tenant: Tenant
) -> None:
    """Each part has a weight, a score and a reason, and they add up to the score; Tyler's
    casino, poker and drunk are flagged and cost 10 points each, as is a brand's own term."""
    result = search(client, tenant, query="vegan", country="CA", niches=["vegan"], limit=1)
    flagged = search(client, tenant, query="poker streamer", avoid_terms=["Energy drinks"],
                     limit=1)  # fmt: skip

    ana = result["items"][0]
    assert ana["creator"]["name"] == "Ana Okafor"
    assert [(p["name"], p["weight"]) for p in ana["fit_parts"]] == [
        ("relevance", 0.35), ("niche", 0.2), ("audience", 0.2), ("engagement", 0.15),
        ("size", 0.1)]  # fmt: skip
    assert ana["fit_parts"][2]["reason"] == "58% of the audience in CA (50 % or more is full)"
    assert ana["fit_score"] == pytest.approx(sum(p["points"] for p in ana["fit_parts"]), abs=0.2)
    assert ana["safety_flags"] == []
    tyler = flagged["items"][0]
    assert tyler["creator"]["name"] == "Tyler Brooks"
    assert {(f["category"], f["term"]) for f in tyler["safety_flags"]} == {
        ("alcohol", "drunk"), ("gambling", "casino"), ("gambling", "poker"),
        ("gambling", "slots"), ("custom", "energy drinks")}  # fmt: skip
    assert tyler["fit_parts"][-1]["name"] == "safety"
    assert tyler["fit_parts"][-1]["points"] == -50.0


def test_lookalikes_follow_the_seeds(client: TestClient, tenant: Tenant) -> None:
    """Like Ana (vegan baking), the other bakers and vegan cook come first, Ana left out;
    an unknown seed is a 404 naming it."""
    listing = client.get("/v1/creators", headers=tenant.auth).json()["items"]
    ana = next(c["id"] for c in listing if c["name"] == "Ana Okafor")

    response = client.post("/v1/creators/lookalikes", json={"creator_ids": [ana], "limit": 2},
                           headers=tenant.auth)  # fmt: skip
    two = {"creator_ids": [ana, "crt_nobody"]}
    missing = client.post("/v1/creators/lookalikes", json=two, headers=tenant.auth)

    assert response.status_code == 200, response.text
    assert set(names(response.json())) == {"Sofia Rossi", "Lea Martin"}
    assert missing.status_code == 404
    assert missing.json()["field"] == "creator_ids.1"


def test_a_change_is_found_by_the_next_search(client: TestClient, tenant: Tenant) -> None:
    """A bio rewritten to be about knitting is found for "knitting" right away."""
    assert names(search(client, tenant, query="knitting")) == []
    listing = client.get("/v1/creators", headers=tenant.auth).json()["items"]
    jonas = next(c["id"] for c in listing if c["name"] == "Jonas Berg")

    client.patch(f"/v1/creators/{jonas}", json={"bio": "Knitting wool sweaters by the fire."},
                 headers=tenant.auth)  # fmt: skip

    assert names(search(client, tenant, query="knitting", limit=1)) == ["Jonas Berg"]
