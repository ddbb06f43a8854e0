"""Journey pages: the list with how many people entered, are inside and left each journey
(and why), and one journey's graph drawn on the server as SVG with each step's counts and
messages, beside its conversions (``journey.metrics``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from tessera.dashboard.session import Member, SignedIn, flash
from tessera.dashboard.web import DashboardRoute, render
from tessera.http.routing import DbSession
from tessera.journey import layout, library
from tessera.journey.definition import DefinitionError
from tessera.journey.metrics import MetricsService
from tessera.journey.schemas import DEFINITION_EXAMPLE
from tessera.journey.service import JourneyService, StepCounts
from tessera.kit.errors import InvalidInput
from tessera.kit.money import Money
from tessera.models.journey import JourneyStatus
from tessera.models.workspace import Role

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)

JOURNEY_LIMIT = 100


@pages.get("/journeys")
def journeys(
    request: Request, member: SignedIn, session: DbSession, status: str = "all"
) -> Response:
    """Every journey, newest first, with people entered, inside and out by reason."""
    try:
        chosen = JourneyStatus(status) if status != "all" else None
    except ValueError:
        raise InvalidInput(
            "status must be draft, live, paused, archived or all", field="status"
        ) from None
    service = JourneyService(session)
    page = service.list_journeys(member.workspace.id, chosen, None, JOURNEY_LIMIT)
    totals = service.totals([journey.id for journey in page.items])
    context: dict[str, Any] = {
        "member": member,
        "rows": [(journey, totals[journey.id]) for journey in page.items],
        "status": status,
        "statuses": ["all", *(s.value for s in JourneyStatus)],
        "truncated": page.next_cursor is not None,
        "can_edit": member.can(Role.MARKETER),
    }
    return render(request, "journeys.html", context)


@pages.get("/journeys/new")
def new_journey(
    request: Request, member: SignedIn, session: DbSession, start: str = ""
) -> Response:
    """The editor: a definition as JSON, started from a shipped journey (``start``) or the
    example, saved as a draft or saved and published in one go."""
    document = library.find(start).definition if start else DEFINITION_EXAMPLE
    return _editor(request, member, json.dumps(document, indent=2), start)


@pages.post("/journeys/new")
def create_journey(
    request: Request,
    member: SignedIn,
    session: DbSession,
    definition: Annotated[str, Form()] = "",
    publish: Annotated[str, Form()] = "",
) -> Response:
    """Create the journey from the editor's JSON (and publish it when asked). A document that
    is not JSON, or a journey refused at save or publish, is shown again with every fault by
    step and field, and nothing is created."""
    member.require(Role.MARKETER)
    try:
        document = json.loads(definition)
    except json.JSONDecodeError as exc:
        problem = InvalidInput(
            f"line {exc.lineno}, column {exc.colno}: {exc.msg}", field="definition"
        )
        return _editor(request, member, definition, "", problem)
    service = JourneyService(session)
    try:
        with session.begin_nested():
            found = service.create(member.workspace.id, document, actor=member.user.id)
            if publish:
                found = service.publish(member.workspace.id, found.id, actor=member.user.id)
    except DefinitionError as problem:
        return _editor(request, member, definition, "", problem)
    flash(request, f"{'Published' if publish else 'Saved a draft of'} “{found.name}”.")
    return RedirectResponse(f"/journeys/{found.id}", status_code=303)


@pages.post("/journeys/{journey_id}/publish")
def publish_journey(
    request: Request, member: SignedIn, session: DbSession, journey_id: str
) -> Response:
    """Publish the newest version; a refusal is flashed with the step and field at fault."""
    member.require(Role.MARKETER)
    try:
        found = JourneyService(session).publish(
            member.workspace.id, journey_id, actor=member.user.id
        )
    except DefinitionError as problem:
        flash(request, f"Not published: {problem.detail}", "error")
        return RedirectResponse(f"/journeys/{journey_id}", status_code=303)
    flash(request, f"Published “{found.name}”, version {found.live_version}.")
    return RedirectResponse(f"/journeys/{found.id}", status_code=303)


def _editor(
    request: Request,
    member: Member,
    text: str,
    start: str,
    error: InvalidInput | None = None,
) -> Response:
    context: dict[str, Any] = {
        "member": member,
        "text": text,
        "start": start,
        "shipped": library.shipped(),
        "error": error,
        "faults": getattr(error, "faults", []),
        "can_edit": member.can(Role.MARKETER),
    }
    return render(request, "journey_new.html", context, status=422 if error else 200)


@pages.get("/journeys/{journey_id}")
def journey(
    request: Request,
    member: SignedIn,
    session: DbSession,
    journey_id: str,
    version: int | None = None,
) -> Response:
    """One journey drawn as its graph (the live version, or ``version``), each step with the
    people who entered it, wait there and left there, over every version, and its messages
    sent, delivered and clicked; then conversions within 7 days, and each holdout's."""
    service = JourneyService(session)
    found = service.get(member.workspace.id, journey_id)
    versions = service.versions(member.workspace.id, found.id)
    shown = version or found.live_version or found.latest_version
    definition = service.definition(service.version(member.workspace.id, found.id, shown))
    counts = service.step_counts(member.workspace.id, found.id)
    metrics = MetricsService(session).metrics(member.workspace.id, found.id)
    drawing = layout.lay_out(definition)
    drawn = {box.step for box in drawing.boxes}
    context: dict[str, Any] = {
        "member": member,
        "journey": found,
        "versions": versions,
        "shown": shown,
        "definition": definition,
        "drawing": drawing,
        "box_width": layout.BOX_WIDTH,
        "box_height": layout.BOX_HEIGHT,
        "counts": {box.step: counts.get(box.step, StepCounts(box.step)) for box in drawing.boxes},
        # Steps of other versions that people are at or passed: listed under the graph.
        "elsewhere": [count for step, count in sorted(counts.items()) if step not in drawn],
        "totals": service.totals([found.id])[found.id],
        "metrics": metrics,
        "sends": {step.step: step for step in metrics.steps},
        "money": lambda amount, code: str(Money(amount, code)),
        "can_edit": member.can(Role.MARKETER),
    }
    return render(request, "journey.html", context)
