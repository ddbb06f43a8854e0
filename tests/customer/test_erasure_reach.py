"""Erasure's reach (ADR 0020): once a person is erased, nothing that names them is stored
again, whether it arrives refused, accepted, replayed from the quarantine or as a connector's
order, and whatever form their email, phone or ids take or wherever in a message they sit."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.collect.domain import Sender
from tessera.collect.errors import MalformedPayload
from tessera.collect.quarantine import QuarantineService
from tessera.collect.service import CollectService
from tessera.connector.formats import SPECS, OrderFormat
from tessera.connector.replay import register_replayers
from tessera.connector.service import ConnectorService
from tessera.customer import schemas
from tessera.customer.privacy import PrivacyService
from tessera.identity.graph.identifiers import sha256_hex
from tessera.identity.graph.service import IdentityService
from tessera.models import Base
from tessera.models.collect import Event, QuarantineEntry, QuarantineStatus
from tessera.models.identity import ConsentStatus, ErasureMode, Profile
from tessera.models.order import Order
from tests.identity.people import at, message
from tests.identity.stitching import run_stitch_jobs
from tests.support.connectors import fixture_json
from tests.support.factories import make_workspace

EMAIL = "Dana.Reyes@Example.org"
PHONE = "(415) 555-0199"
PHONE_E164 = "+14155550199"
PHONE_DOTS = "415.555.0199"
USER_ID = "u-dana-7"
ANONYMOUS_ID = "web-dana-7"
SHOPIFY_CUSTOMER = 7700112233
# Every form Dana's values may be stored in: raw, lower-cased, normalised, hashed.
TRACES = (
    EMAIL.lower(),
    PHONE.lower(),
    PHONE_E164,
    "4155550199",
    PHONE_DOTS,
    "415-555-0199",
    USER_ID,
    ANONYMOUS_ID,
    str(SHOPIFY_CUSTOMER),
    "reyes",
    sha256_hex(EMAIL.lower()),
    sha256_hex(PHONE_E164[1:]),
)


def traces_left(session: Session) -> list[str]:
    """Every table (and the trace) where one of Dana's values is stored, in any column."""
    session.expire_all()
    found = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            text = json.dumps(dict(row._mapping), default=str).lower()
            found.extend(f"{table.name}: {t}" for t in TRACES if t.lower() in text)
    return sorted(set(found))


def ingest(session: Session, workspace_id: str, messages: list[dict[str, Any]]) -> Any:
    return CollectService(session).ingest(Sender(workspace_id, None), messages, "test")


