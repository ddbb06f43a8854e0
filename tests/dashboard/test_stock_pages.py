"""The product, SKU and location pages: what each shows, oversold stock with the orders behind
it on every stock page and the overview, and the stock forms: they change the ledger with
their reason for marketers and above, refuse a viewer, and answer bad input with a form error,
never a 500, changing nothing."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from playwright.sync_api import Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.catalog.schemas import ProductIn, VariantIn
from tessera.catalog.service import CatalogService
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.stock import StockService
from tessera.models.inventory import StockLedgerEntry
from tessera.models.workspace import AuditEntry, Role
from tests.dashboard.conftest import csrf_from, member, table_rows
from tests.dashboard.stock_world import StockWorld, build_stock_world
from tests.support.factories import Tenant, make_tenant


@pytest.fixture
def world(session: Session, tenant: Tenant) -> StockWorld:
    return build_stock_world(session, tenant.workspace_id)


def ledger_entries(session: Session, workspace_id: str) -> int:
    session.expire_all()
    return int(
        session.scalar(
            select(func.count())
            .select_from(StockLedgerEntry)
            .where(StockLedgerEntry.workspace_id == workspace_id)
        )
        or 0
    )


def counters(session: Session, world: StockWorld, sku: str, code: str) -> dict[str, int]:
    """On hand, held, committed and damaged of one balance (zeros when it has none)."""
    session.expire_all()
    location = LocationService(session).location_by_code(world.workspace_id, code)
    found = StockService(session).balances(world.workspace_id, [world.variants[sku]], [location.id])
    names = ("on_hand", "reserved", "committed", "damaged")
    return {name: getattr(found[0][0], name) if found else 0 for name in names}


def send(client: TestClient, world: StockWorld, sku: str, **fields: str) -> Response:
    """Fill in one of the SKU page's forms as a browser would (the page's CSRF token and the
    form's idempotency key included) and send it; returns the answer, not followed."""
    page = client.get(f"/variants/{world.variants[sku]}")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    data = {"csrf_token": csrf_from(page), "idempotency_key": key.group(1) if key else ""}
    data.update(fields)
    return client.post(f"/variants/{world.variants[sku]}/stock", data=data, follow_redirects=False)


# What the pages show --------------------------------------------------------------------------


def test_the_sku_page_shows_stock_by_location_listings_prices_and_ledger(
    owner: TestClient, world: StockWorld
) -> None:
    """TEE-M: its counters at every location, its four listings, its prices against the
    site, its ledger newest first, the bundle it goes into and the five forms."""
    page = owner.get(f"/variants/{world.variants['TEE-M']}")

    assert page.status_code == 200
    assert table_rows(page.text, "sku-stock") == [
        ["Location", "On hand", "Held", "Committed", "Incoming", "Damaged", "Safety",
         "Available", "Sellable"],
        ["fba-us fba", "no stock recorded"],
        ["main warehouse", "10", "1", "0", "0", "0", "0", "9", "9"],
        ["soho store", "5", "0", "2", "0", "0", "0", "3", "3"],
    ]  # fmt: skip
    assert [row[0] for row in table_rows(page.text, "sku-listings")[1:]] == [
        "amazon amazon · mfn",
        "amazon amazon · fba",
        "tiktok_shop tiktok_shop",
        "web shopify",
    ]
    assert table_rows(page.text, "sku-prices")[1:] == [
        ["amazon", "22.00 USD", "+10.00%", "—", "above site"],
        ["web", "20.00 USD", "—", "—", "ok"],
    ]
    assert [row[1:4] for row in table_rows(page.text, "ledger-table")[1:]] == [
        ["main", "reserve", "held +1"],
        ["soho", "commit", "committed +2"],
        ["soho", "adjust", "on hand +5"],
        ["main", "adjust", "on hand +10"],
    ]
    assert f'href="/variants/{world.variants["KIT"]}"><strong>KIT</strong>' in page.text
    assert [op for op in ("receive", "adjust", "count", "transfer", "damage")
            if f'id="{op}-form"' in page.text] == ["receive", "adjust", "count", "transfer",
                                                   "damage"]  # fmt: skip


