"""Identity pages: the review queue of probable matches (both sides side by side, the evidence
field by field, accept or reject) and the conflicts the guard-rails recorded."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from tessera.dashboard.session import SignedIn, flash
from tessera.dashboard.web import DashboardRoute, render
from tessera.http.routing import DbSession
from tessera.identity.match.domain import MATCH_FIELDS
from tessera.identity.match.service import MatchService
from tessera.kit.errors import InvalidInput, Problem
from tessera.models.identity import ConflictStatus, ReviewStatus
from tessera.models.workspace import Role

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)

REVIEW_LIMIT = 50
CONFLICT_LIMIT = 100
FIELD_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "postcode": "Postcode",
    "city": "City",
    "address_line": "Address",
}


AGREEMENT_LABELS = {"same": "same", "differs": "differs", "one side": "one side only"}


def agreement(left: object, right: object) -> str:
    """How a field's two values compare as a person reads them: ``same`` (equal once case and
    spacing are set aside), ``differs``, ``one side`` (only one profile has it) or ``neither``."""
    a, b = (" ".join(str(v).casefold().split()) if v else "" for v in (left, right))
    if a and b:
        return "same" if a == b else "differs"
    return "one side" if a or b else "neither"


def display_name(fields: dict[str, Any]) -> str:
    """The side's name as its fields hold it, or its email when it has no name."""
    name = " ".join(str(fields[k]) for k in ("first_name", "last_name") if fields.get(k))
    return name or str(fields.get("email") or "(no name)")


@pages.get("/customers/reviews")
def reviews(
    request: Request, member: SignedIn, session: DbSession, status: str = "open"
) -> Response:
    """Probable matches, oldest first: both profiles side by side with each field's evidence:
    the level its values fell in, its weight, and every level's weight for scale."""
    try:
        chosen = ReviewStatus(status) if status != "all" else None
    except ValueError:
        raise InvalidInput("status must be open, merged, rejected or all", field="status") from None
    workspace_id = member.workspace.id
    service = MatchService(session)
    page = service.list_reviews(workspace_id, chosen, None, REVIEW_LIMIT)
    entries = []
    sides = service.sides_of(workspace_id, page.items)
    for review in page.items:
        left, right = sides[review.id]
        evidence = {item["field"]: item for item in (review.evidence or {}).get("fields", [])}
        rows = [
            {
                "field": name,
                "label": FIELD_LABELS[name],
                "left": left.fields.get(name),
                "right": right.fields.get(name),
                "level": evidence.get(name, {}).get("level", "missing"),
                "weight": evidence.get(name, {}).get("weight", 0.0),
                "ladder": evidence.get(name, {}).get("levels", []),
                "agreement": agreement(left.fields.get(name), right.fields.get(name)),
            }
            for name in MATCH_FIELDS
        ]
        entries.append(
            {
                "review": review,
                "left": left,
                "right": right,
                "names": (display_name(left.fields), display_name(right.fields)),
                "differing": sum(row["agreement"] == "differs" for row in rows),
                "rows": rows,
                "refused": (review.evidence or {}).get("refused"),
            }
        )
    context: dict[str, Any] = {
        "member": member,
        "entries": entries,
        "status": status,
        "counts": service.review_counts(workspace_id),
        "limit": REVIEW_LIMIT,
        "can_decide": member.can(Role.MARKETER),
        "model": service.model_summary(workspace_id),
        "agreement_labels": AGREEMENT_LABELS,
    }
    return render(request, "identity_reviews.html", context)


@pages.post("/customers/reviews/{review_id}/accept")
def accept(request: Request, member: SignedIn, session: DbSession, review_id: str) -> Response:
    """Merge the two profiles of a review; marketers and above."""
    member.require(Role.MARKETER)
    try:
        review = MatchService(session).accept(member.workspace.id, review_id, member.user.id)
    except Problem as problem:
        if problem.status not in (404, 409):
            raise
        flash(request, f"Not merged: {problem.detail}", "error")
        return RedirectResponse("/customers/reviews", status_code=303)
    flash(request, f"Merged {review.profile_id} and {review.candidate_profile_id}.", "success")
    return RedirectResponse("/customers/reviews", status_code=303)


@pages.post("/customers/reviews/{review_id}/reject")
def reject(request: Request, member: SignedIn, session: DbSession, review_id: str) -> Response:
    """Mark a review's two profiles as different people; marketers and above."""
    member.require(Role.MARKETER)
    try:
        review = MatchService(session).reject(member.workspace.id, review_id, member.user.id)
    except Problem as problem:
        if problem.status not in (404, 409):
            raise
        flash(request, f"Not rejected: {problem.detail}", "error")
        return RedirectResponse("/customers/reviews", status_code=303)
    flash(
        request,
        f"Kept apart: {review.profile_id} and {review.candidate_profile_id} will not be proposed "
        "again.",
        "success",
    )
    return RedirectResponse("/customers/reviews", status_code=303)


@pages.get("/customers/conflicts")
def conflicts(
    request: Request, member: SignedIn, session: DbSession, status: str = "open"
) -> Response:
    """Merges a guard-rail stopped, with the rule, the identifier and the evidence."""
    try:
        chosen = ConflictStatus(status) if status != "all" else None
    except ValueError:
        raise InvalidInput("status must be open, resolved or all", field="status") from None
    service = MatchService(session)
    page = service.list_conflicts(member.workspace.id, chosen, None, CONFLICT_LIMIT)
    context: dict[str, Any] = {
        "member": member,
        "conflicts": page.items,
        "status": status,
        "counts": service.conflict_counts(member.workspace.id),
        "limit": CONFLICT_LIMIT,
    }
    return render(request, "identity_conflicts.html", context)
