"""Isolation probe of a journey's metrics: workspace A's key asks for B's journey's numbers
(``tests/http/test_isolation.py`` runs it)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tessera.journey import library
from tessera.journey.service import JourneyService
from tests.journey.flows import journey_doc, make_templates
from tests.support.factories import Tenant
from tests.support.isolation import Probe


def journey_metrics_probes(session: Session, b: Tenant) -> list[Probe]:
    make_templates(session, b.workspace_id, journey_doc())
    service = JourneyService(session)
    live = service.create(b.workspace_id, journey_doc(), actor="probe")
    service.publish(b.workspace_id, live.id, actor="probe")
    path = f"/v1/journeys/{live.id}/metrics"
    return [Probe("/v1/journeys/{journey_id}/metrics", "GET", path, "not_found")]


def journey_library_probes(session: Session, b: Tenant) -> list[Probe]:
    """B has installed the abandoned cart (its templates and a draft): A's install makes A's
    own, and B's draft and templates stay as they were."""
    library.install(session, b.workspace_id, "abandoned_cart", actor="probe")
    return [
        Probe("/v1/journeys/library", "GET", "/v1/journeys/library", "only_own"),
        Probe("/v1/journeys/library/{name}/install", "POST",
              "/v1/journeys/library/abandoned_cart/install", "only_own"),
    ]  # fmt: skip
