"""Relay addresses (TikTok Shop, Amazon, Apple's private relay) are identifiers of their own
kind: never the profile's email, never a hash, never a link between two people."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.identity.graph import identifiers as ids
from tessera.identity.graph.identifiers import Ident, IdentityRecord, Rules
from tessera.identity.graph.planner import plan_batch
from tessera.identity.graph.service import IdentityService
from tessera.kit.errors import InvalidInput
from tessera.models.identity import IdentityConflict
from tests.identity.stitching import active_profiles, identify, partition, send
from tests.support.factories import make_tenant, make_workspace

RULES = Rules()
TIKTOK = "V9Q2K1X7B3@scs.tiktokw.us"
AMAZON = "4tk9x2m0qz8yl5w@marketplace.amazon.co.uk"
APPLE = "x7q9t2m4n8@privaterelay.appleid.com"
GMAIL = "maya.chen@gmail.com"
WHEN = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (TIKTOK, [("relay_email", "v9q2k1x7b3@scs.tiktokw.us")]),
        (AMAZON, [("relay_email", AMAZON)]),
        (f" {APPLE.upper()} ", [("relay_email", APPLE)]),
        ("buyer@eu.relay.walmart.com", [("relay_email", "buyer@eu.relay.walmart.com")]),
        (
            "maya.chen@gmail.com",
            [("email", "maya.chen@gmail.com"), ("email_sha256", ids.sha256_hex(GMAIL))],
        ),
        # A look-alike domain is someone's real mailbox.
        ("maya@notscs.tiktokw.us.example.com", [
            ("email", "maya@notscs.tiktokw.us.example.com"),
            ("email_sha256", ids.sha256_hex("maya@notscs.tiktokw.us.example.com")),
        ]),
    ],
)  # fmt: skip
def test_an_email_at_a_relay_domain_is_a_relay_email_and_nothing_else(
    raw: str, expected: list[tuple[str, str]]
) -> None:
    """A relay address yields one ``relay_email`` (a subdomain counts, case does not) and no
    hash; any other address is an email with its hash."""
    assert [i.key for i in ids.normalise(ids.EMAIL, raw, RULES)] == expected


def test_a_sender_may_call_an_address_a_relay_and_a_workspace_may_add_its_domains() -> None:
    """``relay_email`` in externalIds is taken at its word; a workspace's own domain is a relay
    domain for it alone."""
    own = Rules(relay_domains=frozenset({*ids.RELAY_DOMAINS, "orders.marketplace.example"}))
    declared = {
        "type": "track",
        "event": "Order Completed",
        "anonymousId": "a-1",
        "context": {"externalIds": [{"type": "relay_email", "id": "ORD-77@shop.example"}]},
    }

    assert [i.key for i in ids.extract(declared, RULES)] == [
        ("anonymous_id", "a-1"),
        ("relay_email", "ord-77@shop.example"),
    ]
    assert ids.normalise(ids.EMAIL, "o-1@orders.marketplace.example", own)[0].type == "relay_email"
    assert ids.normalise(ids.EMAIL, "o-1@orders.marketplace.example", RULES)[0].type == "email"


def test_a_relay_address_in_the_email_trait_becomes_the_relay_email_trait() -> None:
    """The record keeps it, under its own name: the profile's ``email`` trait is a person's."""
    message = identify("m1", 0, anonymous_id="tiktok_shop:749", email=TIKTOK, first_name="Maya")

    record = ids.record_from_message(message, WHEN, "tiktok_shop", RULES)

    assert record is not None
    assert dict(record.traits) == {"relay_email": TIKTOK, "first_name": "Maya"}


def test_relay_addresses_come_last_whatever_the_workspaces_priorities() -> None:
    """A record's profile is fixed by an identifier that links, never by a relay address."""
    rules = Rules(priorities=(ids.RELAY_EMAIL, ids.EMAIL, ids.ANONYMOUS_ID))
    idents = [Ident("relay_email", "r@scs.tiktokw.us", "r"), Ident("anonymous_id", "a", "a")]

    assert [i.type for i in ids.order_by_priority(idents, rules)] == ["anonymous_id", "relay_email"]


def record(ref: str, *keys: tuple[str, str]) -> IdentityRecord:
    return IdentityRecord(ref, WHEN, tuple(Ident(t, v, v) for t, v in keys))


def test_the_planner_never_joins_or_merges_two_profiles_through_a_relay_address() -> None:
    """A known relay address in another person's record stays where it is: no join, no merge,
    no conflict; a new one joins the record's profile."""
    owners = {("anonymous_id", "buyer-a"): "cus_a", ("relay_email", "r@scs.tiktokw.us"): "cus_a"}
    made = iter(["cus_new"])

    plan = plan_batch(
        [
            record("r1", ("anonymous_id", "buyer-b"), ("relay_email", "r@scs.tiktokw.us")),
            record("r2", ("anonymous_id", "buyer-a"), ("relay_email", "s@scs.tiktokw.us")),
        ],
        RULES,
        owners,
        {},
        made.__next__,
    )

    assert plan.merges == [] and plan.conflicts == []
    assert [(r.ref, p) for r, p in plan.record_profiles] == [("r1", "cus_new"), ("r2", "cus_a")]
    assert {k: v[1] for k, v in plan.new_identifiers.items()} == {
        ("anonymous_id", "buyer-b"): "cus_new",
        ("relay_email", "s@scs.tiktokw.us"): "cus_a",
    }


