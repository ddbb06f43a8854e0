"""Customers: the clerk's search (answering as you type), each customer's 360 page (traits,
identities and where they came from, channels, one timeline, consents, merges with an Unmerge
button), consent recording, and export and erasure for admins.

Roles are the API's, checked here on the server: everyone may search and view (each view is
audited); marketers and above record consent and undo merges; admins export and erase. Erasure
asks for the customer's id to be typed back, so it never happens by a slipped click.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import ValidationError

from tessera.analytics.report.schemas import CustomerCountsReport
from tessera.analytics.report.snapshots import SnapshotService
from tessera.customer.privacy import CHANNELS, PURPOSES, PrivacyService
from tessera.customer.profiles import CustomerFilter, ProfileService
from tessera.customer.schemas import ConsentCreate
from tessera.dashboard.session import Member, SignedIn, flash
from tessera.dashboard.web import DashboardRoute, is_htmx, money, render
from tessera.http.routing import DbSession
from tessera.identity.graph.service import IdentityService
from tessera.kit.errors import InvalidInput, Problem
from tessera.models.identity import ConsentStatus, ErasureMode
from tessera.models.workspace import Role
from tessera.workspace.service import WorkspaceService

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)

SEARCH_LIMIT = 20
# Identifiers a person gives consent for, most usual first (the form's default is the first).
CONSENT_TYPES = (
    "email",
    "phone",
    "push_token",
    "device_id",
    "user_id",
    "loyalty_id",
    "anonymous_id",
)
TIMELINE_LIMIT = 25
LIST_LIMIT = 50
SORT_LABELS = {
    "last_seen": "Last seen",
    "orders": "Orders",
    "revenue": "Revenue",
    "channels": "Channels",
}


def _customer_filter(channel: str, reach: str, consent: str) -> CustomerFilter:
    return CustomerFilter(
        channel=channel.strip() or None,
        is_omnichannel=reach == "omnichannel",
        has_consent=consent == "granted",
    )


@pages.get("/customers")
def customers(
    request: Request,
    member: SignedIn,
    session: DbSession,
    q: str = "",
    channel: str = "",
    reach: str = "",
    consent: str = "",
    sort: str = "last_seen",
    cursor: str | None = None,
    limit: int = LIST_LIMIT,
) -> Response:
    """The list with its counts, filters, sort and pages, and the search box above it; with
    ``q`` (the search submitted without JavaScript) the page holds the search results alone,
    as fast as the search, with a link back to the list."""
    service = ProfileService(session)
    results = _search(session, member, q) if q.strip() else None
    where = _customer_filter(channel, reach, consent)
    searching = results is not None
    page = None if searching else service.customers(member.workspace.id, where, sort, cursor, limit)
    filters = urlencode(
        {
            k: v
            for k, v in (
                ("channel", channel),
                ("reach", reach),
                ("consent", consent),
                ("sort", sort if sort != "last_seen" else ""),
            )
            if v
        }
    )
    context = {
        "member": member,
        "q": q,
        "results": results,
        "error": None,
        "page": page,
        "counts": None if searching else counts_of(request, session, member.workspace.id),
        "chosen": {"channel": channel, "reach": reach, "consent": consent, "sort": sort},
        "sorts": SORT_LABELS,
        "filters": filters,
        "is_filtered": bool(channel or reach or consent),
        "is_first_page": not cursor,
        "money": money,
    }
    return render(request, "customers.html", context)


@pages.get("/customers.csv")
def export_list(
    member: SignedIn,
    session: DbSession,
    channel: str = "",
    reach: str = "",
    consent: str = "",
    sort: str = "last_seen",
) -> Response:
    """The filtered, sorted list as a CSV download, every page at once (up to the limit)."""
    text, truncated = ProfileService(session).customers_csv(
        member.workspace.id, _customer_filter(channel, reach, consent), sort
    )
    headers = {"Content-Disposition": 'attachment; filename="customers.csv"'}
    if truncated:
        headers["X-Truncated"] = "true"
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


@pages.get("/customers/search")
def search(request: Request, member: SignedIn, session: DbSession, q: str = "") -> Response:
    """The results fragment the search box asks for as the clerk types."""
    error: Problem | None = None
    results = None
    if q.strip():
        try:
            results = _search(session, member, q)
        except InvalidInput as problem:
            error = problem
    context = {"member": member, "q": q, "results": results, "error": error}
    return render(request, "_customer_results.html", context)


def counts_of(request: Request, session: DbSession, workspace_id: str) -> CustomerCountsReport:
    """The counts above the list, at most ten minutes old (a stored snapshot)."""
    return SnapshotService(session, request.app.state.clock).customer_counts(workspace_id)


def _search(session: DbSession, member: Member, q: str) -> list[Any]:
    return ProfileService(session).search(member.workspace.id, q, SEARCH_LIMIT)


@pages.get("/customers/{profile_id}")
def customer(request: Request, member: SignedIn, session: DbSession, profile_id: str) -> Response:
    """One customer's 360. A merged id redirects to the survivor's page; each view is audited."""
    service = ProfileService(session)
    resolved = service.resolve(member.workspace.id, profile_id)
    if resolved.id != profile_id:
        return RedirectResponse(f"/customers/{resolved.id}", status_code=303)
    view = service.view(member.workspace.id, profile_id, actor=member.user.id)
    timeline = service.timeline(member.workspace.id, profile_id, None, TIMELINE_LIMIT)
    context: dict[str, Any] = {
        "member": member,
        "view": view,
        "timeline": timeline,
        "profile_id": view.id,
        "revenue": [money(m.amount, m.currency) for m in view.computed.revenue],
        "average": [money(m.amount, m.currency) for m in view.computed.average_order_value],
        "can_record_consent": member.can(Role.MARKETER),
        "can_unmerge": member.can(Role.MARKETER),
        "can_export": member.can(Role.ADMIN),
        "purposes": PURPOSES,
        "channels": CHANNELS,
        "statuses": [s.value for s in ConsentStatus],
        "consent_identifiers": sorted(
            (i for i in view.identifiers if i.type in CONSENT_TYPES),
            key=lambda i: (CONSENT_TYPES.index(i.type), i.value),
        ),
        "money": money,
    }
    return render(request, "customer.html", context)


@pages.get("/customers/{profile_id}/timeline")
def timeline(
    request: Request,
    member: SignedIn,
    session: DbSession,
    profile_id: str,
    cursor: str | None = None,
) -> Response:
    """The next page of the timeline, appended by the "Load more" button."""
    page = ProfileService(session).timeline(member.workspace.id, profile_id, cursor, TIMELINE_LIMIT)
    context = {"member": member, "timeline": page, "profile_id": profile_id, "money": money}
    return render(request, "_customer_timeline.html", context)


@pages.post("/customers/{profile_id}/consents")
def record_consent(
    request: Request,
    member: SignedIn,
    session: DbSession,
    profile_id: str,
    identifier_id: Annotated[str, Form()] = "",
    purpose: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
    source: Annotated[str, Form()] = "",
    wording: Annotated[str, Form()] = "",
) -> Response:
    """Record a yes or no the customer gave (at the till, on the phone); marketers and above."""
    member.require(Role.MARKETER)
    workspace_id = member.workspace.id
    identifiers = {
        i.id: i for i in IdentityService(session).identifiers_of(workspace_id, profile_id)
    }
    chosen = identifiers.get(identifier_id)
    try:
        if chosen is None:
            raise InvalidInput("choose one of the customer's identifiers", field="identifier_id")
        try:
            answer = ConsentStatus(status)
        except ValueError:
            raise InvalidInput(
                "status must be granted, denied or withdrawn", field="status"
            ) from None
        try:
            body = ConsentCreate(
                identifier_type=chosen.type,
                identifier_value=chosen.value,
                purpose=purpose,
                channel=channel,
                status=answer,
                source=source.strip() or "dashboard",
                wording=wording,
                recorded_at=None,
            )
        except ValidationError as exc:
            fields = ", ".join(str(e["loc"][-1]) for e in exc.errors())
            raise InvalidInput(f"check {fields}", field=fields) from None
        consent = PrivacyService(session).record_consent(
            workspace_id, profile_id, body, actor=member.user.id
        )
    except InvalidInput as problem:
        flash(request, f"Consent not recorded: {problem.detail}", "error")
        return RedirectResponse(f"/customers/{profile_id}#consents", status_code=303)
    flash(
        request,
        f"Recorded: {consent.status.value} for {consent.purpose} by {consent.channel} "
        f"({consent.identifier_value}).",
    )
    return RedirectResponse(f"/customers/{profile_id}#consents", status_code=303)


@pages.post("/customers/{profile_id}/merges/{merge_id}/unmerge")
def unmerge(
    request: Request,
    member: SignedIn,
    session: DbSession,
    profile_id: str,
    merge_id: str,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Undo a merge: both profiles come back, and the split is remembered as a rule; marketers
    and above. A merge of another workspace is not found."""
    member.require(Role.MARKETER)
    why = reason.strip()[:500] or "undone in the dashboard"
    result = IdentityService(session).unmerge(
        member.workspace.id, merge_id, actor=member.user.id, reason=why
    )
    WorkspaceService(session).record(
        member.workspace.id,
        member.user.id,
        "profile.unmerged",
        merge_id,
        {"reason": why, "profiles": list(result.profile_ids)},
    )
    ids = ", ".join(result.profile_ids)
    flash(request, f"Unmerged {merge_id}: the profiles are {ids} again.")
    target = profile_id if profile_id in result.profile_ids else result.profile_ids[0]
    if is_htmx(request):  # the button asked for confirmation through HTMX: reload the page
        return Response(status_code=200, headers={"HX-Redirect": f"/customers/{target}"})
    return RedirectResponse(f"/customers/{target}", status_code=303)


