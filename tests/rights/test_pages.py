"""The content library shows each asset's rights standing: licensed (with its end), a license
ending within 30 days, a license ended, no license."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.kit.time import ManualClock
from tessera.rights.service import RightsService
from tests.dashboard.conftest import sign_in
from tests.rights.assets import an_asset
from tests.rights.conftest import NOW
from tests.rights.test_service import email_until_march
from tests.support.factories import make_tenant


def test_the_library_badges_each_assets_rights(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    tenant = make_tenant(session, "glow")
    ws = tenant.workspace_id
    year, soon, gone, bare = (an_asset(session, ws, seed) for seed in (1, 2, 3, 4))
    rights = RightsService(session, clock)
    today = NOW.date()
    rights.grant(ws, email_until_march(asset_id=year, first_day=today - timedelta(days=10),
                                       last_day=today + timedelta(days=300)))  # fmt: skip
    rights.grant(ws, email_until_march(asset_id=soon, first_day=today - timedelta(days=10),
                                       last_day=today + timedelta(days=6)))  # fmt: skip
    rights.grant(ws, email_until_march(asset_id=gone, first_day=today - timedelta(days=60),
                                       last_day=today - timedelta(days=2)))  # fmt: skip
    session.commit()
    assert sign_in(client, tenant.owner_email).status_code == 303

    page = client.get("/content")
    standings = rights.standings(ws, [year, soon, gone, bare])

    assert page.status_code == 200
    assert {k: v.state for k, v in standings.items()} == {
        year: "licensed", soon: "ending", gone: "ended", bare: "none",
    }  # fmt: skip
    for state in ("licensed", "ending", "ended", "none"):
        assert f'data-rights="{state}"' in page.text
    assert "license ends" in page.text and "license ended" in page.text
