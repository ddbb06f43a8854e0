"""A TikTok Shop guest is the web customer at the same street address: through the real HTTP
API, the CLI and the worker, the guest's order joins her web profile by name and address, her
email stays her own, consent never takes the relay address, and two other buyers whose orders
carry relay addresses (one of them hers) are never merged by them."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.worker import build_worker
from tests.dashboard.conftest import sign_in
from tests.support.cli import invoke
from tests.support.connectors import fixture_json
from tests.support.factories import Tenant, make_tenant

MAYA_EMAIL = "maya.chen@gmail.com"
MAYA_RELAY = "v9q2k1x7b3@scs.tiktokw.us"  # the buyer_email of tests/fixtures/tiktok/order.json


def basic(token: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{token}:".encode()).decode()}


def web_sign_up() -> dict[str, Any]:
    """Maya creates her account on the site: analytics.js identify with Segment's traits."""
    return {
        "type": "identify",
        "messageId": "web-signup-maya",
        "userId": "u-maya",
        "anonymousId": "web-maya",
        "timestamp": "2026-11-02T18:04:00Z",
        "traits": {
            "email": MAYA_EMAIL,
            "firstName": "Maya",
            "lastName": "Chen",
            "address": {
                "street": "1200 Harbor Blvd",
                "city": "Oxnard",
                "postalCode": "93035",
                "country": "US",
            },
        },
    }


def tiktok_order(order_id: str, user_id: str, email: str, **recipient: str) -> dict[str, Any]:
    """The fixture order with another id, buyer, relay address and recipient."""
    order = fixture_json("tiktok/order.json")
    return {
        **order,
        "id": order_id,
        "user_id": user_id,
        "buyer_email": email,
        "recipient_address": {**order["recipient_address"], **recipient},
    }


