"""``/v1/loyalty``: the program, members with their balance and ledger, adjustments, rewards
taken as discount codes, codes redeemed by the site or a store's till, and the public product
registration behind the packaging's QR code.

Roles: viewers read; marketers adjust, redeem rewards and mark codes used (the site and the
POS call with a marketer key); admins change the program. The registration takes no key: its
address carries the program's public registration key, which names the workspace and grants
nothing else.
"""

from __future__ import annotations

from typing import Any

from fastapi import Query, Request

from tessera.http.routing import DbSession, router
from tessera.loyalty.registration import Registrations
from tessera.loyalty.repository import MemberBalance
from tessera.loyalty.schemas import (
    AdjustmentIn,
    CodeOut,
    CodeRedeemIn,
    EntryOut,
    EntryPage,
    MemberDetail,
    MemberOut,
    MemberPage,
    ProgramIn,
    ProgramOut,
    RedemptionIn,
    RegistrationIn,
    RegistrationOut,
    RegistrationPage,
)
from tessera.loyalty.service import LoyaltyService
from tessera.workspace.auth import Admin, Marketer, Viewer

api = router(prefix="/v1/loyalty", tags=["loyalty"])
CURSOR = Query(default=None, max_length=200)
LIMIT = Query(default=50, ge=1, le=200)


def _service(request: Request, session: DbSession) -> LoyaltyService:
    return LoyaltyService(session, request.app.state.clock)


def _member_out(row: MemberBalance) -> MemberOut:
    return MemberOut(
        profile_id=row.member.profile_id,
        tier=row.member.tier,
        balance=row.balance,
        joined_at=row.member.joined_at,
    )


@api.get("/program", response_model=ProgramOut, summary="The workspace's loyalty program")
def get_program(request: Request, principal: Viewer, session: DbSession) -> ProgramOut:
    return ProgramOut.model_validate(_service(request, session).program(principal.workspace_id))


@api.put("/program", response_model=ProgramOut, summary="Replace the loyalty program")
def put_program(
    body: ProgramIn, request: Request, principal: Admin, session: DbSession
) -> ProgramOut:
    row = _service(request, session).save_program(principal.workspace_id, body, principal.actor)
    return ProgramOut.model_validate(row)


@api.get("/members", response_model=MemberPage, summary="Members and balances")
def list_members(
    request: Request,
    principal: Viewer,
    session: DbSession,
    tier: str | None = Query(default=None, max_length=60),
    cursor: str | None = CURSOR,
    limit: int = LIMIT,
) -> MemberPage:
    page = _service(request, session).members(principal.workspace_id, tier, cursor, limit)
    return MemberPage(items=[_member_out(r) for r in page.items], next_cursor=page.next_cursor)


@api.get(
    "/members/{profile_id}",
    response_model=MemberDetail,
    summary="A member's balance (the sum of their entries), tier and reward codes",
)
def get_member(
    profile_id: str, request: Request, principal: Viewer, session: DbSession
) -> MemberDetail:
    view = _service(request, session).member(principal.workspace_id, profile_id)
    return MemberDetail(
        profile_id=view.member.profile_id,
        tier=view.member.tier,
        balance=view.balance,
        joined_at=view.member.joined_at,
        codes=[CodeOut.model_validate(c) for c in view.codes],
    )


@api.get("/members/{profile_id}/entries", response_model=EntryPage, summary="A member's ledger")
def list_entries(
    profile_id: str,
    request: Request,
    principal: Viewer,
    session: DbSession,
    cursor: str | None = CURSOR,
    limit: int = LIMIT,
) -> EntryPage:
    page = _service(request, session).entries(principal.workspace_id, profile_id, cursor, limit)
    return EntryPage(
        items=[EntryOut.model_validate(e) for e in page.items], next_cursor=page.next_cursor
    )


@api.post(
    "/members/{profile_id}/adjustments",
    response_model=EntryOut,
    status_code=201,
    summary="Add or take points by hand; never below zero",
)
def adjust(
    profile_id: str,
    body: AdjustmentIn,
    request: Request,
    principal: Marketer,
    session: DbSession,
) -> EntryOut:
    entry = _service(request, session).adjust(
        principal.workspace_id,
        profile_id,
        body.points,
        body.reason,
        body.idempotency_key,
        principal.actor,
    )
    return EntryOut.model_validate(entry)


@api.post(
    "/members/{profile_id}/redemptions",
    response_model=CodeOut,
    status_code=201,
    summary="Spend a reward's points for a discount code (409 when short)",
)
def redeem_reward(
    profile_id: str,
    body: RedemptionIn,
    request: Request,
    principal: Marketer,
    session: DbSession,
) -> CodeOut:
    code = _service(request, session).redeem_reward(
        principal.workspace_id, profile_id, body.reward, body.idempotency_key
    )
    return CodeOut.model_validate(code)


@api.get("/codes/{code}", response_model=CodeOut, summary="A reward code, as a till checks it")
def get_code(code: str, request: Request, principal: Viewer, session: DbSession) -> CodeOut:
    return CodeOut.model_validate(_service(request, session).code(principal.workspace_id, code))


@api.post(
    "/codes/{code}/redeem",
    response_model=CodeOut,
    summary="Use a code on an order (site or POS); the same order again is the same answer",
)
def redeem_code(
    code: str, body: CodeRedeemIn, request: Request, principal: Marketer, session: DbSession
) -> CodeOut:
    row = _service(request, session).redeem_code(
        principal.workspace_id, code, body.order_reference, body.channel
    )
    return CodeOut.model_validate(row)


@api.get("/registrations", response_model=RegistrationPage, summary="Registered retail purchases")
def list_registrations(
    request: Request,
    principal: Viewer,
    session: DbSession,
    cursor: str | None = CURSOR,
    limit: int = LIMIT,
) -> RegistrationPage:
    page = _service(request, session).registrations(principal.workspace_id, cursor, limit)
    return RegistrationPage(
        items=[RegistrationOut.model_validate(r) for r in page.items],
        next_cursor=page.next_cursor,
    )


@api.post(
    "/registrations/{registration_key}",
    response_model=RegistrationOut,
    status_code=201,
    summary="Register a product bought at a retailer (public: the packaging's QR code)",
    responses={409: {"description": "The receipt or the serial was already registered"}},
)
def register_product(
    registration_key: str, body: RegistrationIn, request: Request, session: DbSession
) -> Any:
    row = Registrations(session, request.app.state.clock).register(registration_key, body)
    return RegistrationOut.model_validate(row)
