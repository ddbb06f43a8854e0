"""Journey pages: the list with how many people entered, are inside and left each journey
(and why), and one journey's graph drawn on the server as SVG with each step's counts and
messages, beside its conversions (``journey.metrics``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from tessera.dashboard.session import SignedIn
from tessera.dashboard.web import DashboardRoute, render
from tessera.http.routing import DbSession
from tessera.journey import layout
from tessera.journey.metrics import MetricsService
from tessera.journey.service import JourneyService, StepCounts
from tessera.kit.errors import InvalidInput
from tessera.kit.money import Money
from tessera.models.journey import JourneyStatus

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
    }
    return render(request, "journeys.html", context)


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
    }
    return render(request, "journey.html", context)