@pages.get("/customers/{profile_id}/export")
def export(request: Request, member: SignedIn, session: DbSession, profile_id: str) -> Response:
    """Everything held about the customer, downloaded as JSON; admins only, audited."""
    member.require(Role.ADMIN)
    data = PrivacyService(session).export(member.workspace.id, profile_id, actor=member.user.id)
    name = f"{data['profile_id']}.json"
    return JSONResponse(data, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@pages.get("/customers/{profile_id}/erase")
def erase_page(request: Request, member: SignedIn, session: DbSession, profile_id: str) -> Response:
    """The confirmation page: what erasure removes, the two modes, and the id to type back."""
    member.require(Role.ADMIN)
    service = ProfileService(session)
    person = service.person(member.workspace.id, profile_id)
    context = {
        "member": member,
        "profile": person.profile,
        "identifier_count": len(person.identifiers),
        "absorbed": person.absorbed_ids,
        "error": None,
    }
    return render(request, "customer_erase.html", context)


@pages.post("/customers/{profile_id}/erase")
def erase(
    request: Request,
    member: SignedIn,
    session: DbSession,
    profile_id: str,
    confirm: Annotated[str, Form()] = "",
    mode: Annotated[str, Form()] = ErasureMode.DELETE.value,
) -> Response:
    """Erase the customer everywhere; admins only, and only with the id typed back."""
    member.require(Role.ADMIN)
    service = ProfileService(session)
    person = service.person(member.workspace.id, profile_id)
    try:
        chosen = ErasureMode(mode)
    except ValueError:
        chosen = None
    if confirm.strip() != person.profile.id or chosen is None:
        problem = InvalidInput(
            "Type the customer's id exactly to confirm."
            if chosen is not None
            else "Choose delete or anonymise.",
            field="confirm" if chosen is not None else "mode",
        )
        context = {
            "member": member,
            "profile": person.profile,
            "identifier_count": len(person.identifiers),
            "absorbed": person.absorbed_ids,
            "error": problem,
        }
        return render(request, "customer_erase.html", context, status=problem.status)
    erasure = PrivacyService(session).erase(
        member.workspace.id, person.profile.id, chosen, actor=member.user.id
    )
    flash(
        request,
        f"Erased {erasure.profile_id} ({chosen.value}) as {erasure.id}: only salted hashes "
        "remain, so a replay of their data re-creates nothing.",
    )
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": "/customers"})
    return RedirectResponse("/customers", status_code=303)
