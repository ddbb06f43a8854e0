"""``/v1/feeds``: each channel's availability feed, its buffers and how its pushes are doing."""

from __future__ import annotations

from fastapi import Query

from tessera.feed.push import FeedPusher
from tessera.feed.schemas import (
    AvailabilityOut,
    FeedIn,
    FeedOut,
    FeedPage,
    FeedPatch,
    FeedStatusOut,
    ListingStateOut,
    ListingStatePage,
    PushQueued,
    PushRequest,
)
from tessera.feed.service import FeedService, FeedStatus
from tessera.http.routing import DbSession, router
from tessera.models.feed import ListingFeedStatus
from tessera.workspace.auth import Admin, Marketer, Viewer

api = router(prefix="/v1", tags=["feeds"])


def _status_out(status: FeedStatus) -> FeedStatusOut:
    return FeedStatusOut(
        feed=FeedOut.of(status.feed),
        listings=status.listings,
        by_status=status.by_status,
        last_pushed_at=status.last_pushed_at,
        last_lag_ms=status.last_lag_ms,
        max_lag_ms=status.max_lag_ms,
        failing=status.failing,
        last_error=status.last_error,
        last_error_at=status.last_error_at,
    )


@api.get("/feeds", response_model=FeedPage, summary="Every channel feed with its push status")
def list_feeds(principal: Viewer, session: DbSession) -> FeedPage:
    return FeedPage(
        items=[_status_out(s) for s in FeedService(session).statuses(principal.workspace_id)]
    )


@api.post(
    "/feeds",
    response_model=FeedOut,
    status_code=201,
    summary="Add a channel's feed; its listings are pushed at once",
)
def create_feed(body: FeedIn, principal: Admin, session: DbSession) -> FeedOut:
    return FeedOut.of(
        FeedService(session).create_feed(principal.workspace_id, body, principal.actor)
    )


@api.get("/feeds/{feed_id}", response_model=FeedStatusOut, summary="One feed and its status")
def get_feed(feed_id: str, principal: Viewer, session: DbSession) -> FeedStatusOut:
    service = FeedService(session)
    feed = service.get_feed(principal.workspace_id, feed_id)
    status = next(s for s in service.statuses(principal.workspace_id) if s.feed.id == feed.id)
    return _status_out(status)


@api.patch(
    "/feeds/{feed_id}",
    response_model=FeedOut,
    summary="Change a feed; new buffers or switching it on pushes every listing again",
)
def update_feed(feed_id: str, body: FeedPatch, principal: Admin, session: DbSession) -> FeedOut:
    service = FeedService(session)
    return FeedOut.of(service.update_feed(principal.workspace_id, feed_id, body, principal.actor))


@api.get(
    "/feeds/{feed_id}/listings",
    response_model=ListingStatePage,
    summary="Per listing: last pushed quantity, when, lag and last error",
)
def feed_listings(
    feed_id: str,
    principal: Viewer,
    session: DbSession,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    status: ListingFeedStatus | None = None,
) -> ListingStatePage:
    page, listings, skus = FeedService(session).listing_states(
        principal.workspace_id, feed_id, cursor, limit, status
    )
    items = []
    for state in page.items:
        listing = listings.get(state.listing_id)
        items.append(
            ListingStateOut(
                listing_id=state.listing_id,
                sku=skus.get(listing.variant_id, "") if listing else "",
                external_id=listing.external_id if listing else "",
                status=state.status,
                last_pushed_quantity=state.last_pushed_quantity,
                last_pushed_at=state.last_pushed_at,
                last_computed_quantity=state.last_computed_quantity,
                last_lag_ms=state.last_lag_ms,
                push_count=state.push_count,
                failure_count=state.failure_count,
                last_error=state.last_error,
                last_error_at=state.last_error_at,
                next_attempt_at=state.next_attempt_at,
            )
        )
    return ListingStatePage(items=items, next_cursor=page.next_cursor)


@api.post(
    "/feeds/{feed_id}/push",
    response_model=PushQueued,
    status_code=202,
    summary="Recompute and push the feed's listings (only changed quantities are sent)",
)
def push_feed(
    feed_id: str, principal: Marketer, session: DbSession, body: PushRequest | None = None
) -> PushQueued:
    skus = body.skus if body else None
    queued = FeedService(session).request_push(principal.workspace_id, feed_id, skus)
    return PushQueued(feed_id=feed_id, listings=queued)


@api.get(
    "/feeds/{feed_id}/availability",
    response_model=list[AvailabilityOut],
    summary="What the feed would show now for a SKU, location by location",
)
def feed_availability(
    feed_id: str, principal: Viewer, session: DbSession, sku: str = Query(max_length=120)
) -> list[AvailabilityOut]:
    rows = FeedPusher(session).preview(principal.workspace_id, feed_id, sku)
    return [
        AvailabilityOut(
            listing_id=availability.listing_id,
            sku=sku,
            channel=availability.channel,
            locations=availability.by_location,
            available=availability.available,
            fenced_for_others=availability.fenced_for_others,
            quantity=availability.quantity,
            last_pushed_quantity=last,
        )
        for availability, last in rows
    ]
