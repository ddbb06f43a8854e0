"""The loyalty API: the program replaced whole, adjustments, rewards taken as codes and codes
used once at a till, the public product registration, and hostile input refused naming the
field with nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.kit.time import ManualClock
from tessera.loyalty.service import LoyaltyService
from tessera.models.collect import Event
from tessera.models.loyalty import LoyaltyEntry, LoyaltyRegistration
from tests.loyalty.world import person, product, run_jobs
from tests.support.factories import Tenant, make_tenant

PROGRAM: dict[str, Any] = {
    "points_per_unit": 1,
    "registration_points": 150,
    "expiry_months": 12,
    "tiers": [{"name": "Gold", "threshold": 500}, {"name": "Silver", "threshold": 100}],
    "rewards": [
        {"key": "ten-off", "name": "$10 off", "points_cost": 200, "kind": "amount", "value": 1000}
    ],
}


@pytest.fixture
def tenant(session: Session) -> Tenant:
    tenant = make_tenant(session, "acme")
    product(session, tenant.workspace_id)
    session.commit()
    return tenant


@pytest.fixture
def program(client: TestClient, tenant: Tenant) -> dict[str, Any]:
    response = client.put("/v1/loyalty/program", json=PROGRAM, headers=tenant.auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def ana(session: Session, tenant: Tenant) -> str:
    profile_id = person(session, tenant.workspace_id, "u-ana", "ana@example.com")
    session.commit()
    return profile_id


def entries(session: Session, workspace_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(LoyaltyEntry)
            .where(LoyaltyEntry.workspace_id == workspace_id)
        )
        or 0
    )


def test_the_program_is_saved_whole_with_tiers_in_order(
    client: TestClient, tenant: Tenant, program: dict[str, Any]
) -> None:
    """PUT then GET: the workspace's currency, tiers by threshold, a registration key."""
    response = client.get("/v1/loyalty/program", headers=tenant.auth)

    assert response.status_code == 200
    body = response.json()
    assert body["currency"] == "USD"
    assert [t["name"] for t in body["tiers"]] == ["Silver", "Gold"]
    assert body["registration_key"].startswith("lrk_")
    assert body["registration_key"] == program["registration_key"]


def test_adjust_then_redeem_a_reward_for_a_code_used_once(
    client: TestClient, tenant: Tenant, program: dict[str, Any], ana: str
) -> None:
    """250 points buy one $10 code; the till redeems it for order #1042 once, the same
    order again gets the same answer, another order 409."""
    adjusted = client.post(
        f"/v1/loyalty/members/{ana}/adjustments",
        headers=tenant.auth,
        json={"points": 250, "reason": "welcome", "idempotency_key": "a1"},
    )
    again = client.post(
        f"/v1/loyalty/members/{ana}/adjustments",
        headers=tenant.auth,
        json={"points": 250, "reason": "welcome", "idempotency_key": "a1"},
    )
    code = client.post(f"/v1/loyalty/members/{ana}/redemptions", headers=tenant.auth,
                       json={"reward": "ten-off", "idempotency_key": "r1"})  # fmt: skip
    assert (adjusted.status_code, again.status_code, code.status_code) == (201, 201, 201)
    assert again.json()["id"] == adjusted.json()["id"]
    typed = code.json()["code"].lower().replace("-", " ")

    used = client.post(
        f"/v1/loyalty/codes/{typed}/redeem",
        headers=tenant.auth,
        json={"order_reference": "#1042", "channel": "store"},
    )
    retried = client.post(
        f"/v1/loyalty/codes/{typed}/redeem",
        headers=tenant.auth,
        json={"order_reference": "#1042", "channel": "store"},
    )
    other = client.post(f"/v1/loyalty/codes/{typed}/redeem", headers=tenant.auth,
                        json={"order_reference": "#2000"})  # fmt: skip
    member = client.get(f"/v1/loyalty/members/{ana}", headers=tenant.auth).json()

    assert (used.status_code, retried.status_code, other.status_code) == (200, 200, 409)
    assert used.json()["redeemed_order_ref"] == "#1042"
    assert retried.json() == used.json()
    assert other.headers["content-type"] == "application/problem+json"
    assert "#1042" in other.json()["detail"]
    assert member["balance"] == 50
    assert [c["redeemed_channel"] for c in member["codes"]] == ["store"]


