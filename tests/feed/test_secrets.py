"""Feed credentials are sealed in the database and opened only to push; a key that cannot open
them fails the push with an error naming the feed, and the API and CLI say so in one line."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

import tessera.feed.tasks  # noqa: F401 - registers the feed jobs on the default registry
from tessera.config import Settings
from tessera.db.types import JSONDocument
from tessera.feed.push import FeedPusher
from tessera.feed.schemas import FeedPatch
from tessera.feed.service import FeedService
from tessera.job.runner import Worker
from tessera.kit.secrets import SEALED, Keyring, SecretUnreadable
from tessera.models.feed import ListingFeedStatus
from tests.feed.test_cli import invoke
from tests.feed.test_service import state_of
from tests.feed.world import SHOPIFY_ITEM, SHOPIFY_LOCATION, build_world, feed_in
from tests.integrations.fake_channels import (
    AMAZON_TOKEN,
    SHOPIFY_TOKEN,
    TIKTOK_SECRET,
    TIKTOK_TOKEN,
    ChannelState,
)
from tests.support.factories import make_tenant

OLD = "old-secret-key-for-feeds-0123456789"
NEW = "new-secret-key-for-feeds-0123456789"
FEED = sa.table("channel_feed", sa.column("id"), sa.column("credentials", JSONDocument()))


def raw_credentials(session: Session, feed_id: str) -> str:
    """The column as the database holds it, read with plain SQL."""
    value = session.execute(
        sa.text("SELECT CAST(credentials AS TEXT) FROM channel_feed WHERE id = :id"),
        {"id": feed_id},
    ).scalar_one()
    return str(value)


def tamper(session: Session, feed_id: str) -> None:
    """Change one character of the stored token, as someone writing to the database would."""
    token = json.loads(raw_credentials(session, feed_id))[SEALED]
    middle = len(token) // 2
    altered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    session.execute(
        sa.update(FEED).where(FEED.c.id == feed_id).values(credentials={SEALED: altered})
    )
    session.commit()


def run_jobs(session_factory: sessionmaker[Session], settings: Settings) -> None:
    Worker(session_factory, settings, run_periodic=False).run_until_idle()


def test_credentials_are_stored_sealed_and_the_channels_still_accept_them(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    channel_url: str,
    channel: ChannelState,
) -> None:
    """No token is in the database; the worker opens them and every channel takes its push."""
    world = build_world(session, channel_url, slug="sealco")
    session.commit()

    raw = {name: raw_credentials(session, feed_id) for name, feed_id in world.feeds.items()}
    run_jobs(session_factory, settings)

    for stored in raw.values():
        assert list(json.loads(stored)) == [SEALED]
        for token in (SHOPIFY_TOKEN, AMAZON_TOKEN, TIKTOK_TOKEN, TIKTOK_SECRET):
            assert token not in stored
    assert channel.shopify[(SHOPIFY_ITEM, SHOPIFY_LOCATION)] == 15
    assert channel.amazon == {"TEE-M-MFN": 10}
    assert channel.tiktok == {("1729", "9001", "wh-1"): 10}


def test_after_the_key_changes_the_old_key_listed_as_previous_still_opens_them(
    session: Session, channel_url: str, channel: ChannelState
) -> None:
    """Sealed under OLD: NEW alone fails the push naming the feed; NEW with OLD as previous
    pushes; new credentials are then sealed under NEW, which OLD cannot open."""
    world = build_world(session, channel_url, slug="rotco", with_feeds=False)
    feed = FeedService(session, keyring=Keyring(OLD)).create_feed(
        world.workspace_id, feed_in("amazon", channel_url)
    )
    sealed_under_old = json.loads(raw_credentials(session, feed.id))
    listing_id = world.listings["amazon-tee"]

    refused = FeedPusher(session, keyring=Keyring(NEW)).push_listing(
        world.workspace_id, feed.id, listing_id
    )
    rotated = FeedService(session, keyring=Keyring(NEW, previous=[OLD]))
    pushed = FeedPusher(session, keyring=rotated.keyring).push_listing(
        world.workspace_id, feed.id, listing_id
    )
    rotated.update_feed(world.workspace_id, feed.id, FeedPatch(name="Amazon US"))
    unchanged = json.loads(raw_credentials(session, feed.id))
    rotated.update_feed(
        world.workspace_id, feed.id, FeedPatch(credentials={"access_token": AMAZON_TOKEN})
    )
    resaved = json.loads(raw_credentials(session, feed.id))

    assert refused.result == "failed"
    assert refused.error == (
        f"CredentialsUnreadable: the credentials of feed {feed.id} (amazon) cannot be "
        "decrypted: it was sealed under a key that is neither TESSERA_SECRET_KEY nor one of "
        "TESSERA_PREVIOUS_SECRET_KEYS, or it was altered in the database"
    )
    assert (pushed.result, pushed.quantity) == ("pushed", 10)
    assert channel.amazon == {"TEE-M-MFN": 10}
    assert unchanged == sealed_under_old
    assert Keyring(NEW).open(resaved, "it") == {"access_token": AMAZON_TOKEN}
    with pytest.raises(SecretUnreadable):
        Keyring(OLD).open(resaved, "it")
    with pytest.raises(SecretUnreadable):
        Keyring(NEW).open(sealed_under_old, "it")


def test_resealing_moves_every_feed_to_the_current_key_or_changes_nothing(
    session: Session, channel_url: str
) -> None:
    """reseal_credentials rewrites each feed under NEW; a feed no key opens stops it, named,
    and nothing is rewritten until that feed is given new credentials."""
    world = build_world(session, channel_url, slug="resealco", with_feeds=False)
    old = FeedService(session, keyring=Keyring(OLD))
    web, amazon = (old.create_feed(world.workspace_id, feed_in(ch, channel_url)).id
                   for ch in ("web", "amazon"))  # fmt: skip
    stranger = FeedService(session, keyring=Keyring("a-key-nobody-configured-0123456789"))
    tiktok = stranger.create_feed(world.workspace_id, feed_in("tiktok_shop", channel_url)).id
    session.commit()
    before = [raw_credentials(session, feed_id) for feed_id in (web, amazon, tiktok)]
    rotated = FeedService(session, keyring=Keyring(NEW, previous=[OLD]))

    with pytest.raises(SecretUnreadable) as refused:
        rotated.reseal_credentials()
    session.rollback()
    after_refusal = [raw_credentials(session, feed_id) for feed_id in (web, amazon, tiktok)]
    rotated.update_feed(world.workspace_id, tiktok, FeedPatch(
        credentials={"access_token": TIKTOK_TOKEN, "app_secret": TIKTOK_SECRET}))  # fmt: skip
    resealed = rotated.reseal_credentials()

    assert refused.value.detail.startswith(
        f"the credentials of feed {tiktok} (tiktok_shop) cannot be decrypted"
    )
    assert after_refusal == before
    assert resealed == 3
    opened = [
        Keyring(NEW).open(json.loads(raw_credentials(session, feed_id)), "it")
        for feed_id in (web, amazon, tiktok)
    ]
    assert opened == [
        {"access_token": SHOPIFY_TOKEN},
        {"access_token": AMAZON_TOKEN},
        {"access_token": TIKTOK_TOKEN, "app_secret": TIKTOK_SECRET},
    ]


def test_altered_credentials_fail_the_push_naming_the_feed_and_the_api_still_answers(
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    channel_url: str,
    channel: ChannelState,
) -> None:
    """The worker records the refusal on the listing (failed, not retried); the feed is still
    listed with has_credentials true and its last error; the other feeds push as ever."""
    tenant = make_tenant(session, "tamperco")
    world = build_world(session, channel_url, workspace_id=tenant.workspace_id)
    session.commit()
    amazon = world.feeds["amazon"]
    tamper(session, amazon)

    run_jobs(session_factory, settings)
    one = client.get(f"/v1/feeds/{amazon}", headers=tenant.auth)
    listed = client.get("/v1/feeds", headers=tenant.auth)

    state = state_of(session, world, "amazon-tee")
    assert (state.status, state.next_attempt_at) == (ListingFeedStatus.FAILED, None)
    assert state.last_error is not None
    assert state.last_error.startswith(
        f"CredentialsUnreadable: the credentials of feed {amazon} (amazon) cannot be decrypted"
    )
    assert channel.amazon == {}
    assert channel.tiktok == {("1729", "9001", "wh-1"): 10}
    assert one.status_code == 200 and listed.status_code == 200
    body = one.json()
    assert (body["failing"], body["feed"]["has_credentials"]) == (1, True)
    assert body["last_error"] == state.last_error
    assert "credentials" not in body["feed"] and AMAZON_TOKEN not in listed.text


def test_the_cli_says_why_a_push_failed_and_reseal_names_the_feed_it_cannot_open(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    channel_url: str,
    channel: ChannelState,
) -> None:
    """push --now prints the refusal; reseal stops with one red line and exit code 1, then
    reseals all three once the altered feed has new credentials."""
    world = build_world(session, channel_url, slug="cliseal")
    session.commit()
    tamper(session, world.feeds["amazon"])

    code_push, out_push = invoke(settings, session_factory, "push", "amazon", "-w", "cliseal",
                                 "--now")  # fmt: skip
    code_refused, out_refused = invoke(settings, session_factory, "reseal")
    FeedService(session).update_feed(
        world.workspace_id, world.feeds["amazon"], FeedPatch(credentials={"access_token": "t"})
    )
    session.commit()
    code_resealed, out_resealed = invoke(settings, session_factory, "reseal")

    printed = [line for line in out_push.splitlines() if "feed_push_failed" not in line]
    assert code_push == 0
    assert printed[:2] == ["queued 1 listing push(es) on amazon", "1 failed"]
    assert printed[2].startswith(
        f"failed (1): CredentialsUnreadable: the credentials of feed {world.feeds['amazon']} "
        "(amazon) cannot be decrypted"
    )
    assert code_refused == 1
    assert out_refused.startswith(
        f"error: the credentials of feed {world.feeds['amazon']} (amazon) cannot be decrypted"
    )
    assert "Traceback" not in out_refused
    assert (code_resealed, out_resealed) == (
        0, "sealed the credentials of 3 feed(s) under the current key\n",
    )  # fmt: skip
    assert channel.amazon == {}