def test_a_bundle_page_shows_its_components_and_no_forms(
    owner: TestClient, world: StockWorld
) -> None:
    """KIT is 2 TEE-M + 1 CAP: its sellable comes from them and its stock is not changed
    by hand; the oversold CAP behind it is shown."""
    page = owner.get(f"/variants/{world.variants['KIT']}")

    assert page.status_code == 200
    parts = re.findall(r'<strong>([\w-]+)</strong></a><span class="count">(\d) per', page.text)
    assert parts == [("CAP", "1"), ("TEE-M", "2")]
    assert table_rows(page.text, "sku-stock")[1:] == [
        ["fba-us", "fba", "0"],
        ["main", "warehouse", "0"],
        ["soho", "store", "0"],
    ]
    assert 'id="receive-form"' not in page.text
    assert "A bundle has no stock of its own" in page.text
    assert table_rows(page.text, "oversold")[1][:2] == ["CAP", "main"]


def test_oversold_stock_shows_with_the_order_behind_it_on_every_stock_page(
    owner: TestClient, world: StockWorld
) -> None:
    """The web order #7001 took 5 CAP where main had 3: CAP at main is 2 short, and the
    Inventory, SKU, product and location pages and the overview say so, naming the order."""
    pages = {
        "inventory": owner.get("/inventory"),
        "sku": owner.get(f"/variants/{world.variants['CAP']}"),
        "product": owner.get(f"/products/{world.product_id}"),
        "location": owner.get("/locations/main"),
    }
    overview = owner.get("/overview")
    locations = owner.get("/locations")

    for name, page in pages.items():
        assert page.status_code == 200, name
        row = table_rows(page.text, "oversold")[1]
        assert row[-6:] == ["3", "0", "5", "0", "2 short", "#7001 5 units · web backorder"], name
        assert f'<a href="/orders/{world.oversold_order}">#7001</a>' in page.text, name
    assert table_rows(pages["inventory"].text, "oversold")[1][:2] == ["CAP", "main"]
    assert table_rows(pages["location"].text, "oversold")[1][0] == "CAP"
    card = re.search(r'id="oversold-card">(.*?)</a>', overview.text, re.S)
    assert card is not None
    assert " ".join(re.sub(r"<[^>]+>", " ", card.group(1)).split()) == (
        "Oversold 2 units short: CAP at main (#7001)"
    )
    assert table_rows(locations.text, "locations-table")[1:] == [
        ["fba-us fba-us", "fba", "—", "no channel", "—", "0"],
        ["main main", "warehouse", "—", "amazon #1, tiktok_shop #1, web #1", "—", "2 short"],
        ["soho soho", "store", "—", "web #2", "yes", "0"],
    ]


def test_an_empty_workspace_has_no_oversold_card_alert(owner: TestClient) -> None:
    """With no stock the overview's card reads zero and says nothing waits on stock."""
    overview = owner.get("/overview")

    card = re.search(r'id="oversold-card">(.*?)</a>', overview.text, re.S)
    assert card is not None
    assert "no order waits on stock that is not there" in card.group(1)
    assert 'stat-alert" href="/inventory#oversold-section"' not in overview.text


def test_the_location_page_shows_stock_holds_pickups_and_movements(
    owner: TestClient, world: StockWorld
) -> None:
    """main holds the checkout's hold on one TEE-M; soho has #7002 waiting to be collected."""
    main = owner.get("/locations/main")
    soho = owner.get("/locations/soho")

    assert main.status_code == soho.status_code == 200
    assert table_rows(main.text, "location-stock")[1:] == [
        ["TEE-M", "10", "1", "0", "0", "0", "0", "9"],
        ["CAP", "3", "0", "5", "0", "0", "0", "0 2 short"],
    ]
    assert [row[:3] for row in table_rows(main.text, "location-holds")[1:]] == [
        ["TEE-M", "1", "web"]
    ]
    assert table_rows(soho.text, "location-pickups")[1][:3] == ["#7002", "TEE-M", "2"]
    assert f'href="/orders/{world.pickup_order}">#7002</a>' in soho.text
    assert [row[1:4] for row in table_rows(soho.text, "location-ledger")[1:]] == [
        ["TEE-M", "commit", "committed +2"],
        ["TEE-M", "adjust", "on hand +5"],
    ]
    assert "No pickup order is waiting here." not in soho.text
    assert "This location offers no pickup." in main.text