def test_one_platform_wide_address_on_two_buyers_orders_leaves_two_people(
    session: Session,
) -> None:
    """Two TikTok buyers whose orders carry the same relay address stay two profiles, each
    with their own email trait; the address stays with the first and nothing is in conflict."""
    ws = make_workspace(session, "relay-two")
    send(session, ws, [identify("a1", 0, anonymous_id="tiktok_shop:a", email="ana@example.com")])
    send(session, ws, [identify("b1", 1, anonymous_id="tiktok_shop:b", email="ben@example.com")])

    send(session, ws, [
        identify("a2", 2, anonymous_id="tiktok_shop:a", email=TIKTOK),
        identify("b2", 3, anonymous_id="tiktok_shop:b", email=TIKTOK),
    ])  # fmt: skip

    groups = sorted(partition(session, ws).values(), key=sorted)
    assert groups == [
        {("anonymous_id", "tiktok_shop:a"), ("email", "ana@example.com"),
         ("email_sha256", ids.sha256_hex("ana@example.com")),
         ("relay_email", "v9q2k1x7b3@scs.tiktokw.us")},
        {("anonymous_id", "tiktok_shop:b"), ("email", "ben@example.com"),
         ("email_sha256", ids.sha256_hex("ben@example.com"))},
    ]  # fmt: skip
    emails = sorted(p.traits["email"] for p in active_profiles(session, ws).values())
    assert emails == ["ana@example.com", "ben@example.com"]
    assert (
        session.scalars(select(IdentityConflict).where(IdentityConflict.workspace_id == ws)).all()
        == []
    )


def test_a_buyer_with_a_relay_address_per_order_keeps_them_all_under_no_limit(
    session: Session,
) -> None:
    """Seven orders, seven per-order relay addresses: one profile holds them all, where seven
    emails would break the limit of five and open conflicts."""
    ws = make_workspace(session, "relay-many")

    send(session, ws, [
        identify(f"o{n}", n, anonymous_id="tiktok_shop:749", email=f"o{n}@scs.tiktokw.us")
        for n in range(7)
    ])  # fmt: skip

    (members,) = partition(session, ws).values()
    assert sorted(v for t, v in members if t == "relay_email") == [
        f"o{n}@scs.tiktokw.us" for n in range(7)
    ]
    assert (
        session.scalars(select(IdentityConflict).where(IdentityConflict.workspace_id == ws)).all()
        == []
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    orders=st.lists(
        st.tuples(st.sampled_from("abcd"), st.sampled_from(["x", "y", "z"])),
        min_size=1,
        max_size=12,
    )
)
def test_buyers_sharing_relay_addresses_in_any_order_stay_apart(
    session: Session, orders: list[tuple[str, str]]
) -> None:
    """Whatever relay addresses buyers' orders share, in whatever order they come, each buyer
    is one profile of their own."""
    with session.begin_nested() as savepoint:
        ws = make_workspace(session, "relay-any")
        send(session, ws, [
            identify(f"m{n}", n, anonymous_id=f"buyer-{buyer}", email=f"{relay}@scs.tiktokw.us")
            for n, (buyer, relay) in enumerate(orders)
        ])  # fmt: skip

        buyers_per_profile = [
            {v for t, v in members if t == "anonymous_id"}
            for members in partition(session, ws).values()
        ]
        savepoint.rollback()

    assert sorted(len(b) for b in buyers_per_profile) == [1] * len({b for b, _ in orders})


def test_a_workspaces_relay_domains_are_checked_kept_and_used(session: Session) -> None:
    """Trimmed, lower-cased, without a leading @, sorted; a word without a dot is refused
    naming its place, and nothing changes."""
    ws = make_workspace(session, "relay-rules")
    identity = IdentityService(session)

    identity.set_rules(ws, relay_domains=[" @Orders.Marketplace.Example ", "relay.shop.example"])
    with pytest.raises(InvalidInput) as refused:
        identity.set_rules(ws, relay_domains=["relay.shop.example", "com"])

    assert identity.relay_domains(ws) == ["orders.marketplace.example", "relay.shop.example"]
    assert refused.value.extensions["field"] == "relay_domains[1]"
    assert identity.rules(ws).is_relay("o-1@orders.marketplace.example")
    assert identity.rules(ws).is_relay("o-1@scs.tiktokw.us")


def test_the_rules_api_shows_and_changes_the_workspaces_relay_domains(
    session: Session, client: TestClient
) -> None:
    """GET shows the defaults and the workspace's own; PUT keeps them cleaned and applies them
    to the next records; a domain that is none is a 422 naming it, changing nothing."""
    tenant = make_tenant(session, "relay-api")

    changed = client.put("/v1/identity/rules", headers=tenant.auth,
                         json={"relay_domains": ["@Orders.Marketplace.Example"]})  # fmt: skip
    refused = client.put("/v1/identity/rules", headers=tenant.auth,
                         json={"relay_domains": ["orders.example", "not a domain"]})  # fmt: skip
    shown = client.get("/v1/identity/rules", headers=tenant.auth).json()

    assert changed.status_code == 200
    assert (refused.status_code, refused.json()["field"]) == (422, "relay_domains[1]")
    assert shown["relay_domains"] == ["orders.marketplace.example"]
    assert "scs.tiktokw.us" in shown["default_relay_domains"]
    send(session, tenant.workspace_id, [
        identify("m1", 0, anonymous_id="a-1", email="o-1@orders.marketplace.example")
    ])  # fmt: skip
    (members,) = partition(session, tenant.workspace_id).values()
    assert members == {("anonymous_id", "a-1"), ("relay_email", "o-1@orders.marketplace.example")}
