"""``/v1/rights``: licenses, platform authorisations, the rights check and placements.

Viewers read and ask; marketers record licenses, authorisations and placements and revoke.
A placement the rights do not allow is 409 problem+json whose ``reason`` says which term
stops it; a bad field is 422 naming it.
"""

from __future__ import annotations

from fastapi import Query, Request

from tessera.http.routing import DbSession, router
from tessera.rights.domain import Use
from tessera.rights.schemas import (
    AuthorisationIn,
    AuthorisationOut,
    DecisionOut,
    LicenseIn,
    LicenseOut,
    PlacementIn,
    PlacementOut,
    TakedownsOut,
    UseIn,
)
from tessera.rights.service import LicenseDraft, RightsService
from tessera.workspace.auth import Marketer, Viewer

api = router(prefix="/v1/rights", tags=["rights"])


def _service(request: Request, session: DbSession) -> RightsService:
    return RightsService(session, request.app.state.clock)


def _use(request: Request, body: UseIn) -> Use:
    at = body.at or request.app.state.clock()
    return Use(body.channel, body.usage, body.territory, at, body.until)


@api.post("/licenses", response_model=LicenseOut, status_code=201, summary="Record a license")
def grant(request: Request, body: LicenseIn, principal: Marketer, session: DbSession) -> LicenseOut:
    draft = LicenseDraft(**body.model_dump())
    row = _service(request, session).grant(principal.workspace_id, draft)
    return LicenseOut.model_validate(row)


@api.get("/licenses", response_model=list[LicenseOut], summary="Licenses governing an asset")
def licenses(
    request: Request, principal: Viewer, session: DbSession,
    asset_id: str = Query(min_length=1, max_length=40),
) -> list[LicenseOut]:  # fmt: skip
    rows = _service(request, session).licenses(principal.workspace_id, asset_id)
    return [LicenseOut.model_validate(row) for row in rows]


@api.get("/licenses/expiring", response_model=list[LicenseOut], summary="Ending soon")
def expiring(
    request: Request, principal: Viewer, session: DbSession, days: int = Query(default=30)
) -> list[LicenseOut]:
    rows = _service(request, session).expiring(principal.workspace_id, days)
    return [LicenseOut.model_validate(row) for row in rows]


@api.get("/licenses/{license_id}", response_model=LicenseOut, summary="One license")
def get_license(
    request: Request, license_id: str, principal: Viewer, session: DbSession
) -> LicenseOut:
    row = _service(request, session).get_license(principal.workspace_id, license_id)
    return LicenseOut.model_validate(row)


@api.post("/licenses/{license_id}/revoke", response_model=LicenseOut, summary="Revoke")
def revoke_license(
    request: Request, license_id: str, principal: Marketer, session: DbSession
) -> LicenseOut:
    row = _service(request, session).revoke_license(principal.workspace_id, license_id)
    return LicenseOut.model_validate(row)


@api.post("/authorisations", response_model=AuthorisationOut, status_code=201,
          summary="Record a creator's platform authorisation")  # fmt: skip
def authorise(
    request: Request, body: AuthorisationIn, principal: Marketer, session: DbSession
) -> AuthorisationOut:
    row = _service(request, session).authorise(
        principal.workspace_id, body.asset_id, body.platform, body.granted_at, body.days,
        body.code,
    )  # fmt: skip
    return AuthorisationOut.model_validate(row)


@api.post("/authorisations/{grant_id}/revoke", response_model=AuthorisationOut,
          summary="The creator revoked it")  # fmt: skip
def revoke_authorisation(
    request: Request, grant_id: str, principal: Marketer, session: DbSession
) -> AuthorisationOut:
    row = _service(request, session).revoke_authorisation(principal.workspace_id, grant_id)
    return AuthorisationOut.model_validate(row)


@api.post("/check", response_model=DecisionOut, summary="May this asset be used so?")
def check(request: Request, body: UseIn, principal: Viewer, session: DbSession) -> DecisionOut:
    decision = _service(request, session).check(
        principal.workspace_id, body.asset_id, _use(request, body)
    )
    return DecisionOut(allowed=decision.allowed, reason=decision.reason,
                       license_id=decision.license_id,
                       authorisation_id=decision.authorisation_id)  # fmt: skip


@api.post("/placements", response_model=PlacementOut, status_code=201,
          summary="Place an asset where its rights allow")  # fmt: skip
def place(
    request: Request, body: PlacementIn, principal: Marketer, session: DbSession
) -> PlacementOut:
    row = _service(request, session).place(
        principal.workspace_id, body.asset_id, _use(request, body), body.ref
    )
    return PlacementOut.model_validate(row)


@api.get("/placements", response_model=list[PlacementOut], summary="Placements, newest first")
def placements(
    request: Request, principal: Viewer, session: DbSession,
    status: str | None = Query(default=None, max_length=20),
    limit: int = Query(default=50, ge=1, le=200),
) -> list[PlacementOut]:  # fmt: skip
    rows = _service(request, session).placements(principal.workspace_id, status, limit)
    return [PlacementOut.model_validate(row) for row in rows]


@api.post("/takedowns", response_model=TakedownsOut, summary="Mark ended placements")
def takedowns(request: Request, principal: Marketer, session: DbSession) -> TakedownsOut:
    return TakedownsOut(marked=_service(request, session).takedowns(principal.workspace_id))
