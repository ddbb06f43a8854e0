"""Test helpers for matching: profiles made by the identity service's stitching (each from
one record with its traits and identifiers), split rules, and the reviews a workspace holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.identity.graph.identifiers import IdentityRecord, normalise
from tessera.identity.graph.service import IdentityService
from tessera.kit.ids import new_id
from tessera.models.identity import (
    Identifier,
    IdentityReview,
    IdentitySplit,
    IdentitySplitMember,
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
    """A new profile made by the identity service's stitching, from one record carrying these
    traits, a device of its own and the email, phone and user id when given."""
    service = IdentityService(session)
    rules = service.rules(workspace_id)
    raw = [("anonymous_id", new_id("anon")), ("email", email), ("phone", phone)]
    raw.append(("user_id", user_id))
    idents = tuple(i for kind, value in raw if value for i in normalise(kind, value, rules))
    record = IdentityRecord(
        ref=new_id("msg"),
        occurred_at=T0 + timedelta(minutes=minute),
        idents=idents,
        traits={**traits, **({"email": email} if email else {})},
    )
    result = service.stitch(workspace_id, [record])
    [profile_id] = result.created
    return profile_id


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
