"""Isolation probes of ``/v1/reports``: workspace A's key asks for reports while only B has
orders (``tests/http/test_isolation.py`` runs them; the report tests check A sees none)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.analytics.layer.worlds import small_shop
from tests.support.factories import Tenant
from tests.support.isolation import Probe


def report_probes(session: Session, b: Tenant) -> list[Probe]:
    small_shop(session, b.workspace_id)
    window = "from=2026-01-01&to=2026-03-31"
    return [
        Probe("/v1/reports/retention", "GET", f"/v1/reports/retention?{window}", "only_own"),
        Probe("/v1/reports/omnichannel", "GET", f"/v1/reports/omnichannel?{window}", "only_own"),
        Probe("/v1/reports/attribution", "GET", f"/v1/reports/attribution?{window}", "only_own"),
        Probe("/v1/reports/clv", "GET", "/v1/reports/clv?to=2026-03-31", "only_own"),
        Probe("/v1/reports/forecast", "GET", "/v1/reports/forecast", "only_own"),
        Probe("/v1/reports/advice", "GET", f"/v1/reports/advice?{window}", "only_own"),
        Probe("/v1/reports/mmm-export", "GET", f"/v1/reports/mmm-export?{window}", "only_own"),
    ]
