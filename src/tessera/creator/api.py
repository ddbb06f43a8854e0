"""``/v1/creators``: creators with their platform accounts (CRUD), CSV import, search with
filters and relevance, lookalikes, and the customers whose traits say they create.

Roles: viewers read and search; marketers add, change, import and delete. Every id is looked
up in the caller's workspace: another workspace's creator is "not found".
"""

from __future__ import annotations

from typing import Any

from fastapi import Query, Request, Response

from tessera.creator.discovery import Discovery, Results
from tessera.creator.domain import FitPart
from tessera.creator.errors import InvalidCreator
from tessera.creator.importing import HeaderError
from tessera.creator.schemas import (
    AccountOut,
    CreatorIn,
    CreatorOut,
    CreatorPage,
    CreatorPatch,
    CustomerCreatorOut,
    FitPartOut,
    ImportIn,
    ImportOut,
    LookalikesIn,
    RowProblem,
    SafetyFlagOut,
    SearchHitOut,
    SearchIn,
    SearchOut,
)
from tessera.creator.service import CreatorService, CreatorView
from tessera.http.routing import DbSession, router
from tessera.models.creator import CreatorStatus
from tessera.workspace.auth import Marketer, Viewer

api = router(prefix="/v1/creators", tags=["creators"])
CURSOR = Query(default=None, max_length=200)
LIMIT = Query(default=50, ge=1, le=200)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such creator in this workspace"}
}
DUPLICATE: dict[int | str, dict[str, Any]] = {
    409: {"description": "A handle (per platform) or the email is another creator's"}
}


def _service(request: Request, session: DbSession) -> CreatorService:
    return CreatorService(session, request.app.state.clock)


def creator_out(view: CreatorView) -> CreatorOut:
    row = view.creator
    return CreatorOut.model_validate(
        {
            **{name: getattr(row, name) for name in CreatorOut.model_fields if name != "accounts"},
            "accounts": [AccountOut.model_validate(a) for a in view.accounts],
        }
    )


def _part(part: FitPart) -> FitPartOut:
    return FitPartOut(
        name=part.name,
        weight=part.weight,
        score=round(part.score, 4),
        points=round(100 * part.points, 1),
        reason=part.reason,
    )


def results_out(results: Results) -> SearchOut:
    return SearchOut(
        total=results.total,
        items=[
            SearchHitOut(
                creator=creator_out(r.view),
                relevance=round(r.hit.relevance, 4),
                bm25_rank=r.hit.bm25_rank,
                semantic_rank=r.hit.semantic_rank,
                fit_score=r.fit.score,
                fit_parts=[_part(p) for p in r.fit.parts],
                safety_flags=[
                    SafetyFlagOut(category=f.category, term=f.term, count=f.count) for f in r.flags
                ],
            )
            for r in results.items
        ],
    )


@api.get("", response_model=CreatorPage, summary="Creators, in the order they were added")
def list_creators(
    request: Request,
    principal: Viewer,
    session: DbSession,
    status: CreatorStatus | None = None,
    cursor: str | None = CURSOR,
    limit: int = LIMIT,
) -> CreatorPage:
    page = _service(request, session).page(principal.workspace_id, status, cursor, limit)
    return CreatorPage(items=[creator_out(v) for v in page.items], next_cursor=page.next_cursor)


@api.post(
    "",
    response_model=CreatorOut,
    status_code=201,
    summary="Add a creator; duplicates by handle or email are refused",
    responses=DUPLICATE,
)
def create_creator(
    body: CreatorIn, request: Request, principal: Marketer, session: DbSession
) -> CreatorOut:
    view = _service(request, session).create(principal.workspace_id, body)
    Discovery.forget(principal.workspace_id)
    return creator_out(view)


@api.post(
    "/import",
    response_model=ImportOut,
    summary="Import creators from CSV text: bad rows reported by line and field, the rest added",
)
def import_creators(
    body: ImportIn, request: Request, principal: Marketer, session: DbSession
) -> ImportOut:
    try:
        report = _service(request, session).import_csv(
            principal.workspace_id, body.csv.splitlines(keepends=True)
        )
    except HeaderError as exc:
        raise InvalidCreator(str(exc), field="csv") from None
    Discovery.forget(principal.workspace_id)
    return ImportOut(
        imported=report.imported,
        linked=report.linked,
        errors=[RowProblem(line=e.line, field=e.field, detail=e.detail) for e in report.errors],
        duplicates=[
            RowProblem(line=d.line, field=d.field, detail=d.detail, existing_id=d.existing_id)
            for d in report.duplicates
        ],
    )


@api.post(
    "/search",
    response_model=SearchOut,
    summary="Search: filters, then BM25 and embedding relevance fused; fit and safety shown",
)
def search_creators(
    body: SearchIn, request: Request, principal: Viewer, session: DbSession
) -> SearchOut:
    return results_out(
        Discovery(session, request.app.state.clock).search(principal.workspace_id, body)
    )


@api.post(
    "/lookalikes",
    response_model=SearchOut,
    summary="Creators like the chosen ones (1 to 10), through the same filters",
    responses=NOT_FOUND,
)
def lookalike_creators(
    body: LookalikesIn, request: Request, principal: Viewer, session: DbSession
) -> SearchOut:
    discovery = Discovery(session, request.app.state.clock)
    return results_out(discovery.lookalikes(principal.workspace_id, body))


@api.get(
    "/customers",
    response_model=list[CustomerCreatorOut],
    summary="Creators among your customers: profiles whose traits name a social handle",
)
def customers_who_create(
    request: Request,
    principal: Viewer,
    session: DbSession,
    limit: int = Query(default=100, ge=1, le=200),
) -> list[CustomerCreatorOut]:
    found = _service(request, session).customers_who_create(principal.workspace_id, limit)
    return [
        CustomerCreatorOut(profile_id=c.profile_id, name=c.name, email=c.email, traits=c.traits,
                           creator_id=c.creator_id)
        for c in found
    ]  # fmt: skip


@api.get("/{creator_id}", response_model=CreatorOut, summary="A creator", responses=NOT_FOUND)
def get_creator(
    creator_id: str, request: Request, principal: Viewer, session: DbSession
) -> CreatorOut:
    return creator_out(_service(request, session).get(principal.workspace_id, creator_id))


@api.patch(
    "/{creator_id}",
    response_model=CreatorOut,
    summary="Change a creator; accounts given replace them all",
    responses={**NOT_FOUND, **DUPLICATE},
)
def update_creator(
    creator_id: str, body: CreatorPatch, request: Request, principal: Marketer, session: DbSession
) -> CreatorOut:
    view = _service(request, session).update(principal.workspace_id, creator_id, body)
    Discovery.forget(principal.workspace_id)
    return creator_out(view)


@api.delete("/{creator_id}", status_code=204, summary="Remove a creator", responses=NOT_FOUND)
def delete_creator(
    creator_id: str, request: Request, principal: Marketer, session: DbSession
) -> Response:
    _service(request, session).delete(principal.workspace_id, creator_id)
    Discovery.forget(principal.workspace_id)
    return Response(status_code=204)
