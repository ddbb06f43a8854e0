"""Loyalty: the overview (members per tier, the points outstanding as the program's liability,
the latest registrations), one member's ledger and codes, and the public product
registration form that the packaging's QR code opens.

Everyone signed in may look; the program is changed through ``PUT /v1/loyalty/program`` or
``tessera loyalty program set``. The registration form needs no sign-in: its address carries
the program's public registration key, and it posts to the same service as the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from pydantic import ValidationError

from tessera.dashboard.session import SignedIn
from tessera.dashboard.web import DashboardRoute, render
from tessera.http.routing import DbSession
from tessera.kit.errors import Problem
from tessera.loyalty.registration import Registrations
from tessera.loyalty.schemas import RegistrationIn
from tessera.loyalty.service import LoyaltyService

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)
MEMBERS_SHOWN = 100
REGISTRATIONS_SHOWN = 20
FORM_FIELDS = ("email", "name", "sku", "serial", "retailer", "receipt_number")


@pages.get("/loyalty")
def overview(request: Request, member: SignedIn, session: DbSession) -> Response:
    """Members per tier, points outstanding, the members and the latest registrations."""
    service = LoyaltyService(session, request.app.state.clock)
    workspace_id = member.workspace.id
    program = service.find_program(workspace_id)
    context: dict[str, Any] = {
        "member": member,
        "program": program,
        "overview": service.overview(workspace_id),
        "members": service.members(workspace_id, None, None, MEMBERS_SHOWN),
        "registrations": service.registrations(workspace_id, None, REGISTRATIONS_SHOWN).items,
        "tiers": [t["name"] for t in program.tiers] if program else [],
        "register_url": f"/register/{program.registration_key}" if program else None,
    }
    return render(request, "loyalty.html", context)


@pages.get("/loyalty/members/{profile_id}")
def member_ledger(
    request: Request, member: SignedIn, session: DbSession, profile_id: str
) -> Response:
    """One member's balance, tier, codes and ledger, newest first."""
    service = LoyaltyService(session, request.app.state.clock)
    view = service.member(member.workspace.id, profile_id)
    entries = service.entries(member.workspace.id, profile_id, None, 200)
    context = {"member": member, "view": view, "entries": entries.items,
               "truncated": entries.next_cursor is not None}  # fmt: skip
    return render(request, "loyalty_member.html", context)


def _form_page(
    request: Request, key: str, values: dict[str, str], error: Problem | None, status: int = 200
) -> Response:
    field = error.extensions.get("field") if error else None
    context = {"key": key, "values": values, "error": error, "field": field, "done": None}
    response = render(request, "register.html", context)
    response.status_code = status
    return response


@pages.get("/register/{key}")
def registration_form(request: Request, session: DbSession, key: str) -> Response:
    """The QR code's target: register a product bought at a retailer (no sign-in)."""
    Registrations(session).program_for_key(key)
    return _form_page(request, key, dict.fromkeys(FORM_FIELDS, ""), None)


@pages.post("/register/{key}")
def register(
    request: Request,
    session: DbSession,
    key: str,
    email: Annotated[str, Form(max_length=320)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    sku: Annotated[str, Form(max_length=120)] = "",
    serial: Annotated[str, Form(max_length=120)] = "",
    retailer: Annotated[str, Form(max_length=120)] = "",
    receipt_number: Annotated[str, Form(max_length=120)] = "",
) -> Response:
    """Register the product; a refusal re-shows the form with the field at fault (422, or 409
    for a receipt or serial registered before) and keeps nothing."""
    values = {"email": email, "name": name, "sku": sku, "serial": serial,
              "retailer": retailer, "receipt_number": receipt_number}  # fmt: skip
    registrations = Registrations(session, request.app.state.clock)
    try:
        form = RegistrationIn(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = str(first["loc"][0]) if first["loc"] else "form"
        problem = Problem(f"{where.replace('_', ' ')}: {first['msg']}", field=where)
        return _form_page(request, key, values, problem, status=422)
    try:
        row = registrations.register(key, form)
    except Problem as problem:
        if problem.status == 404:
            raise
        return _form_page(request, key, values, problem, status=problem.status)
    context = {"key": key, "values": values, "error": None, "field": None, "done": row}
    return render(request, "register.html", context)
