"""Pushes of one listing racing each other and a stream of sales on PostgreSQL: the channel
only ever goes down while stock only goes down, and ends at the true quantity."""

from __future__ import annotations

import threading

import pytest

from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.feed.push import FeedPusher
from tessera.inventory.service.stock import StockService
from tests.feed.world import SHOPIFY_ITEM, SHOPIFY_LOCATION, build_world
from tests.integrations.fake_channels import ChannelState


@pytest.mark.postgres_only
def test_racing_pushes_never_raise_the_channel(
    postgres_url: str, channel_url: str, channel: ChannelState
) -> None:
    """Four threads push TEE-M to Shopify while a fifth sells ten units, one per transaction."""
    engine = make_engine(postgres_url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        world = build_world(session, channel_url, slug="raceco")
    errors: list[BaseException] = []
    start = threading.Barrier(5)

    def push() -> None:
        start.wait()
        for _ in range(8):
            try:
                with session_scope(factory) as session:
                    FeedPusher(session).push_listing(
                        world.workspace_id, world.feeds["web"], world.listings["web-tee"]
                    )
            except BaseException as exc:
                errors.append(exc)

    def sell() -> None:
        start.wait()
        for number in range(10):
            with session_scope(factory) as session:
                StockService(session).adjust(
                    world.workspace_id, "TEE-M", "main", -1, f"sale-{number}"
                )

    threads = [threading.Thread(target=push) for _ in range(4)] + [threading.Thread(target=sell)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with session_scope(factory) as session:
        FeedPusher(session).push_listing(
            world.workspace_id, world.feeds["web"], world.listings["web-tee"]
        )
    engine.dispose()

    sets = [
        a.body["variables"]["input"]["quantities"][0]
        for a in channel.of("shopify")
        if "inventorySetQuantities" in a.body["query"]
        and a.body["variables"]["input"]["quantities"][0]["inventoryItemId"] == SHOPIFY_ITEM
    ]
    sent = [q["quantity"] for q in sets]
    assert errors == []
    assert sent == sorted(sent, reverse=True)  # never raised
    assert [q["changeFromQuantity"] for q in sets] == [None, *sent[:-1]]  # no stale compare
    assert channel.shopify[(SHOPIFY_ITEM, SHOPIFY_LOCATION)] == 15 - 10
