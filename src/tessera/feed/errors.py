"""Errors of the feeds domain."""

from __future__ import annotations

from tessera.kit.errors import Conflict, InvalidInput, NotFound


class FeedNotFound(NotFound):
    slug = "feed-not-found"
    title = "No such feed in this workspace"


class DuplicateFeed(Conflict):
    slug = "duplicate-feed"
    title = "The channel already has a feed"


class InvalidFeed(InvalidInput):
    slug = "invalid-feed"
    title = "The feed is not valid"
