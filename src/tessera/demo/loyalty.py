"""The demo's loyalty program, and one shopper who bought the serum at the retail partner and
registered it through the packaging's QR code.

Set up in the seeding transaction; the points themselves come afterwards, as the worker
stitches the fed orders (web, Amazon, TikTok Shop and the stores' tills) to profiles and
loyalty earns from them, and from the registration, once each.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tessera.demo.people import RETAIL_PARTNER
from tessera.loyalty.registration import Registrations
from tessera.loyalty.schemas import ProgramIn, RegistrationIn, RewardIn, TierIn
from tessera.loyalty.service import LoyaltyService

PROGRAM = ProgramIn(
    currency="USD",
    points_per_unit=1,
    registration_points=150,
    expiry_months=12,
    tier_basis="last_12_months",
    tiers=[TierIn(name="Tide", threshold=100), TierIn(name="Current", threshold=300),
           TierIn(name="Deep Sea", threshold=800)],
    rewards=[
        RewardIn(key="ten-off", name="$10 off", points_cost=250, kind="amount", value=1000),
        RewardIn(key="fifteen-percent", name="15% off", points_cost=400, kind="percent",
                 value=15),
    ],
)  # fmt: skip
# Bought at the retail partner, so the brand never saw the sale: the QR code introduces her.
RETAIL_REGISTRATION = RegistrationIn(
    email="noor.haddad@example.com",
    name="Noor Haddad",
    sku="SERUM-30",
    serial="SR30-2026-004417",
    retailer=RETAIL_PARTNER,
    receipt_number="4471-2291-0086",
)


def seed_loyalty(session: Session, workspace_id: str) -> str:
    """Save the program and register one retail purchase; returns the registration's id."""
    program = LoyaltyService(session).save_program(workspace_id, PROGRAM, actor="demo")
    registration = Registrations(session).register(program.registration_key, RETAIL_REGISTRATION)
    return registration.id
