"""The loyalty pages: the overview with the liability and members per tier, a member's ledger
(another workspace's member is not found), and the public registration form the QR code
opens, which registers once and re-shows itself naming the field at fault."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.kit.time import ManualClock
from tessera.loyalty.service import LoyaltyService
from tessera.models.loyalty import LoyaltyRegistration
from tests.dashboard.conftest import csrf_from, sign_in
from tests.loyalty.world import person, product, program, run_jobs
from tests.support.factories import Tenant, make_tenant


@pytest.fixture
def tenant(session: Session) -> Tenant:
    tenant = make_tenant(session, "acme")
    program(session, tenant.workspace_id)
    product(session, tenant.workspace_id)
    session.commit()
    return tenant


def test_the_overview_shows_the_liability_and_a_members_ledger(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    """250 points adjusted, 200 spent on a code: 50 outstanding, one member with no tier,
    the ledger with both entries and the code; B's member is not found."""
    ws = tenant.workspace_id
    ana = person(session, ws, "u-ana", "ana@example.com")
    service = LoyaltyService(session)
    service.adjust(ws, ana, 250, "welcome", "k1", "test")
    code = service.redeem_reward(ws, ana, "ten-off", "r1")
    other = make_tenant(session, "bravo")
    program(session, other.workspace_id)
    bea = person(session, other.workspace_id, "u-bea", "bea@example.com")
    LoyaltyService(session).adjust(other.workspace_id, bea, 10, "x", "k1", "test")
    session.commit()
    assert sign_in(client, tenant.owner_email).status_code == 303

    page = client.get("/loyalty")
    ledger = client.get(f"/loyalty/members/{ana}")
    theirs = client.get(f"/loyalty/members/{bea}")

    assert page.status_code == 200
    assert '<dd id="outstanding">50</dd>' in page.text
    assert f"/loyalty/members/{ana}" in page.text and bea not in page.text
    assert ledger.status_code == 200
    assert code.code in ledger.text and "+250" in ledger.text and "-200" in ledger.text
    assert theirs.status_code == 404


def test_the_qr_form_registers_once_without_signing_in(
    client: TestClient, session: Session, tenant: Tenant, clock: ManualClock
) -> None:
    """The form registers a purchase; the same receipt again is refused on the page (409)
    naming the receipt; a NUL in the serial is refused (422); a forged key is not found."""
    key = LoyaltyService(session).program(tenant.workspace_id).registration_key
    form = client.get(f"/register/{key}")
    fields = {"email": "lee@example.com", "name": "Lee Park", "sku": "KETTLE-1",
              "serial": "SN-1", "retailer": "Target", "receipt_number": "R-1",
              "csrf_token": csrf_from(form)}  # fmt: skip

    done = client.post(f"/register/{key}", data=fields)
    again = client.post(f"/register/{key}", data={**fields, "serial": "SN-2"})
    nul = client.post(f"/register/{key}", data={**fields, "serial": "SN\x003"})
    forged = client.get("/register/lrk_forged", headers={"accept": "text/html"})
    run_jobs(session, clock)

    assert form.status_code == 200 and 'name="receipt_number"' in form.text
    assert done.status_code == 200 and "150 points are on their way" in done.text
    assert again.status_code == 409 and "receipt R-1 from target was already registered" in (
        again.text
    )
    assert 'id="receipt_number" name="receipt_number" type="text" value="R-1" required ' \
           'aria-invalid="true"' in again.text  # fmt: skip
    assert nul.status_code == 422 and "NUL" in nul.text
    assert forged.status_code == 404
    rows = session.scalars(select(LoyaltyRegistration)).all()
    assert [(r.serial, r.points) for r in rows] == [("SN-1", 150)]
    assert rows[0].profile_id is not None
