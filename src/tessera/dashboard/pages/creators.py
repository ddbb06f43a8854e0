"""Create's creator search (filters, relevance, each result's fit score and safety flags) and
a creator's page (accounts, audience, fit parts for the brand's market, lookalikes).

Everyone signed in may look; creators are added through ``/v1/creators`` or ``tessera
creators``. The filters are a GET form, so a search can be bookmarked and shared; a value the
API would refuse is shown as the form's error, never a 500.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from tessera.creator import domain
from tessera.creator.discovery import Discovery
from tessera.creator.schemas import LookalikesIn, SearchIn
from tessera.dashboard.session import SignedIn
from tessera.dashboard.web import DashboardRoute, render
from tessera.http.routing import DbSession
from tessera.models.creator import CreatorStatus

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)
FORM_FIELDS = ("q", "platform", "min_followers", "max_followers", "min_engagement", "country",
               "min_country_share", "niche", "status", "avoid")  # fmt: skip
SHOWN = 50


def _search_body(form: dict[str, str]) -> SearchIn:
    def number(name: str, scale: float = 1.0) -> float | None:
        text = form.get(name, "").strip().replace(",", "")
        return float(text) / scale if text else None

    def whole(name: str) -> int | None:
        value = number(name)
        return None if value is None else int(value)

    body: dict[str, Any] = {
        "query": form.get("q", ""),
        "platform": form.get("platform") or None,
        "min_followers": whole("min_followers"),
        "max_followers": whole("max_followers"),
        "min_engagement": number("min_engagement", 100),  # the form asks in percent
        "country": form.get("country") or None,
        "min_country_share": number("min_country_share", 100),
        "niches": [n.strip() for n in form.get("niche", "").split(",") if n.strip()],
        "statuses": [form["status"]] if form.get("status") else [],
        "avoid_terms": [t.strip() for t in form.get("avoid", "").split(",") if t.strip()],
        "limit": SHOWN,
    }
    return SearchIn.model_validate(body)


@pages.get("/creators")
def creators(request: Request, member: SignedIn, session: DbSession) -> Response:
    """The search form and its results, biggest first when no words are given."""
    form = {name: request.query_params.get(name, "")[:500] for name in FORM_FIELDS}
    error = None
    results = None
    try:
        body = _search_body(form)
        results = Discovery(session, request.app.state.clock).search(member.workspace.id, body)
    except ValidationError as exc:
        first = exc.errors()[0]
        error = f"{'.'.join(str(p) for p in first['loc']) or 'the form'}: {first['msg']}"
    except ValueError:
        error = "a number field holds something that is not a number"
    context = {
        "member": member,
        "form": form,
        "results": results,
        "error": error,
        "platforms": sorted(domain.PLATFORMS),
        "statuses": [s.value for s in CreatorStatus],
    }
    response = render(request, "creators.html", context)
    if error is not None:
        response.status_code = 422
    return response


@pages.get("/creators/{creator_id}")
def creator(request: Request, member: SignedIn, session: DbSession, creator_id: str) -> Response:
    """One creator: accounts, audience split, rates, safety flags and lookalikes."""
    discovery = Discovery(session, request.app.state.clock)
    view = discovery.creators.get(member.workspace.id, creator_id)
    flags = discovery.screen(member.workspace.id, creator_id)
    alike = discovery.lookalikes(
        member.workspace.id, LookalikesIn(creator_ids=[creator_id], limit=6)
    )
    countries = sorted(view.creator.audience_countries.items(), key=lambda kv: -kv[1])
    context = {"member": member, "view": view, "flags": flags, "alike": alike.items,
               "countries": countries}  # fmt: skip
    return render(request, "creator.html", context)
