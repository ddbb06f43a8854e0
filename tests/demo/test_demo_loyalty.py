"""The demo's loyalty: the program seeded, the fed orders earning points on several channels
once the worker has stitched them, and the retail purchase registered through the QR code
earning its 150 points on the profile it made."""

from __future__ import annotations

from sqlalchemy import select

from tessera.demo.loyalty import RETAIL_REGISTRATION
from tessera.identity.graph.service import IdentityService
from tessera.loyalty.service import LoyaltyService
from tessera.models.loyalty import EntryKind, LoyaltyEntry, LoyaltyRegistration
from tests.support.fed_demo import FedDemo


def test_the_fed_demo_earns_points_on_several_channels_and_from_the_qr_code(
    fed_demo: FedDemo,
) -> None:
    """After feeding and one worker pass: earned entries from at least three channels, each
    order once; the registration's profile holds 150 points from it; the balance of every
    member is the sum of their entries and the liability is their total."""
    ws = fed_demo.workspace_id
    with fed_demo.factory() as session:  # reads only, commits nothing
        entries = session.scalars(select(LoyaltyEntry).where(LoyaltyEntry.workspace_id == ws)).all()
        orders = [e for e in entries if e.kind is EntryKind.EARNED and e.source == "order"]
        channels = {e.detail["channel"] for e in orders}
        registration = session.scalars(select(LoyaltyRegistration)).one()
        profile = IdentityService(session).find_profile(ws, "email", RETAIL_REGISTRATION.email)
        service = LoyaltyService(session)
        noor = service.member(ws, profile.id) if profile else None
        members = service.members(ws, None, None, 200).items
        outstanding = service.overview(ws).outstanding

    assert len(channels) >= 3, channels
    assert len({e.reference for e in orders}) == len(orders)
    assert profile is not None and registration.profile_id == profile.id
    assert noor is not None and noor.balance == 150
    by_member: dict[str, int] = {}
    for entry in entries:
        by_member[entry.member_id] = by_member.get(entry.member_id, 0) + entry.points
    assert {m.member.id: m.balance for m in members} == by_member
    assert outstanding == sum(by_member.values())
