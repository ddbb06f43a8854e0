"""Feeds end to end inside one database: stock changes through the inventory service, the real
job worker, and the real HTTP clients against a local server speaking the channels' APIs."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import tessera.feed.tasks  # noqa: F401 - registers the feed jobs on the default registry
from tessera.config import Settings
from tessera.feed.domain import PUSH_JOB
from tessera.feed.errors import DuplicateFeed, InvalidFeed
from tessera.feed.push import FeedPusher
from tessera.feed.schemas import Buffers, FeedPatch
from tessera.feed.service import FeedService
from tessera.inventory.schemas import ReservationIn, ReservationLineIn
from tessera.inventory.service.reservations import ReservationService
from tessera.inventory.service.stock import StockService
from tessera.job.runner import Worker
from tessera.kit.time import utcnow
from tessera.models.feed import ChannelFeed, FeedAdapter, ListingFeedState, ListingFeedStatus
from tessera.models.job import Job, JobStatus
from tests.feed.world import (
    SHOPIFY_ITEM,
    SHOPIFY_KIT,
    SHOPIFY_LOCATION,
    World,
    build_world,
    feed_in,
)
from tests.integrations.fake_channels import ChannelState


def run_jobs(session_factory: sessionmaker[Session], settings: Settings) -> None:
    Worker(session_factory, settings, run_periodic=False).run_until_idle()


def state_of(session: Session, world: World, name: str) -> ListingFeedState:
    session.expire_all()
    state = session.scalar(
        select(ListingFeedState).where(ListingFeedState.listing_id == world.listings[name])
    )
    assert state is not None
    return state


BUFFERS = {
    "web": Buffers(safety_quantity=1),
    "amazon": Buffers(percentage=50),
    "tiktok_shop": Buffers(maximum=8),
}


@pytest.fixture
def world(session: Session, channel_url: str) -> World:
    built = build_world(session, channel_url, buffers=BUFFERS)
    session.commit()
    return built


def test_every_channel_gets_its_buffered_quantity_and_fba_nothing(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    world: World,
    channel: ChannelState,
) -> None:
    """Summed eligible locations, then buffers: web 15-1, kit 3-1, Amazon 50% of 10, TikTok
    capped at 8; the FBA offer is never patched."""
    run_jobs(session_factory, settings)

    assert channel.shopify == {
        (SHOPIFY_ITEM, SHOPIFY_LOCATION): 14,
        (SHOPIFY_KIT, SHOPIFY_LOCATION): 2,
    }
    assert channel.amazon == {"TEE-M-MFN": 5}
    assert channel.tiktok == {("1729", "9001", "wh-1"): 8}
    tee = state_of(session, world, "web-tee")
    assert (tee.status, tee.last_pushed_quantity, tee.push_count) == (ListingFeedStatus.OK, 14, 1)
    assert tee.last_lag_ms is not None and tee.last_lag_ms >= 0
    assert tee.pending_since is None
    fba = state_of(session, world, "amazon-fba")
    assert (fba.status, fba.push_count, fba.last_pushed_quantity) == (
        ListingFeedStatus.SKIPPED, 0, None,
    )  # fmt: skip


def test_only_a_changed_quantity_is_pushed_with_shopify_compare(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    world: World,
    channel: ChannelState,
) -> None:
    """A re-push sends nothing; one unit less is sent to Shopify (compared with 14) and
    Amazon, not to TikTok, whose cap of 8 still holds."""
    run_jobs(session_factory, settings)
    FeedService(session).request_push(world.workspace_id, world.feeds["web"])
    session.commit()
    run_jobs(session_factory, settings)
    assert len(channel.arrivals) == 4

    StockService(session).adjust(world.workspace_id, "TEE-M", "main", -1, "sold-1")
    session.commit()
    run_jobs(session_factory, settings)

    new = channel.arrivals[4:]
    assert sorted(a.vendor for a in new) == ["amazon", "shopify"]
    shopify = next(a for a in new if a.vendor == "shopify").body["variables"]["input"]
    assert shopify["quantities"][0]["quantity"] == 13
    assert shopify["quantities"][0]["changeFromQuantity"] == 14
    assert channel.amazon == {"TEE-M-MFN": 4}
    assert state_of(session, world, "tiktok-tee").last_pushed_quantity == 8


def test_a_push_never_raises_from_a_snapshot_taken_before_an_order(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    world: World,
    channel: ChannelState,
) -> None:
    """Pushes queued before a reservation committed send the quantity after it (Cin7's bug
    was pushing the older, higher one)."""
    run_jobs(session_factory, settings)
    FeedService(session).request_push(world.workspace_id, world.feeds["amazon"])
    session.commit()

    ReservationService(session).reserve(world.workspace_id, ReservationIn(
        channel="web", lines=[ReservationLineIn(sku="TEE-M", quantity=6)], idempotency_key="c-1",
    ))  # fmt: skip
    session.commit()
    run_jobs(session_factory, settings)

    amazon = [a.body["patches"][0]["value"][0]["quantity"] for a in channel.of("amazon")]
    assert amazon[0] == 5
    assert all(quantity <= amazon[0] for quantity in amazon[1:])
    assert channel.amazon["TEE-M-MFN"] == sellable_now(session, world, "amazon-tee")


def sellable_now(session: Session, world: World, name: str) -> int:
    service = FeedPusher(session)
    state = state_of(session, world, name)
    feed = session.get(ChannelFeed, state.feed_id)
    listing = service.repository.listing(world.workspace_id, world.listings[name])
    assert feed is not None and listing is not None
    return service.availability(world.workspace_id, feed, listing).quantity


def test_a_snapshot_older_than_the_newest_change_does_not_raise(
    session: Session, world: World, channel: ChannelState
) -> None:
    """With a change recorded after the snapshot (a clock ahead), a raise waits and is
    recomputed; a lowering is sent at once."""
    service = FeedPusher(session)
    first = service.push_listing(
        world.workspace_id, world.feeds["amazon"], world.listings["amazon-tee"]
    )
    StockService(session).adjust(world.workspace_id, "TEE-M", "main", 4, "more-1")

    raised = service.push_listing(
        world.workspace_id,
        world.feeds["amazon"],
        world.listings["amazon-tee"],
        changed_at=utcnow() + timedelta(minutes=1),
    )
    StockService(session).adjust(world.workspace_id, "TEE-M", "main", -8, "less-1")
    lowered = service.push_listing(
        world.workspace_id, world.feeds["amazon"], world.listings["amazon-tee"]
    )

    assert (first.result, first.quantity) == ("pushed", 5)
    assert (raised.result, raised.quantity) == ("stale", 7)
    assert (lowered.result, lowered.quantity) == ("pushed", 3)
    assert [a.body["patches"][0]["value"][0]["quantity"] for a in channel.of("amazon")] == [5, 3]


def test_a_429_waits_retry_after_and_pauses_the_feed(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    world: World,
    channel: ChannelState,
) -> None:
    """Amazon's 429 with Retry-After: 2 is recorded on the listing and pauses the feed: a
    push before then sends nothing; the retry afterwards, through the worker, succeeds."""
    channel.fail_next("amazon", 429, {"errors": [{"code": "QuotaExceeded"}]}, {"Retry-After": "2"})
    before = utcnow()

    limited = FeedPusher(session).push_listing(
        world.workspace_id, world.feeds["amazon"], world.listings["amazon-tee"]
    )
    paused = FeedPusher(session).push_listing(
        world.workspace_id, world.feeds["amazon"], world.listings["amazon-tee"]
    )
    session.commit()

    state = state_of(session, world, "amazon-tee")
    assert (limited.result, paused.result) == ("failed", "paused")
    assert (state.status, state.failure_count) == (ListingFeedStatus.RETRYING, 1)
    assert state.last_error is not None and "429" in state.last_error
    assert state.next_attempt_at is not None
    assert timedelta(seconds=2) <= state.next_attempt_at - before < timedelta(seconds=4)
    feed = session.get(ChannelFeed, world.feeds["amazon"])
    assert feed is not None and feed.paused_until == state.next_attempt_at
    assert [a.status for a in channel.of("amazon")] == [429]

    time.sleep(max(0.0, (state.next_attempt_at - utcnow()).total_seconds()) + 0.05)
    run_jobs(session_factory, settings)

    state = state_of(session, world, "amazon-tee")
    assert (state.status, state.last_pushed_quantity, state.failure_count) == (
        ListingFeedStatus.OK, 5, 0,
    )  # fmt: skip
    assert channel.amazon == {"TEE-M-MFN": 5}


def test_a_5xx_backs_off_like_a_job_and_a_refusal_is_not_retried(
    session: Session, world: World, channel: ChannelState
) -> None:
    """503: retrying with the job backoff (first ceiling 15 s); 401: failed, no retry queued."""
    service = FeedPusher(session, rng=random.Random(4))
    channel.fail_next("amazon", 503, {"errors": [{"code": "InternalFailure"}]})
    channel.fail_next("tiktok", 401, {"code": 105002, "message": "Invalid access token"})
    before = utcnow()

    unavailable = service.push_listing(
        world.workspace_id, world.feeds["amazon"], world.listings["amazon-tee"]
    )
    refused = service.push_listing(
        world.workspace_id, world.feeds["tiktok_shop"], world.listings["tiktok-tee"]
    )

    amazon, tiktok = state_of(session, world, "amazon-tee"), state_of(session, world, "tiktok-tee")
    assert (unavailable.result, amazon.status) == ("failed", ListingFeedStatus.RETRYING)
    assert amazon.next_attempt_at is not None
    assert timedelta(0) <= amazon.next_attempt_at - before <= timedelta(seconds=16)
    assert (refused.result, tiktok.status, tiktok.next_attempt_at) == (
        "failed", ListingFeedStatus.FAILED, None,
    )  # fmt: skip
    retries = session.scalars(
        select(Job).where(Job.kind == PUSH_JOB, Job.run_at > before + timedelta(milliseconds=1),
                          Job.status == JobStatus.QUEUED)
    ).all()  # fmt: skip
    assert [job.payload["listing_id"] for job in retries if job.run_at > utcnow()] == [
        world.listings["amazon-tee"]
    ]


def test_shopify_moved_by_itself_is_read_and_set_again(
    session: Session, world: World, channel: ChannelState
) -> None:
    """When Shopify holds another count than we set (its own sale), the stale compare is
    answered by reading it and setting ours against it."""
    service = FeedPusher(session)
    service.push_listing(world.workspace_id, world.feeds["web"], world.listings["web-tee"])
    channel.shopify[(SHOPIFY_ITEM, SHOPIFY_LOCATION)] = 12
    StockService(session).adjust(world.workspace_id, "TEE-M", "main", -2, "pos-1")

    outcome = service.push_listing(
        world.workspace_id, world.feeds["web"], world.listings["web-tee"]
    )

    assert (outcome.result, outcome.quantity) == ("pushed", 12)
    assert channel.shopify[(SHOPIFY_ITEM, SHOPIFY_LOCATION)] == 12
    sets = [
        a.body["variables"]["input"]["quantities"][0]["changeFromQuantity"]
        for a in channel.of("shopify")
        if "inventorySetQuantities" in a.body["query"]
    ]
    assert sets == [None, 14, 12]


def test_ring_fenced_units_are_hidden_from_the_channels_that_share_the_stock(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    world: World,
    channel: ChannelState,
) -> None:
    """Amazon ring-fences 4 units: web, sharing the warehouse, is pushed again and shows
    15 - 4 - 1 safety; TikTok (warehouse only) shows 10 - 4 = 6 under its cap of 8."""
    run_jobs(session_factory, settings)
    fence = FeedPatch(buffers=Buffers(percentage=50, ring_fenced=4))
    FeedService(session).update_feed(world.workspace_id, world.feeds["amazon"], fence)
    session.commit()

    run_jobs(session_factory, settings)

    assert channel.shopify[(SHOPIFY_ITEM, SHOPIFY_LOCATION)] == 10
    assert channel.tiktok == {("1729", "9001", "wh-1"): 6}
    assert channel.amazon == {"TEE-M-MFN": 5}


def test_feed_configuration_is_checked(session: Session, world: World, channel_url: str) -> None:
    """A second feed for a channel is a conflict; missing settings are named; nothing is saved."""
    service = FeedService(session)
    bare = feed_in("amazon", channel_url).model_copy(
        update={"channel": "amazon:eu", "settings": {}}
    )

    with pytest.raises(DuplicateFeed):
        service.create_feed(world.workspace_id, feed_in("web", channel_url))
    with pytest.raises(InvalidFeed) as missing:
        service.create_feed(world.workspace_id, bare)

    assert missing.value.detail == (
        "a amazon feed needs settings.seller_id, settings.marketplace_ids"
    )
    assert len(service.list_feeds(world.workspace_id)) == 3
    assert service.repository.feed_by_channel(world.workspace_id, "amazon:eu") is None


def test_fba_and_a_log_feed(session: Session, channel_url: str, channel: ChannelState) -> None:
    """Asking a feed to push marks FBA listings skipped; a log feed sends nothing anywhere."""
    world = build_world(session, channel_url, slug="logco", with_feeds=False)
    service = FeedService(session)
    amazon = service.create_feed(world.workspace_id, feed_in("amazon", channel_url))
    log_in = feed_in("web", channel_url).model_copy(
        update={"adapter": FeedAdapter.LOG, "settings": {}, "credentials": {}}
    )
    web = service.create_feed(world.workspace_id, log_in)

    pushed = FeedPusher(session).push_listing(world.workspace_id, web.id, world.listings["web-tee"])

    assert state_of(session, world, "amazon-fba").status is ListingFeedStatus.SKIPPED
    assert (pushed.result, pushed.quantity) == ("pushed", 15)
    assert amazon.is_enabled and channel.arrivals == []


def test_reconcile_pushes_again_what_is_unsettled(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    world: World,
    channel: ChannelState,
) -> None:
    """Never-pushed and failed listings are queued again; once all are pushed, none are."""
    service = FeedService(session)
    channel.fail_next("tiktok", 401, {"code": 105002, "message": "Invalid access token"})
    FeedPusher(session).push_listing(
        world.workspace_id, world.feeds["tiktok_shop"], world.listings["tiktok-tee"]
    )

    first = service.reconcile(utcnow())
    session.commit()
    run_jobs(session_factory, settings)
    second = FeedService(session).reconcile(utcnow())

    assert first == 4  # web-tee, web-kit and amazon-tee never pushed; tiktok-tee failed
    assert second == 0
    assert state_of(session, world, "tiktok-tee").status is ListingFeedStatus.OK
    assert channel.tiktok == {("1729", "9001", "wh-1"): 8}
