"""The identity errors a caller can cause, each a Problem carrying its HTTP status and slug.

The graph's (a profile or merge that is not there, a merge a guard-rail forbids or that was
already undone) and matching's (a review that is not there or already decided, too few
profiles to train on).
"""

from __future__ import annotations

from tessera.kit.errors import Conflict, NotFound, Problem


class ProfileNotFound(Problem):
    status = 404
    slug = "profile-not-found"
    title = "Profile not found"


class MergeNotFound(Problem):
    status = 404
    slug = "merge-not-found"
    title = "Merge not found"


class MergeRefused(Problem):
    status = 409
    slug = "merge-refused"
    title = "A guard-rail forbids this merge"


class MergeAlreadyUndone(Problem):
    status = 409
    slug = "merge-already-undone"
    title = "This merge was already undone"


class ReviewNotFound(NotFound):
    slug = "review-not-found"
    title = "No such review in this workspace"


class ReviewDecided(Conflict):
    slug = "review-decided"
    title = "The review was already decided"


class NotEnoughRecords(Conflict):
    slug = "not-enough-records"
    title = "Too few profiles to train a model"