def test_a_redemption_short_of_points_is_refused_and_writes_nothing(
    session: Session, client: TestClient, tenant: Tenant, program: dict[str, Any], ana: str
) -> None:
    """199 points do not buy a 200-point reward: 409, no entry, no code."""
    client.post(f"/v1/loyalty/members/{ana}/adjustments", headers=tenant.auth,
                json={"points": 199, "reason": "x", "idempotency_key": "a1"})  # fmt: skip
    before = entries(session, tenant.workspace_id)

    response = client.post(f"/v1/loyalty/members/{ana}/redemptions", headers=tenant.auth,
                           json={"reward": "ten-off", "idempotency_key": "r1"})  # fmt: skip

    assert response.status_code == 409
    assert response.json()["field"] == "reward"
    assert entries(session, tenant.workspace_id) == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("adjustments", {"points": -5, "reason": "x", "idempotency_key": "n1"}, "points"),
        ("adjustments", {"points": 10**12, "reason": "x", "idempotency_key": "n2"}, "points"),
        ("adjustments", {"points": 0, "reason": "x", "idempotency_key": "n3"}, None),
        ("redemptions", {"reward": "free-car", "idempotency_key": "r9"}, "reward"),
    ],
)
def test_hostile_adjustments_and_redemptions_are_refused_naming_the_field(
    session: Session,
    client: TestClient,
    tenant: Tenant,
    program: dict[str, Any],
    ana: str,
    path: str,
    body: dict[str, Any],
    field: str | None,
) -> None:
    """Negative points past the balance, huge points, zero points and an unknown reward."""
    response = client.post(f"/v1/loyalty/members/{ana}/{path}", headers=tenant.auth, json=body)

    assert response.status_code in (409, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert field in response.text
    assert entries(session, tenant.workspace_id) == 0


def registration(**change: str) -> dict[str, str]:
    return {
        "email": "Lee@Example.com", "name": "Lee Park", "sku": "KETTLE-1", "serial": "SN-0001",
        "retailer": "Target", "receipt_number": "R-77", **change,
    }  # fmt: skip


def test_a_retail_purchase_registered_once_earns_once(
    session: Session,
    client: TestClient,
    tenant: Tenant,
    program: dict[str, Any],
    clock: ManualClock,
) -> None:
    """The QR form's registration makes the profile and earns 150 points; the same receipt
    or the same serial again is a 409 naming which, and earns nothing more."""
    key = program["registration_key"]
    first = client.post(f"/v1/loyalty/registrations/{key}", json=registration())
    same_receipt = client.post(
        f"/v1/loyalty/registrations/{key}",
        json=registration(serial="SN-0002", receipt_number=" r-77 "),
    )
    same_serial = client.post(
        f"/v1/loyalty/registrations/{key}",
        json=registration(receipt_number="R-78", serial="sn-0001"),
    )
    session.expire_all()
    run_jobs(session, clock)

    assert first.status_code == 201, first.text
    assert (same_receipt.status_code, same_serial.status_code) == (409, 409)
    assert same_receipt.json()["field"] == "receipt_number"
    assert same_serial.json()["field"] == "serial"
    assert "already registered" in same_serial.json()["detail"]
    row = session.scalars(select(LoyaltyRegistration)).one()
    assert row.profile_id is not None
    assert LoyaltyService(session).member(tenant.workspace_id, row.profile_id).balance == 150
    event = session.scalars(select(Event).where(Event.event == "Product Registered")).one()
    assert event.payload["properties"]["sku"] == "KETTLE-1"


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"serial": "SN\x000001"}, 422, "serial"),
        ({"receipt_number": "9" * 5000}, 422, "receipt_number"),
        ({"sku": "NOT-OURS"}, 422, "sku"),
        ({"email": "not-an-email"}, 422, "email"),
    ],
)
def test_hostile_registrations_are_refused_naming_the_field(
    session: Session,
    client: TestClient,
    program: dict[str, Any],
    change: dict[str, str],
    status: int,
    field: str,
) -> None:
    """A NUL in the serial, a 5,000-digit receipt, an unknown SKU, a bad email."""
    response = client.post(
        f"/v1/loyalty/registrations/{program['registration_key']}", json=registration(**change)
    )

    assert response.status_code == status, response.text
    assert field in response.text
    assert session.scalars(select(LoyaltyRegistration)).all() == []


def test_an_unknown_registration_key_is_not_found(client: TestClient) -> None:
    """A forged QR address: 404, whatever it names."""
    response = client.post("/v1/loyalty/registrations/lrk_nope", json=registration())

    assert response.status_code == 404


def test_members_list_balances_and_the_ledger(
    client: TestClient, tenant: Tenant, program: dict[str, Any], ana: str
) -> None:
    """The members page shows each balance; the ledger lists entries newest first."""
    for i, points in enumerate((120, 30)):
        client.post(f"/v1/loyalty/members/{ana}/adjustments", headers=tenant.auth,
                    json={"points": points, "reason": "x", "idempotency_key": f"k{i}"})  # fmt: skip

    members = client.get("/v1/loyalty/members", headers=tenant.auth).json()
    ledger = client.get(f"/v1/loyalty/members/{ana}/entries", headers=tenant.auth).json()

    assert [(m["profile_id"], m["balance"]) for m in members["items"]] == [(ana, 150)]
    assert [e["points"] for e in ledger["items"]] == [30, 120]


def test_no_program_yet_is_a_clear_404(client: TestClient, tenant: Tenant) -> None:
    """GET before any PUT names what to do."""
    response = client.get("/v1/loyalty/program", headers=tenant.auth)

    assert response.status_code == 404
    assert "PUT" in response.json()["detail"]
