"""Use cases of configuring channel feeds and reading their state. Never commits: the
caller's scope does. How a stock change reaches a channel is ``tessera.feed.push``'s story.

A feed's credentials are sealed (``tessera.kit.secrets``) when they are set and opened only to
push. The keyring is the one passed in, else the process settings' (``get_settings()``, as the
job service reads its attempts): a job handler is given no settings, and every process of a
deployment seals and opens with the same ``TESSERA_SECRET_KEY``. Credentials no key opens fail
the push like a refusal, with the error on the listing naming the feed, and are pushed again
by the reconciliation once the key is fixed.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tessera.catalog.service import CatalogService
from tessera.config import HoldsKeyring
from tessera.feed import channels, domain
from tessera.feed.errors import DuplicateFeed, FeedNotFound, InvalidFeed
from tessera.feed.repository import FeedRepository
from tessera.feed.schemas import Buffers, FeedIn, FeedPatch
from tessera.job.service import JobService
from tessera.kit.logging import get_logger
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, page_from
from tessera.kit.secrets import Keyring
from tessera.kit.time import utcnow
from tessera.models.catalog import ChannelListing, FulfillmentChannel
from tessera.models.feed import ChannelFeed, ListingFeedState, ListingFeedStatus
from tessera.workspace.service import WorkspaceService

RECONCILE_GRACE = timedelta(minutes=5)

log = get_logger("tessera.feed")


@dataclass(frozen=True, slots=True)
class FeedStatus:
    feed: ChannelFeed
    by_status: dict[ListingFeedStatus, int]
    last_pushed_at: datetime | None
    last_lag_ms: int | None
    max_lag_ms: int | None
    last_error: str | None
    last_error_at: datetime | None

    @property
    def listings(self) -> int:
        return sum(self.by_status.values())

    @property
    def failing(self) -> int:
        return self.by_status[ListingFeedStatus.RETRYING] + self.by_status[ListingFeedStatus.FAILED]


class FeedService(HoldsKeyring):
    def __init__(
        self,
        session: Session,
        rng: random.Random | None = None,
        keyring: Keyring | None = None,
    ) -> None:
        self.session = session
        self.repository = FeedRepository(session)
        self.rng = rng or random.Random()
        self._keyring = keyring

    def credentials(self, feed: ChannelFeed) -> dict[str, Any]:
        """The feed's credentials, opened. Refuses (``SecretUnreadable``, 500, naming the feed)
        credentials that no configured key opens or that were altered in the database."""
        if not feed.credentials:
            return {}
        opened = self.keyring.open(feed.credentials, _credentials_of(feed))
        return dict(opened) if isinstance(opened, dict) else {}

    def reseal_credentials(self) -> int:
        """Seal every feed's credentials (of every workspace) again under the current key, so
        a previous secret key can be dropped; returns how many feeds. Refuses (500, naming the
        feed) credentials no configured key opens, and the caller's scope then keeps nothing.
        """
        count = 0
        for feed in self.repository.locked_feeds_of_every_workspace():
            if feed.credentials:
                feed.credentials = self.keyring.reseal(feed.credentials, _credentials_of(feed))
                count += 1
        self.session.flush()
        return count

    def _sealed(self, credentials: dict[str, str]) -> dict[str, Any]:
        return self.keyring.seal(dict(credentials)) if credentials else {}

    # Configuring feeds --------------------------------------------------------------------------

    def create_feed(self, workspace_id: str, data: FeedIn, actor: str = "system") -> ChannelFeed:
        """Add a channel's feed. Its listings are pushed at once (one job each).

        Refuses a second feed for the same channel (409) and an adapter without the settings
        and credentials it needs (422, naming them). The credentials are stored sealed.
        """
        self._check_configuration(data.adapter, data.settings, data.credentials)
        if self.repository.feed_by_channel(workspace_id, data.channel) is not None:
            raise DuplicateFeed(f"channel {data.channel} already has a feed", field="channel")
        now = utcnow()
        feed = ChannelFeed(
            workspace_id=workspace_id,
            channel=data.channel,
            name=data.name,
            adapter=data.adapter,
            is_enabled=data.is_enabled,
            settings=dict(data.settings),
            credentials=self._sealed(data.credentials),
            created_at=now,
            updated_at=now,
        )
        self._apply_buffers(feed, data.buffers)
        self.session.add(feed)
        self.session.flush()
        WorkspaceService(self.session).record(
            workspace_id, actor, "feed.created", feed.id,
            {"channel": feed.channel, "adapter": feed.adapter.value},
        )  # fmt: skip
        if feed.is_enabled:
            self.request_push(workspace_id, feed.id)
            if feed.ring_fenced:
                self._push_others(workspace_id, feed.id)
        return feed

    def update_feed(
        self, workspace_id: str, feed_id: str, data: FeedPatch, actor: str = "system"
    ) -> ChannelFeed:
        """Change a feed's name, settings, credentials, buffers or whether it runs.

        Every listing is pushed again when the buffers change or the feed is switched on, since
        either can change what the channel should show; when the units it ring-fences change
        (or it is switched on or off with a fence), the other feeds are pushed again too.
        New credentials are sealed under the current key; without them the stored ones are
        left as they are (never opened here, so a feed whose credentials no key opens can
        still be switched off or given new ones). Refuses what ``create_feed`` refuses.
        """
        feed = self.get_feed(workspace_id, feed_id)
        fence_before = feed.ring_fenced if feed.is_enabled else 0
        settings = dict(feed.settings) if data.settings is None else dict(data.settings)
        credentials = None if data.credentials is None else dict(data.credentials)
        self._check_configuration(feed.adapter, settings, credentials)
        repush = False
        if data.name is not None:
            feed.name = data.name
        if data.is_enabled is not None:
            repush = data.is_enabled and not feed.is_enabled
            feed.is_enabled = data.is_enabled
        if data.buffers is not None and data.buffers != Buffers.of(feed):
            self._apply_buffers(feed, data.buffers)
            repush = True
        feed.settings = settings
        if credentials is not None:
            feed.credentials = self._sealed(credentials)
        feed.updated_at = utcnow()
        self.session.flush()
        changed = sorted(data.model_dump(exclude_none=True))
        WorkspaceService(self.session).record(
            workspace_id, actor, "feed.updated", feed.id, {"fields": ",".join(changed)}
        )
        if repush and feed.is_enabled:
            self.request_push(workspace_id, feed.id)
        if (feed.ring_fenced if feed.is_enabled else 0) != fence_before:
            self._push_others(workspace_id, feed.id)
        return feed

    def _push_others(self, workspace_id: str, feed_id: str) -> None:
        """Queue every other enabled feed: a ring-fence moved, so what they may show did too."""
        for other in self.repository.feeds(workspace_id, enabled_only=True):
            if other.id != feed_id:
                self.request_push(workspace_id, other.id)

    def get_feed(self, workspace_id: str, feed_id: str) -> ChannelFeed:
        """One feed; another workspace's feed is not found."""
        feed = self.repository.feed(workspace_id, feed_id)
        if feed is None:
            raise FeedNotFound(f"no feed {feed_id} in this workspace")
        return feed

    def list_feeds(self, workspace_id: str) -> Sequence[ChannelFeed]:
        return self.repository.feeds(workspace_id)

    def statuses(self, workspace_id: str) -> list[FeedStatus]:
        """Every feed with its listings per status, newest push, lag and newest error."""
        counts = self.repository.status_counts(workspace_id)
        summary = self.repository.push_summary(workspace_id)
        result = []
        for feed in self.repository.feeds(workspace_id):
            by_status = {status: counts.get((feed.id, status), 0) for status in ListingFeedStatus}
            newest = self.repository.newest_push(workspace_id, feed.id)
            error = self.repository.newest_error(workspace_id, feed.id)
            last_at, max_lag = summary.get(feed.id, (None, None))
            result.append(
                FeedStatus(
                    feed=feed,
                    by_status=by_status,
                    last_pushed_at=last_at,
                    last_lag_ms=newest.last_lag_ms if newest else None,
                    max_lag_ms=max_lag,
                    last_error=error.last_error if error else None,
                    last_error_at=error.last_error_at if error else None,
                )
            )
        return result

    def channel_quantities(
        self, workspace_id: str
    ) -> dict[tuple[str, str], tuple[ListingFeedStatus, int | None, int | None]]:
        """(variant id, channel) -> (status, last computed, last pushed) of its listing; with
        several listings of one variant on one channel, the last one listed wins."""
        return {
            (variant_id, channel): (status, computed, pushed)
            for variant_id, channel, status, computed, pushed in (
                self.repository.quantities_by_variant(workspace_id)
            )
        }

    def states_of_listings(
        self, workspace_id: str, listing_ids: Collection[str]
    ) -> dict[str, ListingFeedState]:
        """What each of these listings' feed last computed and pushed, by listing id (a
        listing no feed pushes is absent)."""
        return {
            state.listing_id: state
            for state in self.repository.states_of_listings(workspace_id, listing_ids)
        }

    def listing_states(
        self,
        workspace_id: str,
        feed_id: str,
        cursor: str | None = None,
        limit: int = 50,
        status: ListingFeedStatus | None = None,
    ) -> tuple[Page[ListingFeedState], dict[str, ChannelListing], dict[str, str]]:
        """One page of a feed's listing states, with their listings and SKUs (variant id ->)."""
        self.get_feed(workspace_id, feed_id)
        limit = clamp_limit(limit)
        rows = self.repository.states(
            workspace_id, feed_id, decode_cursor(cursor), limit + 1, status
        )
        page = page_from(rows, limit)
        listings = self.repository.listings(workspace_id, [s.listing_id for s in page.items])
        variants = CatalogService(self.session).variants_by_id(
            workspace_id, {listing.variant_id for listing in listings.values()}
        )
        return page, listings, {vid: variant.sku for vid, variant in variants.items()}

    def _check_configuration(
        self, adapter: Any, settings: dict[str, Any], credentials: dict[str, Any] | None
    ) -> None:
        base_url = settings.get("base_url")
        if base_url is not None and (
            not isinstance(base_url, str) or not base_url.startswith(("https://", "http://"))
        ):
            raise InvalidFeed("settings.base_url must be an http(s) URL", field="settings.base_url")
        missing = channels.missing_configuration(adapter, settings, credentials)
        if missing:
            raise InvalidFeed(
                f"a {adapter.value} feed needs {', '.join(missing)}", field=missing[0]
            )

    @staticmethod
    def _apply_buffers(feed: ChannelFeed, buffers: Buffers) -> None:
        rule = buffers.rule()
        problems = rule.problems()
        if problems:
            field, message = problems[0]
            raise InvalidFeed(message, field=f"buffers.{field}")
        feed.safety_quantity = rule.safety_quantity
        feed.percentage = rule.percentage
        feed.percentage_floor = rule.percentage_floor
        feed.maximum = rule.maximum
        feed.zero_below = rule.zero_below
        feed.ring_fenced = rule.ring_fenced

    # Reacting to stock changes ------------------------------------------------------------------

    def on_stock_changed(
        self,
        variant_ids: Collection[str],
        changed_at: datetime,
        workspace_id: str | None = None,
    ) -> int:
        """Queue a push for every listing whose quantity the change can move; returns how many.

        The listings are those of the changed variants and of every bundle holding one of them,
        on channels with an enabled feed. Without ``workspace_id`` the workspace is found from
        the variants. Safe to run twice: a push whose quantity did not change sends nothing.
        """
        if workspace_id is None:
            by_workspace: dict[str, set[str]] = {}
            for variant_id, owner in self.repository.workspaces_of_variants(variant_ids).items():
                by_workspace.setdefault(owner, set()).add(variant_id)
        else:
            by_workspace = {workspace_id: set(variant_ids)}
        queued = 0
        for owner, ids in sorted(by_workspace.items()):
            queued += self._queue_for_variants(owner, ids, changed_at)
        return queued

    def _queue_for_variants(
        self, workspace_id: str, variant_ids: set[str], changed_at: datetime
    ) -> int:
        feeds = {f.channel: f for f in self.repository.feeds(workspace_id, enabled_only=True)}
        if not feeds or not variant_ids:
            return 0
        catalog = CatalogService(self.session)
        affected = set(variant_ids) | set(catalog.bundles_containing(variant_ids))
        by_feed: dict[str, list[str]] = {}
        for listing in catalog.listings_for(workspace_id, affected):
            feed = feeds.get(listing.channel)
            if feed is not None and is_pushable(listing):
                by_feed.setdefault(feed.id, []).append(listing.id)
        return sum(
            self._queue(workspace_id, feed_id, listing_ids, changed_at)
            for feed_id, listing_ids in sorted(by_feed.items())
        )

    def request_push(
        self, workspace_id: str, feed_id: str, skus: Collection[str] | None = None
    ) -> int:
        """Queue a push of every listing of the feed's channel (or of these SKUs); returns how
        many. Unchanged quantities are still not sent: this recomputes, it does not force.
        FBA and inactive listings are marked skipped.

        Refuses an unknown feed (404) and SKUs not in the catalog (404, naming the first).
        """
        feed = self.get_feed(workspace_id, feed_id)
        listings = self._listings_of(workspace_id, feed, skus)
        self._mark_skipped(workspace_id, feed, [lst for lst in listings if not is_pushable(lst)])
        ids = [listing.id for listing in listings if is_pushable(listing)]
        return self._queue(workspace_id, feed.id, ids, utcnow())

    def pushable_listing_ids(
        self, workspace_id: str, feed_id: str, skus: Collection[str] | None = None
    ) -> list[str]:
        """The listings ``request_push`` would queue, in id order."""
        feed = self.get_feed(workspace_id, feed_id)
        return [lst.id for lst in self._listings_of(workspace_id, feed, skus) if is_pushable(lst)]

    def _listings_of(
        self, workspace_id: str, feed: ChannelFeed, skus: Collection[str] | None
    ) -> Sequence[ChannelListing]:
        listings = self.repository.listings_on_channel(workspace_id, feed.channel)
        if skus is None:
            return listings
        catalog = CatalogService(self.session)
        wanted = {catalog.variant_by_sku(workspace_id, sku).id for sku in skus}
        return [listing for listing in listings if listing.variant_id in wanted]

    def reconcile(self, now: datetime, limit: int = 5000) -> int:
        """Queue a push for listings left unsettled: never pushed, failed (a refusal that may
        have been fixed since, a new token), or retrying with the retry job overdue by
        ``RECONCILE_GRACE``. Returns how many; unchanged quantities still send nothing."""
        queued = 0
        for state in self.repository.unsettled(now - RECONCILE_GRACE, limit):
            self.enqueue_push(state.workspace_id, state.feed_id, state.listing_id, now)
            queued += 1
        return queued

    def _queue(
        self, workspace_id: str, feed_id: str, listing_ids: Sequence[str], changed_at: datetime
    ) -> int:
        if not listing_ids:
            return 0
        # No UPDATE of the state rows here: a push holding one of them for its HTTP call would
        # make this job (and every listing after it) wait. Each push job notes its change.
        self.repository.ensure_states(workspace_id, feed_id, listing_ids, utcnow())
        when = changed_at.isoformat()
        return JobService(self.session).enqueue_many(
            domain.PUSH_JOB,
            (
                {
                    "workspace_id": workspace_id,
                    "feed_id": feed_id,
                    "listing_id": listing_id,
                    "changed_at": when,
                }
                for listing_id in listing_ids
            ),
            workspace_id=workspace_id,
            priority=domain.PUSH_PRIORITY,
        )

    def _mark_skipped(
        self, workspace_id: str, feed: ChannelFeed, listings: Iterable[ChannelListing]
    ) -> None:
        ids = [listing.id for listing in listings]
        if not ids:
            return
        self.repository.ensure_states(workspace_id, feed.id, ids, utcnow())
        for listing_id in ids:
            state = self.repository.locked_state(feed.id, listing_id)
            if state is not None:
                state.status = ListingFeedStatus.SKIPPED

    def enqueue_push(
        self,
        workspace_id: str,
        feed_id: str,
        listing_id: str,
        run_at: datetime,
        changed_at: datetime | None = None,
    ) -> None:
        """Queue one push of one listing at ``run_at`` (a retry, a paused feed, a recheck)."""
        payload = {"workspace_id": workspace_id, "feed_id": feed_id, "listing_id": listing_id}
        if changed_at is not None:
            payload["changed_at"] = changed_at.isoformat()
        JobService(self.session).enqueue(
            domain.PUSH_JOB,
            payload,
            workspace_id=workspace_id,
            run_at=run_at,
            priority=domain.PUSH_PRIORITY,
        )


def _credentials_of(feed: ChannelFeed) -> str:
    return f"the credentials of feed {feed.id} ({feed.channel})"


def is_pushable(listing: ChannelListing) -> bool:
    """Active and not fulfilled by Amazon (FBA stock is Amazon's: read, never pushed)."""
    return listing.is_active and listing.fulfillment_channel is not FulfillmentChannel.AMAZON
