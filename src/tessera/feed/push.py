"""Pushing stock to channels: from a stock change to one push per listing. Never commits:
the caller's scope does.

How a stock change reaches a channel:

1. The inventory service enqueues ``stock.availability_changed`` ({"variant_ids", "changed_at"})
   in the transaction that changed the stock, so the job exists if and only if the change does.
2. ``on_stock_changed`` (a worker job) finds the listings of those variants, and of the bundles
   made of them, on channels with an enabled feed; it remembers the change time on each
   listing's state and enqueues one ``feed.push_requested`` job per listing.
3. ``push_listing`` (a worker job per listing) locks the listing's state row, computes the
   quantity *now* from current balances (never from a number carried in a job: a snapshot
   taken before an order arrived would list units already sold, the Cin7 bug), applies the
   feed's buffers, and sends it only if it differs from what the channel was last given.
   A raise computed from a snapshot older than the newest stock change is refused and
   recomputed. Shopify gets a compare-and-set against the quantity we last set.
4. Failures are recorded on the listing (last error, count) and retried by a new job: after
   ``Retry-After`` for a 429 (and the whole feed pauses until then), with the job system's
   exponential backoff otherwise, up to 8 attempts; a refusal (bad token, unknown item) is not
   retried until the next stock change. FBA listings are Amazon's stock and never pushed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tessera.catalog.service import CatalogService
from tessera.feed import channels, domain
from tessera.feed.domain import BufferRule, PushDecision
from tessera.feed.repository import FeedRepository
from tessera.feed.service import FeedService, is_pushable
from tessera.integrations.stock_push import PushFailed, RateLimited
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.stock import StockService
from tessera.kit.logging import get_logger
from tessera.kit.secrets import Keyring, SecretUnreadable
from tessera.kit.time import utcnow
from tessera.models.catalog import ChannelListing
from tessera.models.feed import ChannelFeed, ListingFeedState, ListingFeedStatus

STALE_RECHECK = timedelta(seconds=1)
ERROR_MAX_CHARS = 2000

log = get_logger("tessera.feed")


@dataclass(frozen=True, slots=True)
class Availability:
    """What a channel may show for one listing, and the numbers it came from."""

    listing_id: str
    variant_id: str
    channel: str
    by_location: dict[str, int]
    available: int
    fenced_for_others: int
    quantity: int


@dataclass(frozen=True, slots=True)
class PushOutcome:
    """What one push job did: pushed, unchanged, stale, skipped, failed, paused or disabled."""

    result: str
    quantity: int | None = None
    error: str | None = None


class FeedPusher:
    """Queues and runs the pushes of feeds' listings; the feeds themselves are FeedService's."""

    def __init__(
        self,
        session: Session,
        rng: random.Random | None = None,
        keyring: Keyring | None = None,
    ) -> None:
        self.session = session
        self.repository = FeedRepository(session)
        self.feeds = FeedService(session, keyring=keyring)
        self.rng = rng or random.Random()

    # Computing availability --------------------------------------------------------------------

    def availability(
        self, workspace_id: str, feed: ChannelFeed, listing: ChannelListing
    ) -> Availability:
        """The quantity ``feed`` should show for ``listing`` from the balances as they are now.

        Sums what each location feeding the channel can sell of the variant (a bundle from its
        components, as the inventory service computes it), takes out the units other channels
        sharing those locations have ring-fenced, and applies the feed's buffers.
        """
        locations_by_channel = {
            channel: [location.id for _rank, location in ranked]
            for channel, ranked in LocationService(self.session).channel_feeds(workspace_id).items()
        }
        locations = locations_by_channel.get(feed.channel, [])
        sellable = (
            StockService(self.session).sellable_by_location(
                workspace_id, [listing.variant_id], locations
            )
            if locations
            else {}
        )
        by_location = {loc: max(0, sellable.get((listing.variant_id, loc), 0)) for loc in locations}
        available = sum(by_location.values())
        mine = set(locations)
        fenced = sum(
            other.ring_fenced
            for other in self.repository.feeds(workspace_id, enabled_only=True)
            if other.id != feed.id
            and other.ring_fenced > 0
            and mine & set(locations_by_channel.get(other.channel, []))
        )
        quantity = domain.sellable(available, _rule(feed), fenced)
        return Availability(
            listing_id=listing.id,
            variant_id=listing.variant_id,
            channel=feed.channel,
            by_location=by_location,
            available=available,
            fenced_for_others=fenced,
            quantity=quantity,
        )

    def preview(
        self, workspace_id: str, feed_id: str, sku: str
    ) -> list[tuple[Availability, int | None]]:
        """What the feed would show now for each listing of ``sku`` on its channel, beside what
        it last pushed. Refuses an unknown feed or SKU (404)."""
        feed = self.feeds.get_feed(workspace_id, feed_id)
        variant = CatalogService(self.session).variant_by_sku(workspace_id, sku)
        result = []
        for listing in CatalogService(self.session).listings_for(
            workspace_id, [variant.id], feed.channel
        ):
            state = self.repository.state(feed.id, listing.id)
            result.append(
                (
                    self.availability(workspace_id, feed, listing),
                    state.last_pushed_quantity if state else None,
                )
            )
        return result

    # Pushing -----------------------------------------------------------------------------------

    def push_listing(
        self,
        workspace_id: str,
        feed_id: str,
        listing_id: str,
        changed_at: datetime | None = None,
    ) -> PushOutcome:
        """Compute one listing's quantity now and send it if the channel does not hold it.

        ``changed_at`` is the stock change this push answers (the lag is measured from the
        oldest change not yet pushed, and a snapshot older than the newest change never raises
        the channel). Records on the listing's state what happened (quantity, time, lag,
        error) and, when the push failed but may work later, queues the next attempt. Safe to
        run twice: the second run finds the quantity unchanged and sends nothing.
        """
        outcome = self._push_listing(workspace_id, feed_id, listing_id, changed_at)
        self.session.flush()
        return outcome

    def _push_listing(
        self, workspace_id: str, feed_id: str, listing_id: str, changed_at: datetime | None
    ) -> PushOutcome:
        feed = self.repository.feed(workspace_id, feed_id)
        if feed is None or not feed.is_enabled:
            return PushOutcome("disabled")
        now = utcnow()
        if feed.paused_until is not None and feed.paused_until > now:
            self.feeds.enqueue_push(
                workspace_id, feed_id, listing_id, feed.paused_until, changed_at
            )
            return PushOutcome("paused")
        self.repository.ensure_states(workspace_id, feed_id, [listing_id], now)
        state = self.repository.locked_state(feed_id, listing_id)
        assert state is not None, "ensured a statement ago"
        if changed_at is not None:
            if state.newest_change_at is None or state.newest_change_at < changed_at:
                state.newest_change_at = changed_at
            if state.pending_since is None:
                state.pending_since = changed_at
        listing = self.repository.listing(workspace_id, listing_id)
        if listing is None or not is_pushable(listing) or listing.channel != feed.channel:
            state.status = ListingFeedStatus.SKIPPED
            state.updated_at = now
            return PushOutcome("skipped")
        snapshot_at = utcnow()
        quantity = self.availability(workspace_id, feed, listing).quantity
        state.last_computed_quantity = quantity
        state.last_snapshot_at = snapshot_at
        state.updated_at = snapshot_at
        decision = domain.decide_push(
            quantity, snapshot_at, state.last_pushed_quantity, state.newest_change_at
        )
        if decision is PushDecision.UNCHANGED:
            self._settled(state)
            return PushOutcome("unchanged", quantity)
        if decision is PushDecision.STALE:
            self.feeds.enqueue_push(workspace_id, feed_id, listing_id, snapshot_at + STALE_RECHECK)
            return PushOutcome("stale", quantity)
        push = channels.Push(
            quantity=quantity,
            believed=state.last_pushed_quantity,
            idempotency_key=f"tessera-{state.id}-{state.push_count + 1}-{quantity}",
        )
        try:
            credentials = self.feeds.credentials(feed)
        except SecretUnreadable as error:  # logged by _failed, with the feed and listing
            unreadable = channels.CredentialsUnreadable.of(error)
            return self._failed(workspace_id, feed, state, quantity, unreadable)
        try:
            receipt = channels.send(feed, credentials, listing, push)
        except PushFailed as failure:
            return self._failed(workspace_id, feed, state, quantity, failure)
        pushed_at = utcnow()
        state.last_lag_ms = domain.lag_milliseconds(state.pending_since, pushed_at)
        state.last_pushed_quantity = quantity
        state.last_pushed_at = pushed_at
        state.push_count += 1
        state.external_reference = receipt.reference
        self._settled(state)
        state.updated_at = pushed_at
        return PushOutcome("pushed", quantity)

    @staticmethod
    def _settled(state: ListingFeedState) -> None:
        state.status = ListingFeedStatus.OK
        state.pending_since = None
        state.failure_count = 0
        state.next_attempt_at = None

    def _failed(
        self,
        workspace_id: str,
        feed: ChannelFeed,
        state: ListingFeedState,
        quantity: int,
        failure: PushFailed,
    ) -> PushOutcome:
        now = utcnow()
        state.failure_count += 1
        state.last_error = f"{type(failure).__name__}: {failure}"[:ERROR_MAX_CHARS]
        state.last_error_at = now
        state.updated_at = now
        rate_limited = isinstance(failure, RateLimited)
        retry_after = failure.retry_after if isinstance(failure, RateLimited) else None
        if failure.retryable and state.failure_count < domain.MAX_PUSH_ATTEMPTS:
            delay = domain.retry_delay(
                state.failure_count, self.rng.random(), retry_after, rate_limited
            )
            state.status = ListingFeedStatus.RETRYING
            state.next_attempt_at = now + delay
            if rate_limited:
                self.repository.pause_feed(feed.id, now + delay)
            self.feeds.enqueue_push(workspace_id, feed.id, state.listing_id, now + delay)
        else:
            state.status = ListingFeedStatus.FAILED
            state.next_attempt_at = None
        log.warning(
            "feed_push_failed",
            feed_id=feed.id,
            listing_id=state.listing_id,
            quantity=quantity,
            error=state.last_error,
            failures=state.failure_count,
        )
        return PushOutcome("failed", quantity, state.last_error)


def _rule(feed: ChannelFeed) -> BufferRule:
    return BufferRule(
        safety_quantity=feed.safety_quantity,
        percentage=feed.percentage,
        percentage_floor=feed.percentage_floor,
        maximum=feed.maximum,
        zero_below=feed.zero_below,
        ring_fenced=feed.ring_fenced,
    )