def test_the_ledger_pages_through_and_keeps_its_location_filter(
    owner: TestClient, session: Session, world: StockWorld
) -> None:
    """30 more adjustments at main: 25 a page, newest first, the filter kept on the next
    page; soho's entries stay out."""
    stock = StockService(session)
    for number in range(30):
        stock.adjust(world.workspace_id, "TEE-M", "main", 1, f"k-{number}", f"step {number}")
    session.commit()
    variant = world.variants["TEE-M"]

    first = owner.get(f"/variants/{variant}?location=main")
    link = re.search(r'href="(/variants/[^"]+)" rel="next"', first.text)
    assert link is not None
    second = owner.get(link.group(1).replace("&amp;", "&"))

    notes = [row[5] for row in table_rows(first.text, "ledger-table")[1:]]
    assert notes == [f"step {n}" for n in range(29, 4, -1)]
    assert "location=main" in link.group(1)
    later = table_rows(second.text, "ledger-table")[1:]
    assert [row[5] for row in later] == [f"step {n}" for n in range(4, -1, -1)] + ["", ""]
    assert {row[1] for row in later} == {"main"}
    assert 'rel="next"' not in second.text
    assert "First page" in second.text
    movements = owner.get("/locations/main")
    more = re.search(r'href="(/locations/main\?ledger_cursor=[^"]+#movements)" rel="next"',
                     movements.text)  # fmt: skip
    assert more is not None
    rest = owner.get(more.group(1))
    assert len(table_rows(movements.text, "location-ledger")) == 1 + 25
    # 30 steps, the hold, the CAP order's commit and the two adjustments that stocked main
    assert len(table_rows(rest.text, "location-ledger")) == 1 + 34 - 25


def test_the_product_list_and_page(owner: TestClient, world: StockWorld) -> None:
    """The list names each product's SKUs and what they can sell; the product page shows
    its variants, the bundle's parts, listings and prices."""
    listing = owner.get("/products")
    page = owner.get(f"/products/{world.product_id}")

    assert table_rows(listing.text, "products-table")[1:] == [
        ["Tee tee", "active", "CAP, KIT bundle, TEE-M", "12"]
    ]
    assert table_rows(page.text, "product-variants")[1:] == [
        ["CAP", "", "—", "—", "0"],
        ["KIT bundle", "", "1 \u00d7 CAP, 2 \u00d7 TEE-M", "—", "0"],
        ["TEE-M", "", "—", "—", "12"],
    ]
    assert len(table_rows(page.text, "product-listings")) == 1 + 5
    assert table_rows(page.text, "product-prices")[1][:4] == [
        "TEE-M", "amazon", "22.00 USD", "+10.00%",
    ]  # fmt: skip


def test_the_product_list_pages_through_keeping_its_size(
    owner: TestClient, session: Session, world: StockWorld
) -> None:
    """Three products two a page: the next page keeps the size and shows the third."""
    catalog = CatalogService(session)
    for handle in ("mug", "sock"):
        catalog.create_product(
            world.workspace_id,
            ProductIn(
                handle=handle, title=handle.title(), variants=[VariantIn(sku=handle.upper())]
            ),
        )
    session.commit()

    first = owner.get("/products?limit=2")
    link = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert link is not None
    second = owner.get(link.group(1).replace("&amp;", "&"))

    assert [row[0] for row in table_rows(first.text, "products-table")[1:]] == [
        "Tee tee", "Mug mug",
    ]  # fmt: skip
    assert "limit=2" in link.group(1)
    assert [row[0] for row in table_rows(second.text, "products-table")[1:]] == ["Sock sock"]
    assert 'href="/products?limit=2">First page' in second.text
    assert 'rel="next"' not in second.text


def test_a_sku_is_found_by_its_text(owner: TestClient, world: StockWorld) -> None:
    """The lookup opens the SKU's page; an unknown SKU is said so in the form."""
    found = owner.get("/products?sku=CAP", follow_redirects=False)
    missing = owner.get("/products?sku=NOPE")

    assert (found.status_code, found.headers["location"]) == (
        303, f"/variants/{world.variants['CAP']}",
    )  # fmt: skip
    assert missing.status_code == 404
    assert "no variant has SKU &#39;NOPE&#39;" in missing.text
    assert 'id="products-table"' in missing.text


