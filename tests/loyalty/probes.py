"""Isolation probes of the loyalty routes: workspace A's key against B's program, members,
ledger, codes and registrations (``tests/http/test_isolation.py`` runs them)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tessera.loyalty.registration import Registrations
from tessera.loyalty.schemas import RegistrationIn
from tessera.loyalty.service import LoyaltyService
from tests.loyalty.world import person, product, program
from tests.support.factories import Tenant
from tests.support.isolation import Probe


def loyalty_probes(session: Session, b: Tenant) -> list[Probe]:
    ws = b.workspace_id
    program(session, ws)
    product(session, ws, "BRAVO-KETTLE")
    bea = person(session, ws, "u-bea-loyal", "bea-loyal@bravo.example")
    service = LoyaltyService(session)
    service.adjust(ws, bea, 500, "probe", "probe-1", "probe")
    code = service.redeem_reward(ws, bea, "ten-off", "probe-r1").code
    key = service.program(ws).registration_key
    Registrations(session).register(key, RegistrationIn(
        email="bea-loyal@bravo.example", name="Bea", sku="BRAVO-KETTLE", serial="B-1",
        retailer="Target", receipt_number="B-R1"))  # fmt: skip
    base = "/v1/loyalty"
    member = f"{base}/members/{bea}"
    return [
        Probe(f"{base}/program", "GET", f"{base}/program", "only_own"),
        Probe(f"{base}/program", "PUT", f"{base}/program", "only_own",
              json={"points_per_unit": 3}),
        Probe(f"{base}/members", "GET", f"{base}/members", "only_own"),
        Probe(f"{base}/members/{{profile_id}}", "GET", member, "not_found"),
        Probe(f"{base}/members/{{profile_id}}/entries", "GET", f"{member}/entries", "not_found"),
        Probe(f"{base}/members/{{profile_id}}/adjustments", "POST", f"{member}/adjustments",
              "not_found", json={"points": 5, "reason": "a", "idempotency_key": "a-tries"}),
        Probe(f"{base}/members/{{profile_id}}/redemptions", "POST", f"{member}/redemptions",
              "not_found", json={"reward": "ten-off", "idempotency_key": "a-tries"}),
        Probe(f"{base}/codes/{{code}}", "GET", f"{base}/codes/{code}", "not_found"),
        Probe(f"{base}/codes/{{code}}/redeem", "POST", f"{base}/codes/{code}/redeem",
              "not_found", json={"order_reference": "A-1"}),
        Probe(f"{base}/registrations", "GET", f"{base}/registrations", "only_own"),
        # Public by design (the QR code's target, no key): a key of A's changes nothing of
        # B's and an incomplete form is refused before anything is kept.
        Probe(f"{base}/registrations/{{registration_key}}", "POST",
              f"{base}/registrations/{key}", "only_own", json={"email": "a@alpha.example"}),
    ]  # fmt: skip