def profile(client: TestClient, tenant: Tenant, profile_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/profiles/{profile_id}", headers=tenant.auth)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def find(client: TestClient, tenant: Tenant, query: str) -> list[dict[str, Any]]:
    response = client.get("/v1/profiles", params={"q": query}, headers=tenant.auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_tiktok_guest_joins_her_web_profile_by_address_and_relay_buyers_stay_apart(
    session: Session,
    client: TestClient,
    settings: Settings,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    """Maya signed up on the site; weeks later she orders on TikTok Shop as a guest, with a
    relay address, a masked phone and her street address (imported with the CLI). Omar's
    order (through the API) carries Maya's very relay address, Ines's another one at the same
    domain. After the worker: Maya is one profile holding the TikTok order, merged by the
    matcher on her name and address; her email is her own; the relay address cannot take
    consent; Omar and Ines are people of their own."""
    tenant = make_tenant(session, "relay-e2e")
    worker = build_worker(settings, session_factory)
    signed_up = client.post("/v1/batch", headers=basic(tenant.write_token),
                            json={"batch": [web_sign_up()]})  # fmt: skip
    worker.run_until_idle()
    (web,) = find(client, tenant, MAYA_EMAIL)

    orders = tmp_path / "tiktok-orders.jsonl"
    orders.write_text(json.dumps(fixture_json("tiktok/order.json")) + "\n")
    code, imported = invoke(
        settings, session_factory, "import", "orders", str(orders), "--format", "tiktok",
        "-w", tenant.slug,
    )  # fmt: skip
    others = client.post(
        "/v1/connectors/tiktok/orders",
        headers=tenant.auth,
        json={"orders": [
            tiktok_order("576461413038700001", "7494845992346000001", MAYA_RELAY,
                         name="Omar Haddad", first_name="Omar", last_name="Haddad",
                         address_line1="88 Fifth Ave", postal_code="10011"),
            tiktok_order("576461413038700002", "7494845992346000002", "k2p8@scs.tiktokw.us",
                         name="Ines Moreau", first_name="Ines", last_name="Moreau",
                         address_line1="4 Rue Lafayette Ct", postal_code="78704"),
        ]},
    )  # fmt: skip
    worker.run_until_idle()

    assert signed_up.status_code == 200 and others.status_code == 200, others.text
    assert code == 0, imported
    maya = profile(client, tenant, web["id"])
    assert maya["id"] == web["id"]  # the web profile survived and holds the order
    assert maya["traits"]["email"] == MAYA_EMAIL
    assert (maya["traits"]["relay_email"], maya["traits"]["address_line"]) == (
        MAYA_RELAY,
        "1200 Harbor Blvd",
    )
    assert maya["computed"]["order_count"] == 1
    assert maya["computed"]["channels"] == ["tiktok_shop", "web"]
    kinds = {(i["type"], i["value"]): i["source"] for i in maya["identifiers"]}
    assert kinds[("relay_email", MAYA_RELAY)] == "tiktok_shop"
    assert ("email", MAYA_RELAY) not in kinds
    (merge,) = maya["merges"]
    evidence = {f["comparison"]: f["level"] for f in merge["evidence"]["fields"]}
    assert merge["cause_kind"] == "match"
    assert (evidence["address_line"], evidence["last_name"], evidence["postcode"]) == (
        "exact",
        "exact",
        "exact",
    )
    assert evidence["email"] == "missing"  # the relay address was never compared

    # Omar carries Maya's relay address and Ines another: neither joined anyone.
    (omar,) = find(client, tenant, "Omar Haddad")
    (ines,) = find(client, tenant, "Ines Moreau")
    assert len({maya["id"], omar["id"], ines["id"]}) == 3
    omar_ids = {(i["type"], i["value"]) for i in profile(client, tenant, omar["id"])["identifiers"]}
    assert ("relay_email", MAYA_RELAY) not in omar_ids
    assert [hit["id"] for hit in find(client, tenant, MAYA_RELAY)] == [maya["id"]]
    assert omar["email"] is None and ines["email"] is None

    # Consent is the person's: the relay address cannot carry it, her own email can.
    consent = {"purpose": "marketing", "channel": "email", "status": "granted",
               "source": "https://saltwater.example/account"}  # fmt: skip
    as_relay = client.post(f"/v1/profiles/{maya['id']}/consents", headers=tenant.auth,
                           json={**consent, "identifier_type": "relay_email",
                                 "identifier_value": MAYA_RELAY})  # fmt: skip
    relay_as_email = client.post(f"/v1/profiles/{maya['id']}/consents", headers=tenant.auth,
                                 json={**consent, "identifier_type": "email",
                                       "identifier_value": MAYA_RELAY})  # fmt: skip
    own = client.post(f"/v1/profiles/{maya['id']}/consents", headers=tenant.auth,
                      json={**consent, "identifier_type": "email",
                            "identifier_value": MAYA_EMAIL})  # fmt: skip
    assert (as_relay.status_code, relay_as_email.status_code, own.status_code) == (422, 422, 201)
    assert as_relay.json()["field"] == "identifier_type"
    assert relay_as_email.json()["field"] == "identifier_value"
    current = client.get(f"/v1/profiles/{maya['id']}/consents", headers=tenant.auth).json()
    assert [c["identifier_value"] for c in current["current"]] == [MAYA_EMAIL]

    # The clerk's views: the CLI's 360 and the dashboard's page.
    code, shown = invoke(
        settings, session_factory, "profiles", "show", maya["id"], "-w", tenant.slug
    )
    signed_in = sign_in(client, tenant.owner_email)
    page = client.get(f"/customers/{maya['id']}")
    assert code == 0 and signed_in.status_code == 303
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in shown.splitlines()
        if line.startswith("│")
    ]
    assert ["email", MAYA_EMAIL] in rows  # the trait
    assert ["relay_email", MAYA_RELAY] in rows
    assert ["relay_email", MAYA_RELAY, MAYA_RELAY] in [row[:3] for row in rows]  # the identity
    assert page.status_code == 200
    assert "address line (exact)" in page.text
    options = page.text.split('id="consent-identifier"')[1].split("</select>")[0]
    assert "relay_email" not in options
    assert options.split("<option")[1].split(">")[1].startswith(f"email: {MAYA_EMAIL}")