def count(session: Session, model: type[Base]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def shopify_order(number: int, **changes: Any) -> dict[str, Any]:
    """Shopify's order fixture, bought by Dana."""
    order: dict[str, Any] = copy.deepcopy(fixture_json("shopify/orders_create.json"))
    order["id"] = 5900000000000 + number
    order["name"] = f"#D{number}"
    order["email"] = EMAIL
    order["contact_email"] = EMAIL.upper()
    order["phone"] = PHONE
    order["customer"] = {
        **(order.get("customer") or {}),
        "id": SHOPIFY_CUSTOMER,
        "email": EMAIL,
        "phone": PHONE_E164,
        "first_name": "Dana",
        "last_name": "Reyes",
    }
    for key in ("billing_address", "shipping_address"):
        if isinstance(order.get(key), dict):
            order[key] = {**order[key], "phone": PHONE_DOTS, "last_name": "Reyes"}
    order.update(changes)
    return order


def square_order(number: int) -> dict[str, Any]:
    """Square's order fixture, picked up by Dana."""
    order: dict[str, Any] = copy.deepcopy(fixture_json("square/order.json"))
    text = json.dumps(order)
    text = text.replace("jordan.reyes@example.org", EMAIL).replace("+1-415-555-0178", PHONE)
    order = json.loads(text.replace("Jordan Reyes", "Dana Reyes"))
    order["order"]["id"] = f"SQ-DANA-{number}"
    return order


def apply_orders(session: Session, workspace_id: str, kind: OrderFormat, orders: list[Any]) -> Any:
    body = json.dumps(orders).encode()
    return ConnectorService(session).apply_upload(SPECS[kind], workspace_id, body, "test")


@pytest.fixture
def workspace_id(session: Session) -> str:
    register_replayers()
    return make_workspace(session, "reach")


def dana(session: Session, workspace_id: str) -> str:
    """Dana with events on two devices, a Shopify and a Square order, consent for email;
    returns her profile id."""
    ingest(session, workspace_id, [
        message("identify", "dana-1", 0, anonymous_id=ANONYMOUS_ID, user_id=USER_ID,
                traits={"email": EMAIL, "phone": PHONE, "last_name": "Reyes"}),
        message("track", "dana-2", 5, anonymous_id=ANONYMOUS_ID, event="Product Viewed",
                properties={"sku": "SERUM-30"}),
    ])  # fmt: skip
    shopify = apply_orders(session, workspace_id, OrderFormat.SHOPIFY, [shopify_order(1)])
    square = apply_orders(session, workspace_id, OrderFormat.SQUARE, [square_order(1)])
    assert (shopify.accepted, square.accepted) == (1, 1), (shopify.rejected, square.rejected)
    run_stitch_jobs(session)
    profile = IdentityService(session).find_profile(workspace_id, "user_id", USER_ID)
    assert profile is not None
    PrivacyService(session).record_consent(
        workspace_id, profile.id,
        schemas.ConsentCreate(
            identifier_type="email", identifier_value=EMAIL, purpose="marketing",
            channel="email", status=ConsentStatus.GRANTED, source="https://x.example/signup",
            recorded_at=at(30),
        ),
        actor="usr_1",
    )  # fmt: skip
    return profile.id


def erase(session: Session, workspace_id: str, mode: ErasureMode = ErasureMode.DELETE) -> None:
    profile_id = dana(session, workspace_id)
    PrivacyService(session).erase(workspace_id, profile_id, mode, actor="usr_dpo")
    assert traces_left(session) == []


# (a) refused messages ------------------------------------------------------------------------

REFUSED = [
    pytest.param({"type": "track", "event": "Viewed", "userId": USER_ID, "timestamp": "soon"},
                 id="bad-timestamp-user-id"),
    pytest.param({"type": "track", "event": "Viewed", "anonymousId": ANONYMOUS_ID,
                  "timestamp": "soon"}, id="bad-timestamp-anonymous-id"),
    pytest.param({"type": "track", "event": "Order Completed", "anonymousId": "kiosk-9",
                  "context": {"traits": {"email": EMAIL.upper()}}, "properties": {}},
                 id="missing-order-id-upper-case-email"),
    pytest.param({"type": "identify", "anonymousId": "kiosk-9", "traits": {"phone": PHONE_DOTS},
                  "timestamp": "2026-13-45"}, id="bad-timestamp-national-phone"),
    pytest.param({"type": "shout", "userId": USER_ID}, id="unknown-type"),
]  # fmt: skip


@pytest.mark.parametrize("refused", REFUSED)
def test_a_refused_message_of_an_erased_person_is_suppressed_not_quarantined(
    session: Session, workspace_id: str, refused: dict[str, Any]
) -> None:
    """A message that fails its checks and names an erased person is counted as suppressed:
    no quarantine entry holds it, and the request still balances."""
    erase(session, workspace_id)
    entries_before = count(session, QuarantineEntry)

    result = ingest(session, workspace_id, [refused])

    assert (result.accepted, result.rejected, result.suppressed) == (0, [], 1)
    assert result.balanced
    assert count(session, QuarantineEntry) == entries_before
    assert traces_left(session) == []


def test_a_refused_message_of_someone_else_is_still_quarantined(
    session: Session, workspace_id: str
) -> None:
    """The check takes only the erased person's messages out of the quarantine."""
    erase(session, workspace_id)

    result = ingest(session, workspace_id, [{"type": "track", "userId": "u-ben", "event": "X",
                                             "timestamp": "soon"}])  # fmt: skip

    assert (len(result.rejected), result.suppressed) == (1, 0)
    assert session.scalars(select(QuarantineEntry.reason)).all() == [result.rejected[0].reason]


# (b) identifiers anywhere in a message -------------------------------------------------------

HIDDEN = [
    pytest.param({"properties": {"email": EMAIL}}, id="properties.email"),
    pytest.param({"properties": {"contact": {"phone": PHONE_E164}}}, id="properties.nested.phone"),
    pytest.param({"properties": {"userId": USER_ID}}, id="properties.userId"),
    pytest.param({"traits": {"email": EMAIL.upper()}}, id="traits.email-on-track"),
    pytest.param({"traits": {"user_id": USER_ID}}, id="traits.user_id"),
    pytest.param({"context": {"traits": {"email": f"  {EMAIL.upper()} "}}},
                 id="context.traits.email"),
    pytest.param({"context": {"traits": {"phone": PHONE_DOTS}}}, id="context.traits.phone"),
    pytest.param({"context": {"externalIds": [{"type": "email", "id": EMAIL.upper(),
                                               "collection": "users"}]}},
                 id="externalIds.email"),
    pytest.param({"context": {"externalIds": [{"type": "user_id", "id": USER_ID}]}},
                 id="externalIds.user_id"),
    pytest.param({"context": {"externalIds": [{"type": "hashed_email",
                                               "id": sha256_hex(EMAIL.lower()).upper()}]}},
                 id="externalIds.hashed_email"),
    pytest.param({"context": {"externalIds": [{"type": "shopify_customer_id",
                                               "id": str(SHOPIFY_CUSTOMER)}]}},
                 id="externalIds.shopify_customer_id"),
    pytest.param({"properties": {"note": f"call {PHONE} or mail {EMAIL.upper()}"}},
                 id="properties.free-text"),
]  # fmt: skip


@pytest.mark.parametrize("hidden", HIDDEN)
def test_an_identifier_anywhere_in_a_message_is_checked_in_every_form(
    session: Session, workspace_id: str, hidden: dict[str, Any]
) -> None:
    """An erased email, phone or id inside properties, traits or context (any case, national
    or E.164, hashed) suppresses the message: nothing of it is stored, no profile returns."""
    erase(session, workspace_id)
    events_before = count(session, Event)
    body = message("track", "hidden-1", 60, anonymous_id="kiosk-42", event="Viewed", **hidden)
    if "context" in hidden:
        body["context"] = {**hidden["context"], "channel": "web"}

    result = ingest(session, workspace_id, [body])
    run_stitch_jobs(session)

    assert (result.accepted, result.suppressed) == (0, 1)
    assert count(session, Event) == events_before
    assert count(session, Profile) == 0
    assert traces_left(session) == []


def test_a_message_without_the_erased_persons_values_is_stored(
    session: Session, workspace_id: str
) -> None:
    """Someone else's message with lookalike values (another email, a longer id) is stored."""
    erase(session, workspace_id)

    result = ingest(session, workspace_id, [
        message("track", "other-1", 60, user_id=USER_ID + "0", event="Viewed",
                properties={"email": "dana.reyes@example.com", "phone": "+14155550198"}),
    ])  # fmt: skip

    assert (result.accepted, result.suppressed) == (1, 0)


# (a) the quarantine's own paths --------------------------------------------------------------


def test_replaying_a_quarantine_entry_passes_the_erasure_check(
    session: Session, workspace_id: str
) -> None:
    """An entry fixed to name an erased person is resolved as suppressed: nothing stored."""
    kept = ingest(session, workspace_id, [
        {"type": "track", "event": "Viewed", "anonymousId": "kiosk-5", "timestamp": "soon"}
    ])  # fmt: skip
    erase(session, workspace_id)
    events_before = count(session, Event)
    fixed = message("track", "fixed-1", 70, anonymous_id="kiosk-5", event="Viewed",
                    context={"traits": {"email": EMAIL.upper()}})  # fmt: skip

    entry = QuarantineService(session).replay(
        workspace_id, kept.rejected[0].quarantine_id, fixed=fixed
    )
    run_stitch_jobs(session)

    assert entry.status is QuarantineStatus.REPLAYED
    assert entry.resolution is not None and "suppressed" in entry.resolution
    assert count(session, Event) == events_before
    assert traces_left(session) == []


def test_an_entry_kept_before_erasure_in_another_form_is_erased_with_her(
    session: Session, workspace_id: str
) -> None:
    """A refused message naming her phone as written by hand (dots, no country code) and her
    email in capitals is removed by the erasure, so no replay can bring it back."""
    ingest(session, workspace_id, [
        {"type": "identify", "anonymousId": "kiosk-6", "traits": {"phone": PHONE_DOTS},
         "timestamp": "soon"},
        {"type": "track", "event": "X", "anonymousId": "kiosk-7", "timestamp": "soon",
         "context": {"traits": {"email": EMAIL.upper()}}},
        {"type": "track", "event": "X", "anonymousId": "kiosk-8", "timestamp": "soon"},
    ])  # fmt: skip

    erase(session, workspace_id)

    assert session.scalars(select(QuarantineEntry.raw)).all() == [
        '{"type": "track", "event": "X", "anonymousId": "kiosk-8", "timestamp": "soon"}'
    ]


def test_a_refused_connector_order_of_an_erased_person_keeps_none_of_her_values(
    session: Session, workspace_id: str
) -> None:
    """A Shopify order without a currency and an Amazon report naming her, refused after
    erasure: each refusal is recorded (counted, with an entry) but holds none of her values."""
    erase(session, workspace_id)

    shopify = apply_orders(session, workspace_id, OrderFormat.SHOPIFY,
                           [shopify_order(2, currency="dollars")])  # fmt: skip
    broken = b'{"id": 1, "email": "' + EMAIL.upper().encode() + b'", '
    with pytest.raises(MalformedPayload):
        ConnectorService(session).apply_upload(
            SPECS[OrderFormat.SHOPIFY], workspace_id, broken, "test"
        )

    assert len(shopify.rejected) == 1 and shopify.balanced
    assert count(session, QuarantineEntry) == 2
    assert traces_left(session) == []


def test_an_accepted_connector_order_of_an_erased_person_keeps_the_sale_only(
    session: Session, workspace_id: str
) -> None:
    """Her Shopify order sent again, and a new Square one: the orders count, nothing says who."""
    erase(session, workspace_id, ErasureMode.ANONYMISE)

    shopify = apply_orders(session, workspace_id, OrderFormat.SHOPIFY, [shopify_order(1)])
    square = apply_orders(session, workspace_id, OrderFormat.SQUARE, [square_order(2)])
    run_stitch_jobs(session)

    assert (shopify.accepted + shopify.duplicates, square.accepted) == (1, 1)
    assert count(session, Order) == 3
    assert count(session, Profile) == 0
    assert traces_left(session) == []


# (c) the sweep -------------------------------------------------------------------------------


def every_form(n: int) -> list[dict[str, Any]]:
    """New messages naming Dana in every form, some of them refused."""
    return [
        message("identify", f"s{n}-1", 80, anonymous_id="kiosk-1", user_id=USER_ID),
        message("track", f"s{n}-2", 80, anonymous_id="kiosk-2", event="V",
                traits={"email": EMAIL.upper()}),
        message("track", f"s{n}-3", 80, anonymous_id="kiosk-3", event="V",
                context={"traits": {"phone": PHONE}}),
        message("track", f"s{n}-4", 80, anonymous_id="kiosk-4", event="V",
                properties={"email": EMAIL, "phone": PHONE_E164}),
        message("identify", f"s{n}-5", 80, anonymous_id="kiosk-5",
                traits={"userId": USER_ID, "phone": PHONE_DOTS}),
        message("track", f"s{n}-6", 80, anonymous_id="kiosk-6", event="V",
                context={"externalIds": [{"type": "email", "id": EMAIL.upper()},
                                         {"type": "shopify_customer_id",
                                          "id": str(SHOPIFY_CUSTOMER)}]}),
        {"type": "track", "event": "V", "userId": USER_ID, "timestamp": "soon"},
        {"type": "track", "event": "Order Completed", "anonymousId": ANONYMOUS_ID,
         "properties": {"email": EMAIL}},
        {"type": "identify", "anonymousId": "kiosk-7", "traits": {"phone": PHONE_DOTS},
         "timestamp": "never"},
    ]  # fmt: skip


def fixed(entry: QuarantineEntry) -> Any:
    """The entry's record as a person would fix it for its replay."""
    record = json.loads(entry.raw)
    if entry.kind == "event":
        record.update(timestamp=at(90).isoformat(), event="V")
        record["type"] = "track"
        record["properties"] = {**record.get("properties", {}), "order_id": "9"}
    elif entry.kind == "order:shopify":
        record["currency"] = "USD"
    else:
        for row in record:
            row["purchase-date"] = row["last-updated-date"] = at(90).isoformat()
    return record


@pytest.mark.parametrize("mode", [ErasureMode.DELETE, ErasureMode.ANONYMISE])
def test_no_table_holds_the_erased_person_after_replays_and_new_messages(
    session: Session, workspace_id: str, mode: ErasureMode
) -> None:
    """Dana had events, orders from two connectors, consent and quarantine entries (a refused
    event, a refused Shopify order, a refused Amazon report row) in several forms. After her
    erasure every open entry is replayed, her messages and orders are sent again in every form,
    and a dump of every column of every table holds none of her values."""
    profile_id = dana(session, workspace_id)
    ingest(session, workspace_id, every_form(0)[6:])
    apply_orders(session, workspace_id, OrderFormat.SHOPIFY, [shopify_order(3, currency="$")])
    amazon = (
        "amazon-order-id\tpurchase-date\tlast-updated-date\torder-status\tfulfillment-channel\t"
        "product-name\tsku\tquantity\tcurrency\titem-price\tbuyer-email\tbuyer-phone-number\n"
        "114-0000000-0000001\tyesterday\tx\tShipped\tAmazon\tSerum\tSERUM-30\t1\tUSD\t76.00\t"
        f"{EMAIL.upper()}\t{PHONE_DOTS}\n"
    )
    ConnectorService(session).apply_upload(
        SPECS[OrderFormat.AMAZON], workspace_id, amazon.encode(), "test"
    )
    assert count(session, QuarantineEntry) >= 5

    PrivacyService(session).erase(workspace_id, profile_id, mode, actor="usr_dpo")
    quarantine = QuarantineService(session)
    for entry in session.scalars(
        select(QuarantineEntry).where(QuarantineEntry.status == QuarantineStatus.OPEN)
    ).all():
        quarantine.replay(workspace_id, entry.id, fixed=fixed(entry))
    ingest(session, workspace_id, every_form(1))
    apply_orders(session, workspace_id, OrderFormat.SHOPIFY, [shopify_order(1), shopify_order(4)])
    apply_orders(session, workspace_id, OrderFormat.SQUARE, [square_order(1), square_order(5)])
    apply_orders(session, workspace_id, OrderFormat.SHOPIFY, [shopify_order(6, currency="$")])
    run_stitch_jobs(session)

    assert traces_left(session) == []
    assert count(session, Profile) == 0
