"""The clerk's search: a surname alone, "Last First", "First Last", part of an email or its
domain, an order number and a phone in any format find the shopper, ranked; the keys follow
trait changes, merges and unmerges; an erased person is found by nothing.

The shoppers arrive as a brand's SDK sends them (identify calls to ``/v1/batch``) and their
order as a Shopify export through ``tessera import orders``; searches go through the service,
``GET /v1/profiles`` and ``tessera profiles search``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.customer import schemas
from tessera.customer.profiles import ProfileService
from tessera.identity.graph.service import IdentityService
from tessera.models.identity import IdentityMerge
from tests.identity.people import message, send
from tests.identity.stitching import run_stitch_jobs
from tests.support.cli import invoke
from tests.support.connectors import fixture_json
from tests.support.factories import Tenant, make_tenant

# name: (user id, traits). The workspace's region is the default, US; Elizabeth's phone is
# British, so typed the British way it is not what the US region makes of it.
SHOPPERS: dict[str, dict[str, Any]] = {
    "liz": {"first_name": "Elizabeth", "last_name": "Lindqvist",
            "email": "Elizabeth.Lindqvist@yahoo.com", "phone": "+44 20 7946 0958"},
    "hana": {"first_name": "Hana", "last_name": "Dubois", "email": "hdubois@gmail.com",
             "phone": "(415) 555-0198"},
    "elodie": {"first_name": "Élodie", "last_name": "Dubois",
               "email": "elodie.dubois@proton.me"},
    "claire": {"first_name": "Claire", "last_name": "Duboisson", "email": "claire@duboisson.fr"},
    "ravi": {"first_name": "Dr. Ravi", "last_name": "Moreau Jr.",
             "email": "ravi.moreau@yahoo.com"},
    "sven": {"first_name": "Sven", "last_name": "Berg", "email": "lindqvist@berg.se"},
}  # fmt: skip


def _basic(token: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{token}:".encode()).decode()}


@pytest.fixture
def tenant(session: Session) -> Tenant:
    tenant = make_tenant(session, "salt")
    session.commit()
    return tenant


@pytest.fixture
def shoppers(
    session: Session,
    session_factory: sessionmaker[Session],
    client: TestClient,
    settings: Settings,
    tenant: Tenant,
    tmp_path: Path,
) -> dict[str, str]:
    """Each shopper's profile id, made from an SDK's identify calls; Elizabeth's web order
    #4711 imported from a Shopify export and joined to her by its email."""
    batch = [
        message("identify", f"id-{who}", n, anonymous_id=f"web-{who}", user_id=f"u-{who}",
                traits=traits)
        for n, (who, traits) in enumerate(SHOPPERS.items())
    ]  # fmt: skip
    sent = client.post("/v1/batch", headers=_basic(tenant.write_token), json={"batch": batch})
    assert sent.status_code == 200 and sent.json()["accepted"] == len(SHOPPERS)
    shopify = fixture_json("shopify/orders_create.json")
    shopify.update(id=880011, name="#4711", order_number=4711, email=SHOPPERS["liz"]["email"])
    shopify["customer"].update(email=SHOPPERS["liz"]["email"], first_name="Elizabeth",
                               last_name="Lindqvist", phone=None, id=5550011)  # fmt: skip
    for kind in ("shipping_address", "billing_address"):
        shopify[kind].update(first_name="Elizabeth", last_name="Lindqvist",
                             name="Elizabeth Lindqvist", phone="020 7946 0958")  # fmt: skip
    export = tmp_path / "orders.jsonl"
    export.write_text(json.dumps(shopify) + "\n")
    code, output = invoke(
        settings, session_factory, "import", "orders", str(export), "--format", "shopify",
        "-w", tenant.slug,
    )  # fmt: skip
    assert code == 0, output
    run_stitch_jobs(session)
    session.commit()
    identity = IdentityService(session)
    found = {
        who: identity.find_profile(tenant.workspace_id, "user_id", f"u-{who}") for who in SHOPPERS
    }
    return {who: profile.id for who, profile in found.items() if profile is not None}


