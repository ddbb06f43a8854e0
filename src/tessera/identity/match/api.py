"""``/v1/identity``: the review queue of probable matches, the match model, and the conflicts
the guard-rails recorded.

Reading needs a viewer key; deciding a review needs a marketer; training the model, an admin.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Query
from pydantic import BaseModel

from tessera.http.routing import DbSession, router
from tessera.identity.match.domain import ModelSummary, ReviewSide
from tessera.identity.match.service import MatchService
from tessera.job.schemas import JobOut
from tessera.kit.errors import InvalidInput
from tessera.kit.pagination import MAX_LIMIT, clamp_limit, decode_cursor
from tessera.models.identity import (
    ConflictStatus,
    IdentityConflict,
    IdentityReview,
    ReviewStatus,
)
from tessera.workspace.auth import Admin, Marketer, Viewer

api = router(prefix="/v1/identity", tags=["identity"])


class ReviewSideOut(BaseModel):
    profile_id: str
    status: str
    fields: dict[str, str | None]


class ReviewOut(BaseModel):
    id: str
    status: str
    profile_id: str
    candidate_profile_id: str
    score: float
    probability: float
    evidence: dict[str, Any]
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    sides: list[ReviewSideOut]

    @classmethod
    def of(cls, review: IdentityReview, sides: tuple[ReviewSide, ReviewSide]) -> ReviewOut:
        return cls(
            id=review.id,
            status=review.status.value,
            profile_id=review.profile_id,
            candidate_profile_id=review.candidate_profile_id,
            score=review.score,
            probability=review.probability,
            evidence={k: v for k, v in (review.evidence or {}).items() if k != "sides"},
            created_at=review.created_at,
            decided_by=review.decided_by,
            decided_at=review.decided_at,
            sides=[
                ReviewSideOut(profile_id=s.profile_id, status=s.status, fields=s.fields)
                for s in sides
            ],
        )


class ReviewPage(BaseModel):
    items: list[ReviewOut]
    next_cursor: str | None
    counts: dict[str, int]


class ConflictOut(BaseModel):
    id: str
    status: str
    rule: str
    profile_ids: list[str]
    identifier_type: str
    identifier_value: str
    cause_ref: str
    evidence: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, conflict: IdentityConflict) -> ConflictOut:
        return cls(
            id=conflict.id,
            status=conflict.status.value,
            rule=conflict.rule,
            profile_ids=list(conflict.profile_ids or []),
            identifier_type=conflict.identifier_type,
            identifier_value=conflict.identifier_value,
            cause_ref=conflict.cause_ref,
            evidence=dict(conflict.evidence or {}),
            created_at=conflict.created_at,
        )


class ConflictPage(BaseModel):
    items: list[ConflictOut]
    next_cursor: str | None
    counts: dict[str, int]


class ModelOut(BaseModel):
    source: str
    trained_at: datetime | None
    records: int | None
    merge_threshold: float
    review_threshold: float
    prior: float
    comparisons: list[dict[str, Any]]
    report: dict[str, Any]

    @classmethod
    def of(cls, summary: ModelSummary) -> ModelOut:
        return cls(
            source=summary.source,
            trained_at=summary.trained_at,
            records=summary.records,
            merge_threshold=summary.merge_threshold,
            review_threshold=summary.review_threshold,
            prior=summary.prior,
            comparisons=list(summary.comparisons),
            report=summary.report,
        )


def _status(value: str | None, kind: type[ReviewStatus] | type[ConflictStatus]) -> Any:
    if value is None or value == "all":
        return None
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join([*(s.value for s in kind), "all"])
        raise InvalidInput(f"status must be one of {allowed}", field="status") from None


def _review_out(service: MatchService, workspace_id: str, review: IdentityReview) -> ReviewOut:
    return ReviewOut.of(review, service.review_sides(workspace_id, review))


@api.get("/reviews", response_model=ReviewPage, summary="Probable matches waiting for a person")
def list_reviews(
    principal: Viewer,
    session: DbSession,
    status: str | None = Query(default="open", description="open, merged, rejected or all"),
    cursor: str | None = None,
    limit: int = Query(default=50, json_schema_extra={"minimum": 1, "maximum": MAX_LIMIT}),
) -> ReviewPage:
    chosen = _status(status, ReviewStatus)
    clamp_limit(limit)
    service = MatchService(session)
    page = service.list_reviews(principal.workspace_id, chosen, decode_cursor(cursor), limit)
    sides = service.sides_of(principal.workspace_id, page.items)
    return ReviewPage(
        items=[ReviewOut.of(r, sides[r.id]) for r in page.items],
        next_cursor=page.next_cursor,
        counts=service.review_counts(principal.workspace_id),
    )


@api.get("/reviews/{review_id}", response_model=ReviewOut, summary="One review, both sides")
def get_review(review_id: str, principal: Viewer, session: DbSession) -> ReviewOut:
    service = MatchService(session)
    return _review_out(
        service, principal.workspace_id, service.get_review(principal.workspace_id, review_id)
    )


@api.post(
    "/reviews/{review_id}/accept",
    response_model=ReviewOut,
    summary="They are one person: merge the two profiles",
)
def accept_review(review_id: str, principal: Marketer, session: DbSession) -> ReviewOut:
    service = MatchService(session)
    review = service.accept(principal.workspace_id, review_id, principal.actor)
    return _review_out(service, principal.workspace_id, review)


@api.post(
    "/reviews/{review_id}/reject",
    response_model=ReviewOut,
    summary="They are different people: never propose them again",
)
def reject_review(review_id: str, principal: Marketer, session: DbSession) -> ReviewOut:
    service = MatchService(session)
    review = service.reject(principal.workspace_id, review_id, principal.actor)
    return _review_out(service, principal.workspace_id, review)


@api.get("/model", response_model=ModelOut, summary="The match model this workspace uses")
def get_model(principal: Viewer, session: DbSession) -> ModelOut:
    return ModelOut.of(MatchService(session).model_summary(principal.workspace_id))


@api.post(
    "/model/train",
    response_model=JobOut,
    status_code=202,
    summary="Queue a training of the match model on this workspace's profiles",
)
def train_model(principal: Admin, session: DbSession) -> JobOut:
    """202 with the job; GET /v1/identity/model shows the model once it ran."""
    return JobOut.model_validate(MatchService(session).request_training(principal.workspace_id))


@api.get(
    "/conflicts",
    response_model=ConflictPage,
    summary="Merges a guard-rail stopped, with their evidence",
)
def list_conflicts(
    principal: Viewer,
    session: DbSession,
    status: str | None = Query(default="open", description="open, resolved or all"),
    cursor: str | None = None,
    limit: int = Query(default=50, json_schema_extra={"minimum": 1, "maximum": MAX_LIMIT}),
) -> ConflictPage:
    chosen = _status(status, ConflictStatus)
    clamp_limit(limit)
    service = MatchService(session)
    page = service.list_conflicts(principal.workspace_id, chosen, decode_cursor(cursor), limit)
    return ConflictPage(
        items=[ConflictOut.of(c) for c in page.items],
        next_cursor=page.next_cursor,
        counts=service.conflict_counts(principal.workspace_id),
    )
