"""Errors of the creator domain."""

from __future__ import annotations

from tessera.kit.errors import Conflict, InvalidInput, NotFound


class CreatorNotFound(NotFound):
    """An unknown creator, or another workspace's: the same answer."""

    slug = "creator-not-found"
    title = "No such creator in this workspace"


class DuplicateCreator(Conflict):
    """A creator with the same handle on a platform, or the same email, exists already; the
    problem names the field and the creator it duplicates (``existing_id``)."""

    slug = "creator-duplicate"
    title = "This creator exists already"


class InvalidCreator(InvalidInput):
    slug = "invalid-creator"
    title = "The creator is not valid"
