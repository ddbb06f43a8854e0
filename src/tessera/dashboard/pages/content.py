"""Content: the library (a grid of thumbnails with each asset's review status, its rights
standing (licensed, ending within 30 days, ended, none) and a badge per channel its latest
version passes or fails) and an asset's page (versions with their lineage,
reviews, renditions and every spec result). Everyone signed in may look; uploads and reviews
go through ``/v1/assets`` or ``tessera assets``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tessera.content.service import ContentService
from tessera.content.specs import CHANNELS, summary
from tessera.content.storage import files_of_app
from tessera.dashboard.session import SignedIn
from tessera.dashboard.web import DashboardRoute, render
from tessera.http.routing import DbSession
from tessera.rights.service import RightsService

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)
SHOWN = 120


def _service(request: Request, session: DbSession) -> ContentService:
    return ContentService(session, files_of_app(request.app.state), request.app.state.clock)


@pages.get("/content")
def library(request: Request, member: SignedIn, session: DbSession) -> Response:
    """The newest assets as a grid: thumbnail, title, status and channel badges."""
    service = _service(request, session)
    page = service.assets(member.workspace.id, limit=SHOWN)
    latest = service.latest_versions(page.items)
    rights = RightsService(session, request.app.state.clock).standings(
        member.workspace.id, [a.id for a in page.items]
    )
    cards = [
        {"asset": a, "version": latest.get(a.id), "rights": rights[a.id],
         "channels": summary(latest[a.id].spec_results) if a.id in latest else {}}
        for a in page.items
    ]  # fmt: skip
    context = {"member": member, "cards": cards, "channels": CHANNELS,
               "truncated": page.next_cursor is not None}  # fmt: skip
    return render(request, "content.html", context)


@pages.get("/content/{asset_id}")
def asset_page(request: Request, member: SignedIn, session: DbSession, asset_id: str) -> Response:
    """One asset: its versions (each naming the one it follows), reviews, renditions (each
    naming its master) and the latest version's spec results rule by rule."""
    view = _service(request, session).asset(member.workspace.id, asset_id)
    context = {"member": member, "view": view, "latest": view.latest,
               "passed": summary(view.latest.spec_results)}  # fmt: skip
    return render(request, "content_asset.html", context)


@pages.get("/content/{asset_id}/thumbnail")
def thumbnail(request: Request, member: SignedIn, session: DbSession, asset_id: str) -> Response:
    data = _service(request, session).thumbnail(member.workspace.id, asset_id)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private"})
