"""Isolation probes of the segment and audience routes: workspace A's key against B's
segments, members, audiences and exports (``tests/http/test_isolation.py`` runs them)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tessera.segment.membership import Membership
from tessera.segment.service import SegmentService
from tests.message.world import person
from tests.support.factories import Tenant
from tests.support.isolation import Probe

EVERYONE = {"kind": "trait", "trait": "email", "op": "exists"}


def segment_probes(session: Session, b: Tenant) -> list[Probe]:
    bea = person(session, b.workspace_id, "u-bea-seg", email="bea@bravo.example")
    service = SegmentService(session)
    seg = service.create(b.workspace_id, "Bravo people", EVERYONE)
    Membership(session).recompute(b.workspace_id, [bea.profile_id])
    audience = service.create_audience(b.workspace_id, "Bravo list", seg.id, actor="probe")
    one = f"/v1/segments/{seg.id}"
    aud = f"/v1/audiences/{audience.id}"
    return [
        Probe("/v1/segments", "GET", "/v1/segments", "only_own"),
        Probe("/v1/segments", "POST", "/v1/segments", "only_own",
              json={"name": "Bravo people", "rule": EVERYONE}),
        Probe("/v1/segments/preview", "POST", "/v1/segments/preview", "only_own",
              json={"rule": EVERYONE}),
        Probe("/v1/segments/{segment_id}", "GET", one, "not_found"),
        Probe("/v1/segments/{segment_id}", "PATCH", one, "not_found", json={"name": "Mine"}),
        Probe("/v1/segments/{segment_id}", "DELETE", one, "not_found"),
        Probe("/v1/segments/{segment_id}/members", "GET", f"{one}/members", "not_found"),
        Probe("/v1/audiences", "GET", "/v1/audiences", "only_own"),
        Probe("/v1/audiences", "POST", "/v1/audiences", "not_found",
              json={"name": "Stolen", "segment_id": seg.id}),
        Probe("/v1/audiences/{audience_id}", "GET", aud, "not_found"),
        Probe("/v1/audiences/{audience_id}", "DELETE", aud, "not_found"),
        Probe("/v1/audiences/{audience_id}/members/{profile_id}", "PUT",
              f"{aud}/members/{bea.profile_id}", "not_found"),
        Probe("/v1/audiences/{audience_id}/members/{profile_id}", "DELETE",
              f"{aud}/members/{bea.profile_id}", "not_found"),
        Probe("/v1/audiences/{audience_id}/export", "GET", f"{aud}/export", "not_found"),
    ]  # fmt: skip
