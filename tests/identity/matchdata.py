"""Test helpers for matching: profiles as the identity graph leaves them, with traits and
identifiers, written as rows (matching reads these tables; how the graph fills them is the
identity service's own tests' business)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.kit.ids import new_id
from tessera.models.identity import (
    Identifier,
    IdentityReview,
    IdentitySplit,
    IdentitySplitMember,
    Profile,
    ProfileStatus,
)

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def make_profile(
    session: Session,
    workspace_id: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    user_id: str | None = None,
    minute: int = 0,
    **traits: Any,
) -> str:
    """An active profile with these traits and an email/phone identifier when given."""
    seen = T0 + timedelta(minutes=minute)
    profile = Profile(
        id=new_id("cus"),
        workspace_id=workspace_id,
        status=ProfileStatus.ACTIVE,
        traits={**traits, **({"email": email} if email else {})},
        trait_stamps={k: seen.isoformat() for k in traits},
        first_seen=seen,
        last_seen=seen,
    )
    session.add(profile)
    session.flush()
    for kind, raw in (("email", email), ("phone", phone), ("user_id", user_id)):
        if raw:
            session.add(
                Identifier(
                    workspace_id=workspace_id,
                    type=kind,
                    value=raw.lower(),
                    raw=raw,
                    profile_id=profile.id,
                    origin_profile_id=profile.id,
                    first_seen=seen,
                    last_seen=seen,
                )
            )
    anonymous = Identifier(
        workspace_id=workspace_id,
        type="anonymous_id",
        value=new_id("anon"),
        raw="anon",
        profile_id=profile.id,
        origin_profile_id=profile.id,
        first_seen=seen,
        last_seen=seen,
    )
    session.add(anonymous)
    session.flush()
    return profile.id


def split_apart(session: Session, workspace_id: str, left: str, right: str) -> str:
    """A split rule with every identifier of ``left`` on one side and of ``right`` on the other."""
    split = IdentitySplit(workspace_id=workspace_id, reason="different people", actor="usr_test")
    session.add(split)
    session.flush()
    for side, profile_id in ((0, left), (1, right)):
        for identifier_id in session.scalars(
            select(Identifier.id).where(Identifier.profile_id == profile_id)
        ):
            session.add(
                IdentitySplitMember(split_id=split.id, identifier_id=identifier_id, side=side)
            )
    session.flush()
    return split.id


def reviews_of(session: Session, workspace_id: str) -> list[IdentityReview]:
    return list(
        session.scalars(
            select(IdentityReview)
            .where(IdentityReview.workspace_id == workspace_id)
            .order_by(IdentityReview.id)
        )
    )


# Three people: a full twin merges, a nickname guest with name and postcode is a review, and a
# neighbour with another family name is someone else.
ELIZABETH = {
    "first_name": "Elizabeth",
    "last_name": "Okafor",
    "address": {"postal_code": "10012", "city": "New York", "street": "12 Main St"},
}
LIZ_AT_THE_TILL = {"firstName": "Liz", "lastName": "Okafor", "zip": "10012"}
NEIGHBOUR = {"first_name": "Elizabeth", "last_name": "Murphy", "postal_code": "10012"}
