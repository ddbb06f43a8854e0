"""The demo shows Identify at work: omnichannel profiles stitched from the fed data, checked
against the generator's truth, the store kiosk's shared iPad caught by a guard-rail, and a
TikTok Shop guest joined to their web profile by name and street address."""

from __future__ import annotations

from sqlalchemy import select

from tessera.models.identity import (
    Identifier,
    IdentityConflict,
    IdentityMerge,
    Profile,
    ProfileStatus,
)
from tessera.models.order import Order
from tests.support.fed_demo import FedDemo


def test_the_fed_demo_becomes_omnichannel_profiles_without_a_wrong_merge(
    fed_demo: FedDemo,
) -> None:
    """Each profile holds one true person; many span site, app and orders; the kiosk conflicts
    and, signed in by more than the threshold of people, is detached and marked shared; the
    TikTok guest's order is on their web profile through a match, their email their own; no
    relay address is anyone's email."""
    data, workspace_id = fed_demo.data, fed_demo.workspace_id
    person_of: dict[tuple[str, str], str] = {}
    for person in data.people:
        for type_, value in (
            ("user_id", person.user_id),
            ("anonymous_id", person.web_device),
            ("anonymous_id", person.app_device),
            ("email", person.email),
        ):
            if value:
                person_of[(type_, value.lower() if type_ == "email" else value)] = person.person_id
    with fed_demo.factory() as session:  # reads only, commits nothing
        groups: dict[str, set[str]] = {}
        spans: dict[str, set[str]] = {}
        for type_, value, profile_id in session.execute(
            select(Identifier.type, Identifier.value, Identifier.profile_id)
            .join(Profile, Profile.id == Identifier.profile_id)
            .where(
                Identifier.workspace_id == workspace_id,
                Profile.status == ProfileStatus.ACTIVE,
            )
        ):
            if (type_, value) in person_of:
                groups.setdefault(profile_id, set()).add(person_of[(type_, value)])
            spans.setdefault(profile_id, set()).add(type_)
        conflicts = session.scalars(
            select(IdentityConflict).where(IdentityConflict.workspace_id == workspace_id)
        ).all()
        kiosk_row = session.scalars(
            select(Identifier).where(
                Identifier.workspace_id == workspace_id,
                Identifier.value == "kiosk-soho-ipad-1",
            )
        ).one()
        shared_flag, kiosk_profile = kiosk_row.is_shared, kiosk_row.profile_id
        assert data.tiktok_guest is not None
        guest_person, guest_order = data.tiktok_guest
        (person,) = [p for p in data.people if p.person_id == guest_person]
        order_id = session.scalars(
            select(Order.id).where(
                Order.workspace_id == workspace_id, Order.external_id == guest_order
            )
        ).one()
        owner_of = {
            (type_, value): profile_id
            for type_, value, profile_id in session.execute(
                select(Identifier.type, Identifier.value, Identifier.profile_id).where(
                    Identifier.workspace_id == workspace_id,
                    Identifier.value.in_([order_id, person.user_id]),
                )
            )
        }
        guest_profile = session.get(Profile, owner_of[("order", order_id)])
        causes = session.scalars(
            select(IdentityMerge.cause_kind).where(
                IdentityMerge.survivor_profile_id == owner_of[("order", order_id)]
            )
        ).all()
        relay_emails = session.scalars(
            select(Identifier.value).where(
                Identifier.workspace_id == workspace_id,
                Identifier.type == "email",
                Identifier.value.like("%@scs.tiktokw.us"),
            )
        ).all()
        guest_email = guest_profile.traits.get("email") if guest_profile else None

    assert groups and all(len(people) == 1 for people in groups.values())
    omnichannel = [p for p, types in spans.items() if {"anonymous_id", "order"} <= types]
    assert len(omnichannel) >= 5
    kiosk = [c for c in conflicts if c.identifier_value == "kiosk-soho-ipad-1"]
    assert kiosk and {c.rule for c in kiosk} == {"limit:user_id", "shared"}
    assert (shared_flag, kiosk_profile) == (True, "")
    assert owner_of[("order", order_id)] == owner_of[("user_id", person.user_id)]
    assert "match" in causes
    assert guest_email == person.email
    assert relay_emails == []
