"""The matcher never reads a relay address as an email, and reads an order's street address."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tessera.identity.graph.identifiers import Rules
from tessera.identity.graph.service import IdentityService
from tessera.identity.match.domain import fields_from_traits
from tessera.identity.match.service import MatchService
from tessera.models.identity import MatchRecord
from tests.identity.matchdata import make_profile, reviews_of
from tests.support.factories import make_workspace

RELAY = "v9q2k1x7b3@scs.tiktokw.us"
MAYA = {"first_name": "Maya", "last_name": "Chen", "postal_code": "93035"}


def test_a_relay_address_is_no_email_and_a_real_identifier_takes_its_place() -> None:
    """The traits' relay address is passed over for the profile's email identifier, and is
    missing when there is none; without the rules it would be read as an email."""
    is_relay = Rules().is_relay
    traits = {**MAYA, "email": RELAY}

    with_real = fields_from_traits(traits, {"email": "maya.chen@gmail.com"}, is_relay)
    alone = fields_from_traits(traits, {}, is_relay)
    relay_identifier = fields_from_traits(MAYA, {"email": RELAY}, is_relay)

    assert (with_real["email"], alone["email"], relay_identifier["email"]) == (
        "maya.chen@gmail.com",
        None,
        None,
    )
    assert fields_from_traits(traits)["email"] == RELAY


def test_two_buyers_with_one_relay_address_are_no_candidates_for_each_other(
    session: Session,
) -> None:
    """Profiles whose email trait holds the same relay address (stored before relay addresses
    were told apart) share no email key, and nothing about them agrees: no merge, no review."""
    ws = make_workspace(session, "relay-match")
    maya = make_profile(session, ws, email=RELAY, minute=0, **MAYA)
    other = make_profile(
        session, ws, email=RELAY.upper(), minute=1, first_name="Omar", last_name="Haddad"
    )

    outcome = MatchService(session).match(ws, [maya, other])

    records = [session.get(MatchRecord, p) for p in (maya, other)]
    assert [(r.fields["email"], r.key_email) for r in records if r is not None] == [
        (None, None),
        (None, None),
    ]
    assert (outcome.merges, outcome.reviews, reviews_of(session, ws)) == (0, 0, [])


def test_a_domain_the_workspace_adds_later_leaves_its_match_records(session: Session) -> None:
    """A marketplace's domain added to the rules after its addresses were stored as emails:
    the next refresh takes them out of the match record."""
    ws = make_workspace(session, "relay-later")
    profile = make_profile(session, ws, email="o-17@orders.marketplace.example", **MAYA)
    service = MatchService(session)
    before = service.refresh(ws, [profile])[profile]["email"]

    IdentityService(session).set_rules(ws, relay_domains=["orders.marketplace.example"])
    after = service.refresh(ws, [profile])[profile]["email"]

    record = session.get(MatchRecord, profile)
    assert (before, after) == ("o-17@orders.marketplace.example", None)
    assert record is not None and record.key_email is None
