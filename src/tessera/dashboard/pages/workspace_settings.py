"""Settings → Workspace: the name, and the time zone and currency every page shows.

Everyone may read them; changing them needs the admin role, checked here on the server.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from tessera.dashboard.session import SignedIn, flash
from tessera.dashboard.web import DashboardRoute, render
from tessera.http.routing import DbSession
from tessera.kit.errors import InvalidInput
from tessera.models.workspace import Role
from tessera.workspace.domain import zone_choices
from tessera.workspace.service import WorkspaceService

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)

COMMON_CURRENCIES = ("USD", "EUR", "GBP", "SEK", "NOK", "DKK", "CAD", "AUD", "JPY", "CHF")


@pages.get("/settings/workspace")
def workspace_page(request: Request, member: SignedIn) -> Response:
    return _page(request, member)


def _page(
    request: Request,
    member: SignedIn,
    error: InvalidInput | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    workspace = member.workspace
    context = {
        "member": member,
        "zones": zone_choices(),
        "currencies": COMMON_CURRENCIES,
        "values": values
        or {
            "name": workspace.name,
            "time_zone": workspace.time_zone,
            "currency": workspace.currency,
        },
        "error": error,
        "can_change": member.can(Role.ADMIN),
    }
    return render(request, "settings_workspace.html", context, status=422 if error else 200)


@pages.post("/settings/workspace")
def change_workspace(
    request: Request,
    member: SignedIn,
    session: DbSession,
    name: Annotated[str, Form()] = "",
    time_zone: Annotated[str, Form()] = "",
    currency: Annotated[str, Form()] = "",
) -> Response:
    """Save the name, zone and currency; a bad value shows the form again with the field
    named and nothing changed."""
    member.require(Role.ADMIN)
    try:
        WorkspaceService(session).update_workspace(
            member.workspace.id, member.user.id, name=name, time_zone=time_zone, currency=currency
        )
    except InvalidInput as error:  # checked before anything is changed
        values = {"name": name, "time_zone": time_zone, "currency": currency}
        return _page(request, member, error, values)
    flash(request, "Saved. Times now show in " + time_zone.strip() + ".", "success")
    return RedirectResponse("/settings/workspace", status_code=303)