def test_another_workspaces_things_are_not_found(
    owner: TestClient, session: Session, world: StockWorld
) -> None:
    """A SKU, product or location of another workspace is a 404 page, and naming one on a
    stock form changes nothing there."""
    other = make_tenant(session, "other")
    theirs = build_stock_world(session, other.workspace_id)
    before = ledger_entries(session, other.workspace_id)

    token = csrf_from(owner.get("/products"))

    answers = [
        owner.get(f"/variants/{theirs.variants['TEE-M']}"),
        owner.get(f"/products/{theirs.product_id}"),
        owner.get("/locations/nowhere"),
        owner.post(
            f"/variants/{theirs.variants['TEE-M']}/stock",
            data={"csrf_token": token, "operation": "receive", "location": "main",
                  "quantity": "1", "reason": "theirs"},
        ),
    ]  # fmt: skip

    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert all("text/html" in a.headers["content-type"] for a in answers)
    assert ledger_entries(session, other.workspace_id) == before


def test_odd_paging_input_is_a_page_saying_so_never_a_500(
    owner: TestClient, world: StockWorld
) -> None:
    """A cursor this app did not make, a limit out of range or not a number, an unknown
    ledger location: a 4xx page each."""
    variant = world.variants["TEE-M"]
    paths = {
        "/products?cursor=not-ours": 422,
        "/products?limit=0": 422,
        "/products?limit=many": 422,
        f"/variants/{variant}?cursor=bm90LW91cnM": 422,
        f"/variants/{variant}?location=nowhere": 404,
        "/locations/main?stock_cursor=x&ledger_cursor=y": 422,
        "/variants/" + "v" * 5000: 404,
    }

    answers = {path: owner.get(path) for path in paths}

    assert {path: a.status_code for path, a in answers.items()} == paths
    assert all("text/html" in a.headers["content-type"] for a in answers.values())


