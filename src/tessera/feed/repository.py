"""Every SQL statement of the feeds domain.

It reads two of the catalog's tables without writing them: ``channel_listing`` by id (the
listings a push job names; the catalog service finds listings by variant only) and
``variant`` for the workspace of variants a stock-change job names.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from tessera.db.base import RepositoryBase
from tessera.db.statements import insert_ignoring_conflicts
from tessera.kit.ids import new_id
from tessera.models.catalog import ChannelListing, Variant
from tessera.models.feed import ChannelFeed, ListingFeedState, ListingFeedStatus


class FeedRepository(RepositoryBase):
    # Feeds -------------------------------------------------------------------------------------

    def feed(self, workspace_id: str, feed_id: str) -> ChannelFeed | None:
        return self.session.scalar(
            select(ChannelFeed).where(
                ChannelFeed.workspace_id == workspace_id, ChannelFeed.id == feed_id
            )
        )

    def feed_by_channel(self, workspace_id: str, channel: str) -> ChannelFeed | None:
        return self.session.scalar(
            select(ChannelFeed).where(
                ChannelFeed.workspace_id == workspace_id, ChannelFeed.channel == channel
            )
        )

    def feeds(self, workspace_id: str, enabled_only: bool = False) -> Sequence[ChannelFeed]:
        query = select(ChannelFeed).where(ChannelFeed.workspace_id == workspace_id)
        if enabled_only:
            query = query.where(ChannelFeed.is_enabled.is_(True))
        return self.session.scalars(query.order_by(ChannelFeed.channel)).all()

    def locked_feeds_of_every_workspace(self) -> Sequence[ChannelFeed]:
        """Every feed, in id order, locked until the transaction ends (PostgreSQL; SQLite's
        transactions hold its one write lock): for rewriting what a concurrent change of the
        same feed would otherwise overwrite."""
        query = select(ChannelFeed).order_by(ChannelFeed.id)
        if self.dialect == "postgresql":
            query = query.with_for_update()
        return self.session.scalars(query.execution_options(populate_existing=True)).all()

    def pause_feed(self, feed_id: str, until: datetime) -> None:
        """Move ``paused_until`` later, never earlier (two workers hit by 429s agree)."""
        self.session.execute(
            update(ChannelFeed)
            .where(ChannelFeed.id == feed_id)
            .where((ChannelFeed.paused_until.is_(None)) | (ChannelFeed.paused_until < until))
            .values(paused_until=until)
        )

    # Catalog and stock reads -------------------------------------------------------------------

    def listing(self, workspace_id: str, listing_id: str) -> ChannelListing | None:
        return self.session.scalar(
            select(ChannelListing).where(
                ChannelListing.workspace_id == workspace_id, ChannelListing.id == listing_id
            )
        )

    def listings(
        self, workspace_id: str, listing_ids: Collection[str]
    ) -> dict[str, ChannelListing]:
        if not listing_ids:
            return {}
        rows = self.session.scalars(
            select(ChannelListing).where(
                ChannelListing.workspace_id == workspace_id, ChannelListing.id.in_(listing_ids)
            )
        ).all()
        return {row.id: row for row in rows}

    def listings_on_channel(self, workspace_id: str, channel: str) -> Sequence[ChannelListing]:
        return self.session.scalars(
            select(ChannelListing)
            .where(ChannelListing.workspace_id == workspace_id, ChannelListing.channel == channel)
            .order_by(ChannelListing.id)
        ).all()

    def workspaces_of_variants(self, variant_ids: Collection[str]) -> dict[str, str]:
        """Variant id -> its workspace, for stock-change jobs that name only variants."""
        if not variant_ids:
            return {}
        rows = self.session.execute(
            select(Variant.id, Variant.workspace_id).where(Variant.id.in_(variant_ids))
        ).all()
        return {str(v): str(w) for v, w in rows}

    # Listing states ----------------------------------------------------------------------------

    def ensure_states(
        self, workspace_id: str, feed_id: str, listing_ids: Collection[str], now: datetime
    ) -> None:
        """A state row for every listing that has none (concurrent callers insert it once)."""
        rows: list[dict[str, Any]] = [
            {
                "id": new_id("lfs"),
                "workspace_id": workspace_id,
                "feed_id": feed_id,
                "listing_id": listing_id,
                "status": ListingFeedStatus.NEVER,
                "push_count": 0,
                "failure_count": 0,
                "updated_at": now,
            }
            for listing_id in sorted(listing_ids)
        ]
        insert_ignoring_conflicts(self.session, ListingFeedState, rows, ("feed_id", "listing_id"))

    def state(self, feed_id: str, listing_id: str) -> ListingFeedState | None:
        """The state row, read without a lock (for showing, never for deciding a push)."""
        return self.session.scalar(
            select(ListingFeedState).where(
                ListingFeedState.feed_id == feed_id, ListingFeedState.listing_id == listing_id
            )
        )

    def locked_state(self, feed_id: str, listing_id: str) -> ListingFeedState | None:
        """The state row, locked until the transaction ends: pushes of one listing queue here,
        so a later push always reads balances after the earlier one committed."""
        query = select(ListingFeedState).where(
            ListingFeedState.feed_id == feed_id, ListingFeedState.listing_id == listing_id
        )
        if self.dialect == "postgresql":
            query = query.with_for_update()
        return self.session.scalar(query.execution_options(populate_existing=True))

    def states(
        self,
        workspace_id: str,
        feed_id: str,
        after_id: str | None,
        limit: int,
        status: ListingFeedStatus | None = None,
    ) -> Sequence[ListingFeedState]:
        query = select(ListingFeedState).where(
            ListingFeedState.workspace_id == workspace_id, ListingFeedState.feed_id == feed_id
        )
        if after_id:
            query = query.where(ListingFeedState.id > after_id)
        if status is not None:
            query = query.where(ListingFeedState.status == status)
        return self.session.scalars(query.order_by(ListingFeedState.id).limit(limit)).all()

    def status_counts(self, workspace_id: str) -> dict[tuple[str, ListingFeedStatus], int]:
        rows = self.session.execute(
            select(ListingFeedState.feed_id, ListingFeedState.status, func.count())
            .where(ListingFeedState.workspace_id == workspace_id)
            .group_by(ListingFeedState.feed_id, ListingFeedState.status)
        ).all()
        return {(str(f), ListingFeedStatus(s)): int(n) for f, s, n in rows}

    def push_summary(self, workspace_id: str) -> dict[str, tuple[datetime | None, int | None]]:
        """Feed id -> (newest push time, largest last lag)."""
        rows = self.session.execute(
            select(
                ListingFeedState.feed_id,
                func.max(ListingFeedState.last_pushed_at),
                func.max(ListingFeedState.last_lag_ms),
            )
            .where(ListingFeedState.workspace_id == workspace_id)
            .group_by(ListingFeedState.feed_id)
        ).all()
        return {str(f): (at, None if lag is None else int(lag)) for f, at, lag in rows}

    def newest_push(self, workspace_id: str, feed_id: str) -> ListingFeedState | None:
        return self.session.scalar(
            select(ListingFeedState)
            .where(
                ListingFeedState.workspace_id == workspace_id,
                ListingFeedState.feed_id == feed_id,
                ListingFeedState.last_pushed_at.is_not(None),
            )
            .order_by(ListingFeedState.last_pushed_at.desc())
            .limit(1)
        )

    def newest_error(self, workspace_id: str, feed_id: str) -> ListingFeedState | None:
        return self.session.scalar(
            select(ListingFeedState)
            .where(
                ListingFeedState.workspace_id == workspace_id,
                ListingFeedState.feed_id == feed_id,
                ListingFeedState.last_error_at.is_not(None),
            )
            .order_by(ListingFeedState.last_error_at.desc())
            .limit(1)
        )

    def states_of_listings(
        self, workspace_id: str, listing_ids: Collection[str]
    ) -> Sequence[ListingFeedState]:
        if not listing_ids:
            return []
        return self.session.scalars(
            select(ListingFeedState).where(
                ListingFeedState.workspace_id == workspace_id,
                ListingFeedState.listing_id.in_(listing_ids),
            )
        ).all()

    def quantities_by_variant(
        self, workspace_id: str
    ) -> Sequence[tuple[str, str, ListingFeedStatus, int | None, int | None]]:
        """(variant id, channel, status, last computed, last pushed) of every listing state."""
        rows = self.session.execute(
            select(
                ChannelListing.variant_id,
                ChannelListing.channel,
                ListingFeedState.status,
                ListingFeedState.last_computed_quantity,
                ListingFeedState.last_pushed_quantity,
            )
            .join(ChannelListing, ChannelListing.id == ListingFeedState.listing_id)
            .where(ListingFeedState.workspace_id == workspace_id)
            .order_by(ChannelListing.variant_id, ChannelListing.channel, ListingFeedState.id)
        ).all()
        return [(str(v), str(c), ListingFeedStatus(s), comp, push) for v, c, s, comp, push in rows]

    def unsettled(self, before: datetime, limit: int) -> Sequence[ListingFeedState]:
        """States of enabled feeds whose channel may not hold what it should: never pushed,
        failed, or retrying with the retry overdue since ``before`` (its job lost)."""
        state = ListingFeedState
        overdue = (state.status == ListingFeedStatus.RETRYING) & (state.next_attempt_at < before)
        return self.session.scalars(
            select(state)
            .join(ChannelFeed, ChannelFeed.id == state.feed_id)
            .where(ChannelFeed.is_enabled.is_(True))
            .where(state.status.in_([ListingFeedStatus.NEVER, ListingFeedStatus.FAILED]) | overdue)
            .order_by(state.id)
            .limit(limit)
        ).all()