def _hits(results: list[schemas.ProfileSummary], people: dict[str, str]) -> list[tuple[str, str]]:
    name_of = {profile_id: who for who, profile_id in people.items()}
    return [(name_of.get(r.id, r.id), r.matched_by) for r in results]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Lindqvist", [("liz", "surname"), ("sven", "partial_email")]),
        ("Lindqvist Elizabeth", [("liz", "name")]),
        ("Lindqvist, Elizabeth", [("liz", "name")]),
        ("Elizabeth Lindqvist", [("liz", "name")]),
        ("  ELIZABETH   lindqvist ", [("liz", "name")]),
        ("eliz", [("liz", "partial_name")]),
        ("lindqvist e", [("liz", "partial_name")]),
        ("Dubois", [("elodie", "surname"), ("hana", "surname"), ("claire", "partial_name")]),
        ("Mrs Dubois", [("elodie", "surname"), ("hana", "surname"), ("claire", "partial_name")]),
        ("dubois hana", [("hana", "name")]),
        ("Elodie Dubois", [("elodie", "name")]),
        ("ÉLODIE", [("elodie", "partial_name")]),
        ("Ravi Moreau", [("ravi", "name")]),
        ("Moreau", [("ravi", "surname")]),
        ("elizabeth.lind", [("liz", "partial_email")]),
        ("HDUBOIS@gmail", [("hana", "partial_email")]),
        ("hdubois@gmail.com", [("hana", "email")]),
        ("proton.me", [("elodie", "partial_email")]),
        ("@proton.me", [("elodie", "partial_email")]),
        ("+44 20 7946 0958", [("liz", "phone")]),
        ("020 7946 0958", [("liz", "phone")]),
        ("0207-946-0958", [("liz", "phone")]),
        ("0044 20 7946 0958", [("liz", "phone")]),
        ("020 7946", [("liz", "partial_phone")]),
        ("415.555.0198", [("hana", "phone")]),
        ("1 (415) 555-0198", [("hana", "phone")]),
        ("#4711", [("liz", "order_number")]),
        ("4711", [("liz", "order_number")]),
        ("u-ravi", [("ravi", "user_id")]),
        ("zzz", []),
    ],
)
def test_the_clerk_finds_a_shopper_however_she_is_typed(
    session: Session, tenant: Tenant, shoppers: dict[str, str], query: str,
    expected: list[tuple[str, str]],
) -> None:  # fmt: skip
    """Surname alone, both names either way round (commas, case, accents and honorifics
    aside), the start of a name, part of an email or its domain, a phone as a Briton or an
    American writes it, an order number: the shoppers meant, best first, saying why."""
    results = ProfileService(session).search(tenant.workspace_id, query)

    assert _hits(results, shoppers) == expected


def test_an_email_domain_lists_everyone_at_it_and_the_limit_cuts_the_list(
    session: Session, tenant: Tenant, shoppers: dict[str, str]
) -> None:
    """ "yahoo.com" lists Elizabeth and Ravi; a limit of one leaves the best Dubois only."""
    service = ProfileService(session)

    at_yahoo = service.search(tenant.workspace_id, "yahoo.com")
    first = service.search(tenant.workspace_id, "dubois", limit=1)

    assert sorted(_hits(at_yahoo, shoppers)) == [
        ("liz", "partial_email"),
        ("ravi", "partial_email"),
    ]
    assert _hits(first, shoppers) == [("elodie", "surname")]


def test_the_api_and_the_cli_find_by_surname_and_not_after_erasure(
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    tenant: Tenant,
    shoppers: dict[str, str],
) -> None:
    """`GET /v1/profiles?q=Lindqvist` and `tessera profiles search "Lindqvist Elizabeth"` find
    her; once erased, her surname, British phone, order number and email domain find nobody
    of hers, through either."""
    liz = shoppers["liz"]
    found = client.get("/v1/profiles", params={"q": "Lindqvist"}, headers=tenant.auth)
    code, listed = invoke(
        settings, session_factory, "profiles", "search", "Lindqvist Elizabeth", "-w", tenant.slug
    )

    erased = client.post(f"/v1/profiles/{liz}/erase", headers=tenant.auth, json={})
    after = {
        q: client.get("/v1/profiles", params={"q": q}, headers=tenant.auth).json()["items"]
        for q in ("Lindqvist", "020 7946 0958", "#4711", "yahoo.com", "elizabeth")
    }
    code_after, listed_after = invoke(
        settings, session_factory, "profiles", "search", "Lindqvist Elizabeth", "-w", tenant.slug
    )

    assert found.status_code == 200
    assert [(h["id"], h["matched_by"]) for h in found.json()["items"]] == [
        (liz, "surname"), (shoppers["sven"], "partial_email"),
    ]  # fmt: skip
    assert (code, liz in listed, "Elizabeth Lindqvist" in listed, "name" in listed) == (
        0, True, True, True,
    )  # fmt: skip
    assert erased.status_code == 200
    assert [h["id"] for h in after["Lindqvist"]] == [shoppers["sven"]]
    assert [h["id"] for h in after["yahoo.com"]] == [shoppers["ravi"]]
    assert (after["020 7946 0958"], after["#4711"], after["elizabeth"]) == ([], [], [])
    assert (code_after, liz in listed_after, "no customer matches" in listed_after) == (
        0, False, True,
    )  # fmt: skip