def test_the_pages_need_a_signed_in_member(client: TestClient, world: StockWorld) -> None:
    """Anonymous visitors are sent to the login page."""
    for path in ("/products", f"/variants/{world.variants['CAP']}", "/locations/main"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")


# The stock forms ------------------------------------------------------------------------------


def test_a_marketer_receives_stock_and_sees_the_ledger_line_with_the_reason(
    client: TestClient, session: Session, tenant: Tenant, world: StockWorld
) -> None:
    """4 TEE-M received at main: on hand 14, a receive entry noting the reason, the change
    audited under the marketer, and the page says what was done."""
    marketer = member(client, session, tenant, Role.MARKETER)

    answer = send(marketer, world, "TEE-M", operation="receive", location="main",
                  quantity="4", reason="PO 88 from the supplier")  # fmt: skip
    page = marketer.get(f"/variants/{world.variants['TEE-M']}")

    assert answer.status_code == 303
    assert answer.headers["location"] == f"/variants/{world.variants['TEE-M']}#ledger"
    assert table_rows(page.text, "ledger-table")[1][1:6] == [
        "main", "receive", "on hand +4", "receipt", "PO 88 from the supplier",
    ]  # fmt: skip
    assert table_rows(page.text, "sku-stock")[2][:2] == ["main warehouse", "14"]
    assert "Received 4 at main of TEE-M: PO 88 from the supplier" in page.text
    session.expire_all()
    audit = session.scalars(
        select(AuditEntry).where(AuditEntry.workspace_id == tenant.workspace_id,
                                 AuditEntry.action == "stock.receive")
    ).one()  # fmt: skip
    assert (audit.subject, audit.details["reason"], audit.details["quantity"]) == (
        "TEE-M", "PO 88 from the supplier", "4",
    )  # fmt: skip
    assert audit.actor != tenant.owner_id


@pytest.mark.parametrize(
    ("fields", "main", "soho", "reason"),
    [
        ({"operation": "adjust", "location": "main", "quantity": "-3"},
         {"on_hand": 7, "reserved": 1, "committed": 0, "damaged": 0}, None, "adjust"),
        ({"operation": "count", "location": "soho", "quantity": "6"}, None,
         {"on_hand": 6, "reserved": 0, "committed": 2, "damaged": 0}, "count"),
        ({"operation": "transfer", "location": "main", "to_location": "soho", "quantity": "4"},
         {"on_hand": 6, "reserved": 1, "committed": 0, "damaged": 0},
         {"on_hand": 9, "reserved": 0, "committed": 2, "damaged": 0}, "transfer_out"),
        ({"operation": "damage", "location": "main", "quantity": "2"},
         {"on_hand": 10, "reserved": 1, "committed": 0, "damaged": 2}, None, "damage"),
        ({"operation": "damage", "location": "main", "quantity": "2", "write_off": "1"},
         {"on_hand": 8, "reserved": 1, "committed": 0, "damaged": 0}, None, "damage"),
    ],
    ids=["adjust", "count", "transfer", "damage", "write-off"],
)  # fmt: skip
def test_each_form_changes_the_counters_with_its_reason(
    owner: TestClient,
    session: Session,
    world: StockWorld,
    fields: dict[str, str],
    main: dict[str, int] | None,
    soho: dict[str, int] | None,
    reason: str,
) -> None:
    """Adjust, count, transfer and damage change exactly the counters they name, and the
    ledger entry carries the reason typed."""
    before = {"main": counters(session, world, "TEE-M", "main"),
              "soho": counters(session, world, "TEE-M", "soho")}  # fmt: skip
    last = session.scalar(select(func.max(StockLedgerEntry.id)))

    answer = send(owner, world, "TEE-M", reason="shelf check", **fields)

    assert answer.status_code == 303
    assert counters(session, world, "TEE-M", "main") == (main or before["main"])
    assert counters(session, world, "TEE-M", "soho") == (soho or before["soho"])
    written = session.scalars(
        select(StockLedgerEntry).where(
            StockLedgerEntry.workspace_id == world.workspace_id, StockLedgerEntry.id > last
        )
    ).all()
    assert reason in {entry.reason.value for entry in written}
    assert {entry.note for entry in written} == {"shelf check"}


def test_a_form_sent_twice_changes_stock_once(
    owner: TestClient, session: Session, world: StockWorld
) -> None:
    """The same form (the same hidden key) again, as a double click sends it: one entry."""
    page = owner.get(f"/variants/{world.variants['TEE-M']}")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert key is not None
    data = {"csrf_token": csrf_from(page), "idempotency_key": key.group(1)}
    data.update(operation="receive", location="main", quantity="4", reason="PO 9")
    before = ledger_entries(session, world.workspace_id)

    first = owner.post(f"/variants/{world.variants['TEE-M']}/stock", data=data)
    second = owner.post(f"/variants/{world.variants['TEE-M']}/stock", data=data)

    assert (first.status_code, second.status_code) == (200, 200)
    assert "That form was sent before: the stock changed once." in second.text
    assert ledger_entries(session, world.workspace_id) == before + 1
    assert counters(session, world, "TEE-M", "main")["on_hand"] == 14


def test_a_viewer_sees_no_forms_and_is_refused(
    client: TestClient, session: Session, tenant: Tenant, world: StockWorld
) -> None:
    """A viewer reads the SKU page without forms; posting one anyway is 403 and changes
    nothing."""
    viewer = member(client, session, tenant, Role.VIEWER)
    page = viewer.get(f"/variants/{world.variants['TEE-M']}")
    before = ledger_entries(session, world.workspace_id)

    refused = viewer.post(
        f"/variants/{world.variants['TEE-M']}/stock",
        data={"csrf_token": csrf_from(viewer.get("/products")), "operation": "receive",
              "location": "main", "quantity": "5", "reason": "sneaky"},
    )  # fmt: skip

    assert page.status_code == 200
    assert "/stock" not in re.sub(r'href="[^"]*"', "", page.text.split("<main", 1)[1])
    assert 'id="change-stock"' not in page.text
    assert refused.status_code == 403
    assert "marketer role or higher" in refused.text
    assert ledger_entries(session, world.workspace_id) == before


def test_a_form_without_its_csrf_token_is_refused(
    owner: TestClient, session: Session, world: StockWorld
) -> None:
    """A form posted from another site (no token) is refused before anything runs."""
    before = ledger_entries(session, world.workspace_id)

    refused = owner.post(
        f"/variants/{world.variants['TEE-M']}/stock",
        data={"operation": "receive", "location": "main", "quantity": "5", "reason": "x"},
    )

    assert refused.status_code == 403
    assert "This form has expired" in refused.text
    assert ledger_entries(session, world.workspace_id) == before


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"operation": "receive", "quantity": "-3"}, 422, "quantity: must be at least 1"),
        ({"operation": "receive", "quantity": "ten"}, 422, "quantity: must be a whole number"),
        ({"operation": "receive", "quantity": "2.5"}, 422, "quantity: must be a whole number"),
        ({"operation": "receive", "quantity": ""}, 422, "quantity: must be a whole number"),
        ({"operation": "receive", "quantity": "99999999999"}, 422,
         "quantity: must be at most 1,000,000"),
        ({"operation": "receive", "location": "nowhere"}, 404, "no location &#39;nowhere&#39;"),
        ({"operation": "receive", "location": "Not A Code!"}, 422,
         "location: is not a location code"),
        ({"operation": "receive", "location": "fba-us"}, 409, "fba-us is Amazon&#39;s stock"),
        ({"operation": "receive", "reason": "  "}, 422, "say why"),
        ({"operation": "receive", "reason": "x" * 501}, 422,
         "reason: must be at most 500 characters"),
        ({"operation": "count", "quantity": "-1"}, 422, "quantity: must be at least 0"),
        ({"operation": "adjust", "quantity": "0"}, 422, "an adjustment of zero changes nothing"),
        ({"operation": "adjust", "quantity": "-50"}, 409, "on hand would go below zero"),
        ({"operation": "transfer", "to_location": "main"}, 422,
         "a transfer needs two different locations"),
        ({"operation": "transfer", "to_location": "elsewhere"}, 404,
         "no location &#39;elsewhere&#39;"),
        ({"operation": "damage", "quantity": "50"}, 409, "fewer than 50 units available"),
        ({"operation": "explode"}, 422, "choose receive, adjust, count, transfer or damage"),
    ],
    ids=["negative", "text", "fraction", "empty", "huge", "unknown-location", "bad-code", "fba",
         "no-reason", "long-reason", "negative-count", "zero-adjust", "below-zero",
         "same-location", "unknown-target", "too-much-damage", "unknown-operation"],
)  # fmt: skip
def test_bad_input_is_a_form_error_and_changes_nothing(
    owner: TestClient,
    session: Session,
    world: StockWorld,
    fields: dict[str, str],
    status: int,
    message: str,
) -> None:
    """Each refusal shows the SKU page again with the error and the values typed; the
    ledger and the counters are as they were."""
    before = ledger_entries(session, world.workspace_id)
    typed = {"location": "main", "to_location": "soho", "quantity": "3", "reason": "why not"}
    typed.update(fields)

    answer = send(owner, world, "TEE-M", **typed)

    assert answer.status_code == status
    assert "text/html" in answer.headers["content-type"]
    assert message in answer.text
    assert 'id="sku-stock"' in answer.text
    if typed["operation"] in ("receive", "count", "adjust", "transfer", "damage"):
        assert f'id="{typed["operation"]}-form" open' in answer.text
    assert ledger_entries(session, world.workspace_id) == before
    assert counters(session, world, "TEE-M", "main") == {
        "on_hand": 10, "reserved": 1, "committed": 0, "damaged": 0,
    }  # fmt: skip


