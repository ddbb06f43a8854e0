"""Pure rules of content review: which decisions a version may take, and what they need."""

from __future__ import annotations

from tessera.content.errors import ReviewRefused
from tessera.kit.errors import InvalidInput
from tessera.models.content import ReviewState

DECISIONS = {
    "approve": ReviewState.APPROVED,
    "request_revision": ReviewState.REVISION_REQUESTED,
    "reject": ReviewState.REJECTED,
}
DUPLICATE_DISTANCE = 8  # perceptual-hash bits: recompressed or resized copies score 0-4


def decide(current: ReviewState, decision: str, comment: str, is_latest: bool) -> ReviewState:
    """The state a review moves a version to. Only the latest version waiting for review is
    decided; a revision request and a rejection must say why (the creator acts on it)."""
    if decision not in DECISIONS:
        raise InvalidInput(f"decision must be one of {', '.join(DECISIONS)}", field="decision")
    if not is_latest:
        raise ReviewRefused("a newer version was uploaded; review that one", field="version")
    if current is not ReviewState.PENDING_REVIEW:
        raise ReviewRefused(f"this version was already decided: {current}", field="version")
    target = DECISIONS[decision]
    if target is not ReviewState.APPROVED and not comment.strip():
        raise InvalidInput(f"a comment is required to {decision.replace('_', ' ')}",
                           field="comment")  # fmt: skip
    return target
