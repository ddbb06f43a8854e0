"""Errors of the content domain; each names the field a caller can fix."""

from __future__ import annotations

from tessera.kit.errors import Conflict, InvalidInput, NotFound, Problem


class AssetNotFound(NotFound):
    """An unknown asset, or another workspace's: the same answer, so ids cannot be probed."""

    slug = "asset-not-found"
    title = "No such asset"


class RenditionNotFound(NotFound):
    slug = "rendition-not-found"
    title = "No such rendition"


class UploadTooLarge(Problem):
    """A file past its size limit: refused while it streams in, nothing of it kept."""

    status = 413
    slug = "upload-too-large"
    title = "The file is over the size limit"


class UnreadableMedia(InvalidInput):
    """A file that is not an image or video we can read whole: corrupt, truncated, text, or
    named for a type it does not hold (a PNG called .jpg)."""

    slug = "unreadable-media"
    title = "The file is not a readable image or video"


class ReviewRefused(Conflict):
    """A review of a version that is not the asset's latest or was already decided."""

    slug = "review-refused"
    title = "This version cannot be reviewed now"


class RenditionFailed(InvalidInput):
    slug = "rendition-failed"
    title = "The rendition could not be made"