def test_a_nul_byte_in_a_form_is_refused_before_anything_runs(
    owner: TestClient, session: Session, world: StockWorld
) -> None:
    """Text no database can keep is refused at the door (422, the field named), never a
    500, and nothing changes."""
    before = ledger_entries(session, world.workspace_id)

    answer = send(owner, world, "TEE-M", operation="receive", location="main", quantity="3",
                  reason="PO\x0012")  # fmt: skip

    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "form.reason"
    assert ledger_entries(session, world.workspace_id) == before


# In a browser ---------------------------------------------------------------------------------


@pytest.mark.browser
def test_a_marketer_receives_stock_on_the_sku_page_in_chromium(committed_database_url: str) -> None:
    """Signed in as a marketer, in headless Chromium at 1280 px: Products, then TEE-M, then
    the receive form; the ledger shows the line with its reason. A transfer to the same
    location shows its error in the form. Nothing overflows sideways; no console error."""
    from playwright.sync_api import expect, sync_playwright

    from tessera.db import make_engine, make_session_factory, session_scope
    from tessera.workspace.service import WorkspaceService
    from tests.e2e.test_browser import CHROMIUM_ARGS
    from tests.support.factories import PASSWORD
    from tests.support.live import live_server

    engine = make_engine(committed_database_url)
    with session_scope(make_session_factory(engine)) as session:
        tenant = make_tenant(session, "browserco")
        world = build_stock_world(session, tenant.workspace_id)
        WorkspaceService(session).add_user(
            tenant.workspace_id, "marketer@browserco.example", Role.MARKETER, password=PASSWORD
        )
    engine.dispose()
    shots = Path(tempfile.gettempdir()) / "tessera-stock"
    shots.mkdir(exist_ok=True)
    problems: list[str] = []
    fits: dict[str, bool] = {}

    with live_server(committed_database_url) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
            page.goto(base + "/login")
            page.get_by_label("Email").fill("marketer@browserco.example")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(base + "/overview")

            page.get_by_role("navigation", name="Main").get_by_role("link", name="Products").click()
            page.locator("#products-table").get_by_role("link", name="TEE-M").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("SKU TEE-M")
            page.get_by_text("Receive", exact=True).click()
            page.locator("#receive-location").select_option("main")
            page.locator("#receive-quantity").fill("6")
            page.locator("#receive-reason").fill("PO 4411 from the supplier")
            page.get_by_role("button", name="Receive stock").click()

            expect(page).to_have_url(f"{base}/variants/{world.variants['TEE-M']}#ledger")
            expect(page.get_by_role("status")).to_contain_text(
                "Received 6 at main of TEE-M: PO 4411 from the supplier"
            )
            first = page.locator("#ledger-table tbody tr").first
            expect(first).to_contain_text("receive")
            expect(first).to_contain_text("on hand +6")
            expect(first).to_contain_text("PO 4411 from the supplier")
            expect(page.locator("#sku-stock tbody tr").nth(1)).to_contain_text("16")
            page.screenshot(path=shots / "sku-received.png", full_page=True)

            clean_until_refused = list(problems)
            page.get_by_text("Transfer", exact=True).click()
            page.locator("#transfer-location").select_option("main")
            page.locator("#transfer-to_location").select_option("main")
            page.locator("#transfer-quantity").fill("2")
            page.locator("#transfer-reason").fill("to the store")
            page.get_by_role("button", name="Transfer stock").click()
            expect(page.locator("#transfer-to_location-error")).to_have_text(
                "a transfer needs two different locations"
            )
            fits["sku"] = _fits(page)
            page.screenshot(path=shots / "sku-refused.png", full_page=True)
            refusal = problems[len(clean_until_refused) :]
            for name, path in (("inventory", "/inventory"), ("location", "/locations/main"),
                               ("product", f"/products/{world.product_id}"),
                               ("locations", "/locations"), ("products", "/products")):  # fmt: skip
                page.goto(base + path)
                fits[name] = _fits(page)
                page.screenshot(path=shots / f"{name}.png", full_page=True)
        finally:
            browser.close()

    assert fits == dict.fromkeys(
        ("sku", "inventory", "location", "product", "locations", "products"), True
    )
    assert clean_until_refused == []
    # The refused form is answered 422, which Chromium reports; nothing else is.
    assert [re.sub(r"\(.*\)", "", message).strip() for message in refusal] == [
        "Failed to load resource: the server responded with a status of 422"
    ]
    assert problems == clean_until_refused + refusal


def _fits(page: Page) -> bool:
    """Whether the page, every card and every table fit their width, and every button is
    inside the viewport (nothing to scroll sideways for)."""
    return bool(
        page.evaluate(
            """() => document.documentElement.scrollWidth <= window.innerWidth &&
                 [...document.querySelectorAll('.card, .table-wrap')].every(
                   (el) => el.scrollWidth <= el.clientWidth + 1) &&
                 [...document.querySelectorAll('.button')].every(
                   (el) => el.getBoundingClientRect().right <= window.innerWidth)"""
        )
    )