@pytest.mark.parametrize(
    "query", ["%", "_", "\\", "'; DROP TABLE profile; --", "@", "+", "((", "ß", "\U0010ffff",
              "a" * 320, "0" * 40, "Ⅻ", "🙂 smith"],
)  # fmt: skip
def test_odd_queries_answer_an_empty_or_plain_list_never_a_500(
    client: TestClient, tenant: Tenant, shoppers: dict[str, str], query: str
) -> None:
    """Pattern characters, quotes, the last code point, digits galore, emoji: 200 and a list;
    none of them matches a shopper by accident."""
    answer = client.get("/v1/profiles", params={"q": query}, headers=tenant.auth)

    assert answer.status_code == 200
    assert answer.json()["items"] == []


def test_a_new_surname_replaces_the_old_one_in_search(
    session: Session, tenant: Tenant, shoppers: dict[str, str]
) -> None:
    """Hana identifies with a new last name: "Moreau" finds her, "Dubois" no longer does."""
    send(session, tenant.workspace_id, [
        message("identify", "hana-married", 60, user_id="u-hana", traits={"last_name": "Moreau"})
    ])  # fmt: skip
    service = ProfileService(session)

    moreau = service.search(tenant.workspace_id, "moreau")
    dubois = service.search(tenant.workspace_id, "dubois")

    assert _hits(moreau, shoppers) == [("hana", "surname"), ("ravi", "surname")]
    assert _hits(dubois, shoppers) == [("elodie", "surname"), ("claire", "partial_name")]


def test_a_merge_and_its_undoing_keep_the_name_on_the_right_profile(
    session: Session, tenant: Tenant, shoppers: dict[str, str]
) -> None:
    """A guest known by name only, then signed in as a known shopper with no name: the merged
    profile is found once by the guest's surname; after the merge is undone, the guest's own
    profile is found by it again and the known one is not."""
    workspace = tenant.workspace_id
    send(session, workspace, [
        message("identify", "guest-1", 70, anonymous_id="pos-guest",
                traits={"first_name": "Nora", "last_name": "Walsh"}),
        message("identify", "known-1", 71, user_id="u-nora", traits={"email": "nw@icloud.com"}),
    ])  # fmt: skip
    identity = IdentityService(session)
    guest = identity.find_profile(workspace, "anonymous_id", "pos-guest")
    assert guest is not None
    send(session, workspace, [message("identify", "link-1", 72, anonymous_id="pos-guest",
                                      user_id="u-nora")])  # fmt: skip
    merged = identity.find_profile(workspace, "user_id", "u-nora")
    assert merged is not None
    service = ProfileService(session)

    while_merged = service.search(workspace, "walsh")
    merge_id = session.scalars(
        select(IdentityMerge.id).where(IdentityMerge.survivor_profile_id == merged.id)
    ).one()
    identity.unmerge(workspace, merge_id, actor="usr_clerk", reason="two people")
    after = service.search(workspace, "walsh")
    by_email = service.search(workspace, "nw@icloud")

    assert [(r.id, r.matched_by, r.name) for r in while_merged] == [
        (merged.id, "surname", "Nora Walsh")
    ]
    assert [(r.id, r.matched_by) for r in after] == [(guest.id, "surname")]
    assert [r.id for r in by_email] != [guest.id] and len(by_email) == 1
