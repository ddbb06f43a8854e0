"""Isolation probes of the rights routes: workspace A's key against B's licenses,
authorisations and placements (``tests/http/test_isolation.py`` runs them)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from tessera.rights.domain import Usage, Use
from tessera.rights.service import LicenseDraft, RightsService
from tests.rights.assets import an_asset
from tests.support.factories import Tenant
from tests.support.isolation import Probe

AT = datetime(2027, 2, 1, tzinfo=UTC)


def rights_probes(session: Session, b: Tenant) -> list[Probe]:
    ws = b.workspace_id
    bravo = an_asset(session, ws)
    rights = RightsService(session, lambda: AT)
    granted = rights.grant(ws, LicenseDraft(bravo, ["email", "partnership"],
                                            date(2027, 1, 1), date(2027, 2, 10)))  # fmt: skip
    spark = rights.authorise(ws, bravo, "tiktok", AT, 30)
    rights.place(ws, bravo, Use("email", Usage.EMAIL, "US", AT), "template:b")
    base = "/v1/rights"
    use = {"asset_id": bravo, "channel": "email", "usage": "email", "territory": "US",
           "at": AT.isoformat()}  # fmt: skip
    return [
        Probe(f"{base}/licenses", "GET", f"{base}/licenses?asset_id={bravo}", "only_own"),
        Probe(f"{base}/licenses", "POST", f"{base}/licenses", "only_own",
              json={"asset_id": "ast_alpha", "usages": ["email"], "first_day": "2027-01-01"}),
        Probe(f"{base}/licenses/expiring", "GET", f"{base}/licenses/expiring?days=60", "only_own"),
        Probe(f"{base}/licenses/{{license_id}}", "GET", f"{base}/licenses/{granted.id}",
              "not_found"),
        Probe(f"{base}/licenses/{{license_id}}/revoke", "POST",
              f"{base}/licenses/{granted.id}/revoke", "not_found"),
        Probe(f"{base}/authorisations", "POST", f"{base}/authorisations", "only_own",
              json={"asset_id": "ast_alpha", "platform": "tiktok", "granted_at": AT.isoformat()}),
        Probe(f"{base}/authorisations/{{grant_id}}/revoke", "POST",
              f"{base}/authorisations/{spark.id}/revoke", "not_found"),
        Probe(f"{base}/check", "POST", f"{base}/check", "only_own", json=use),
        Probe(f"{base}/placements", "POST", f"{base}/placements", "only_own",
              json={**use, "ref": "template:a"}),
        Probe(f"{base}/placements", "GET", f"{base}/placements", "only_own"),
        Probe(f"{base}/takedowns", "POST", f"{base}/takedowns", "only_own"),
    ]  # fmt: skip
