"""Isolation probe of a journey's metrics: workspace A's key asks for B's journey's numbers
(``tests/http/test_isolation.py`` runs it)."""

from __future__ import annotations

from sqlalchemy.orm import Session

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
