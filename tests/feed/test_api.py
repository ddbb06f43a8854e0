"""``/v1/feeds``: configure a channel's feed, read its status per listing, push, preview."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

import tessera.feed.tasks  # noqa: F401 - registers the feed jobs on the default registry
from tessera.config import Settings
from tessera.feed.service import FeedService
from tessera.job.runner import Worker
from tessera.models.workspace import ApiKeyKind, Role
from tessera.workspace.service import WorkspaceService
from tests.feed.world import World, build_world, feed_in
from tests.integrations.fake_channels import ChannelState
from tests.support.factories import Tenant, make_tenant


@pytest.fixture
def tenant(session: Session) -> Tenant:
    return make_tenant(session, "apico")


@pytest.fixture
def world(session: Session, tenant: Tenant, channel_url: str) -> World:
    built = build_world(session, channel_url, with_feeds=False, workspace_id=tenant.workspace_id)
    session.commit()
    return built


def test_a_feed_is_created_pushed_and_reported(
    client: TestClient,
    session_factory: sessionmaker[Session],
    settings: Settings,
    tenant: Tenant,
    world: World,
    channel_url: str,
    channel: ChannelState,
) -> None:
    """POST a feed, let the worker push, then read the feed, its listings and a preview."""
    body = feed_in("amazon", channel_url).model_dump(mode="json")
    body["buffers"] = {"percentage": 50}

    created = client.post("/v1/feeds", json=body, headers=tenant.auth)
    Worker(session_factory, settings, run_periodic=False).run_until_idle()
    feed_id = created.json()["id"]
    listed = client.get("/v1/feeds", headers=tenant.auth)
    one = client.get(f"/v1/feeds/{feed_id}", headers=tenant.auth)
    listings = client.get(f"/v1/feeds/{feed_id}/listings", headers=tenant.auth)
    preview = client.get(f"/v1/feeds/{feed_id}/availability?sku=TEE-M", headers=tenant.auth)

    assert created.status_code == 201
    assert "credentials" not in created.json() and created.json()["has_credentials"] is True
    assert [f["feed"]["channel"] for f in listed.json()["items"]] == ["amazon"]
    status = one.json()
    assert (status["listings"], status["failing"], status["by_status"]["ok"]) == (2, 0, 1)
    assert status["by_status"]["skipped"] == 1 and status["last_lag_ms"] is not None
    rows = {row["external_id"]: row for row in listings.json()["items"]}
    assert (rows["TEE-M-MFN"]["sku"], rows["TEE-M-MFN"]["last_pushed_quantity"]) == ("TEE-M", 5)
    assert rows["TEE-M-FBA"]["status"] == "skipped"
    assert channel.amazon == {"TEE-M-MFN": 5}
    mfn = next(r for r in preview.json() if r["listing_id"] == rows["TEE-M-MFN"]["listing_id"])
    assert (mfn["available"], mfn["quantity"], mfn["last_pushed_quantity"]) == (10, 5, 5)


def test_patching_buffers_pushes_again_and_push_queues(
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    tenant: Tenant,
    world: World,
    channel_url: str,
    channel: ChannelState,
) -> None:
    """New buffers are pushed at once; POST push queues the listings of the SKUs named."""
    created = client.post(
        "/v1/feeds",
        json=feed_in("amazon", channel_url).model_dump(mode="json"),
        headers=tenant.auth,
    )
    feed_id = created.json()["id"]
    Worker(session_factory, settings, run_periodic=False).run_until_idle()

    patched = client.patch(
        f"/v1/feeds/{feed_id}", json={"buffers": {"safety_quantity": 3}}, headers=tenant.auth
    )
    Worker(session_factory, settings, run_periodic=False).run_until_idle()
    pushed = client.post(f"/v1/feeds/{feed_id}/push", json={"skus": ["TEE-M"]}, headers=tenant.auth)

    assert patched.status_code == 200 and patched.json()["buffers"]["safety_quantity"] == 3
    audit = WorkspaceService(session).audit_log(tenant.workspace_id).items
    assert [(e.action, e.subject, e.actor) for e in audit if e.action.startswith("feed.")] == [
        ("feed.updated", feed_id, tenant.admin_key_id),
        ("feed.created", feed_id, tenant.admin_key_id),
    ]
    assert [a.body["patches"][0]["value"][0]["quantity"] for a in channel.of("amazon")] == [10, 7]
    assert pushed.status_code == 202 and pushed.json() == {"feed_id": feed_id, "listings": 1}


def test_bad_feeds_are_refused_with_problems_and_change_nothing(
    client: TestClient, session: Session, tenant: Tenant, world: World, channel_url: str
) -> None:
    """Bad buffers, missing settings, an unknown adapter, a viewer key, an unknown feed or SKU."""
    good = feed_in("amazon", channel_url).model_dump(mode="json")
    viewer = WorkspaceService(session).create_api_key(
        tenant.workspace_id, ApiKeyKind.SECRET, "viewer", Role.VIEWER
    )[1]
    session.commit()

    negative = client.post("/v1/feeds", json={**good, "buffers": {"percentage": 120}},
                           headers=tenant.auth)  # fmt: skip
    missing = client.post("/v1/feeds", json={**good, "settings": {}}, headers=tenant.auth)
    adapter = client.post("/v1/feeds", json={**good, "adapter": "ebay"}, headers=tenant.auth)
    scheme = client.post("/v1/feeds", json={**good, "settings": {**good["settings"],
                         "base_url": "file:///etc/passwd"}}, headers=tenant.auth)  # fmt: skip
    junk = client.post("/v1/feeds", json={**good, "settings": {**good["settings"],
                       "marketplace_ids": 5}}, headers=tenant.auth)  # fmt: skip
    denied = client.post("/v1/feeds", json=good, headers={"Authorization": f"Bearer {viewer}"})
    unknown = client.get("/v1/feeds/fed_01ABCDEFGHJKMNPQRSTVWXYZ01", headers=tenant.auth)

    assert (negative.status_code, missing.status_code, adapter.status_code) == (422, 422, 422)
    assert (scheme.status_code, junk.status_code) == (422, 422)
    assert scheme.json()["detail"] == "settings.base_url must be an http(s) URL"
    assert negative.headers["content-type"] == "application/problem+json"
    assert missing.json()["type"].endswith("/invalid-feed")
    assert missing.json()["detail"] == (
        "a amazon feed needs settings.seller_id, settings.marketplace_ids"
    )
    assert denied.status_code == 403
    assert unknown.status_code == 404 and unknown.json()["type"].endswith("/feed-not-found")
    assert FeedService(session).list_feeds(tenant.workspace_id) == []

    feed_id = client.post("/v1/feeds", json=good, headers=tenant.auth).json()["id"]
    duplicate = client.post("/v1/feeds", json=good, headers=tenant.auth)
    bad_sku = client.post(f"/v1/feeds/{feed_id}/push", json={"skus": ["NOPE"]}, headers=tenant.auth)

    assert duplicate.status_code == 409 and duplicate.json()["type"].endswith("/duplicate-feed")
    assert bad_sku.status_code == 404 and bad_sku.json()["type"].endswith("/unknown-sku")
