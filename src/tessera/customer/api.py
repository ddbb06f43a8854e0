"""``/v1/profiles``: the customer 360 (search, profile, timeline) and privacy (consent, export,
erasure).

Roles: viewers and analysts search and view; marketers also record consent; admins also export
and erase. Every view of a profile, export and erasure writes an audit entry.

A profile id that was merged answers with its survivor, not a redirect: the body's ``id`` is
the survivor's, ``requested_id`` the id asked for, and ``Content-Location`` names the
survivor's URL. One round trip serves the clerk, and a POST to an old id (a consent recorded
against a stale link) lands on the right person instead of being lost to a client that does
not follow 308s.
"""

from __future__ import annotations

from typing import Any

from fastapi import Query, Response, status
from fastapi.responses import JSONResponse

from tessera.customer.privacy import PrivacyService
from tessera.customer.profiles import SEARCH_LIMIT, ProfileService
from tessera.customer.schemas import (
    ConsentCreate,
    ConsentList,
    ConsentOut,
    EraseRequest,
    ErasureOut,
    Profile360,
    ProfileSearchResult,
    TimelinePage,
)
from tessera.http.routing import DbSession, router
from tessera.workspace.auth import Admin, Marketer, Viewer

api = router(prefix="/v1", tags=["profiles"])


def _locate(response: Response, requested: str, resolved: str) -> None:
    if requested != resolved:
        response.headers["Content-Location"] = f"/v1/profiles/{resolved}"


@api.get(
    "/profiles",
    response_model=ProfileSearchResult,
    summary="Find a customer by email, phone, loyalty id, order number or name",
)
def search_profiles(
    principal: Viewer,
    session: DbSession,
    q: str = Query(min_length=1, max_length=320, description="What the clerk typed"),
    limit: int = Query(default=SEARCH_LIMIT, ge=1, le=200),
) -> ProfileSearchResult:
    items = ProfileService(session).search(principal.workspace_id, q, limit)
    return ProfileSearchResult(query=q, items=items)


@api.get(
    "/profiles/{profile_id}",
    response_model=Profile360,
    summary="A customer's 360: traits, computed traits, identities, consents, merges",
)
def get_profile(
    profile_id: str, principal: Viewer, session: DbSession, response: Response
) -> Profile360:
    profile = ProfileService(session).view(
        principal.workspace_id, profile_id, actor=principal.actor
    )
    _locate(response, profile_id, profile.id)
    return profile


@api.get(
    "/profiles/{profile_id}/timeline",
    response_model=TimelinePage,
    summary="Events, orders, consents and merges across channels, newest first",
)
def get_timeline(
    profile_id: str,
    principal: Viewer,
    session: DbSession,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
) -> TimelinePage:
    return ProfileService(session).timeline(principal.workspace_id, profile_id, cursor, limit)


@api.get(
    "/profiles/{profile_id}/consents",
    response_model=ConsentList,
    summary="Current consent per identifier, purpose and channel, and the history",
)
def list_consents(profile_id: str, principal: Viewer, session: DbSession) -> ConsentList:
    return PrivacyService(session).consents(principal.workspace_id, profile_id)


@api.post(
    "/profiles/{profile_id}/consents",
    response_model=ConsentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record a yes or no with when, where and the wording shown",
)
def record_consent(
    profile_id: str, body: ConsentCreate, principal: Marketer, session: DbSession
) -> ConsentOut:
    return PrivacyService(session).record_consent(
        principal.workspace_id, profile_id, body, actor=principal.actor
    )


@api.get(
    "/profiles/{profile_id}/export",
    summary="Everything held about the person, as JSON (admins)",
    response_class=JSONResponse,
    responses={200: {"content": {"application/json": {}}}},
)
def export_profile(profile_id: str, principal: Admin, session: DbSession) -> JSONResponse:
    data: dict[str, Any] = PrivacyService(session).export(
        principal.workspace_id, profile_id, actor=principal.actor
    )
    name = f"{data['profile_id']}.json"
    return JSONResponse(data, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@api.post(
    "/profiles/{profile_id}/erase",
    response_model=ErasureOut,
    summary="Erase the person everywhere, keeping only salted hashes (admins)",
)
def erase_profile(
    profile_id: str, principal: Admin, session: DbSession, body: EraseRequest | None = None
) -> ErasureOut:
    erasure = PrivacyService(session).erase(
        principal.workspace_id,
        profile_id,
        (body or EraseRequest()).mode,
        actor=principal.actor,
    )
    return ErasureOut.model_validate(erasure)
