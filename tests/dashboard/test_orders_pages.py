"""The Orders pages: the list with its filters, search by number, pages and CSV export, and one
order's page with every section; a viewer sees them all and has nothing to act on."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.models.workspace import Role
from tessera.order.domain import CanonicalRefund
from tessera.order.service import OrderService
from tessera.workspace.service import WorkspaceService
from tests.dashboard.conftest import sign_in
from tests.order.test_service import PLACED
from tests.support.factories import PASSWORD, Tenant


@pytest.fixture
def orders(session: Session, tenant: Tenant) -> dict[str, str]:
    """Three orders: web (#1001, refunded in part), a store sale at Soho, and Amazon FBA."""
    service = OrderService(session)
    refund = CanonicalRefund("r1", 3800, datetime(2026, 11, 22, tzinfo=UTC), (("l1", 1),))
    web = service.apply(tenant.workspace_id, replace(PLACED, refunds=(refund,)))
    store = service.apply(
        tenant.workspace_id,
        replace(PLACED, external_id="2", order_number="S-2", channel="store:soho",
                location_ref="soho", placed_at=datetime(2026, 11, 21, 15, 0, tzinfo=UTC)),
    )  # fmt: skip
    amazon = service.apply(
        tenant.workspace_id,
        replace(PLACED, platform="amazon", external_id="3", order_number="114-3",
                channel="amazon", fulfillment="fba",
                placed_at=datetime(2026, 11, 23, 8, 30, tzinfo=UTC)),
    )  # fmt: skip
    session.commit()
    return {"web": web.order_id, "store": store.order_id, "amazon": amazon.order_id}


def listed(page_html: str, ids: dict[str, str]) -> list[str]:
    """The names of the orders a page lists, in the page's order."""
    positions = {
        name: page_html.find(f'href="/orders/{order_id}"') for name, order_id in ids.items()
    }
    return [name for name, at in sorted(positions.items(), key=lambda p: p[1]) if at >= 0]


def test_the_list_shows_every_channel_newest_first_and_filters(
    owner: TestClient, orders: dict[str, str]
) -> None:
    """Channel, status, store, the date range and the number narrow the list; the URL keeps
    them."""
    everything = owner.get("/orders")
    by_channel = owner.get("/orders?channel=store:soho")
    by_status = owner.get("/orders?status=partially_refunded")
    by_store = owner.get("/orders?store=soho")
    by_dates = owner.get("/orders?placed_from=2026-11-21&placed_to=2026-11-22")
    by_number = owner.get("/orders?number=1001")

    assert everything.status_code == 200
    assert listed(everything.text, orders) == ["amazon", "store", "web"]
    assert "76.00 USD" in everything.text and "partially refunded" in everything.text
    assert listed(by_channel.text, orders) == ["store"]
    assert listed(by_status.text, orders) == ["web"]
    assert listed(by_store.text, orders) == ["store"]
    assert listed(by_dates.text, orders) == ["store"]
    assert listed(by_number.text, orders) == ["web"]
    assert 'href="/orders.csv?channel=store%3Asoho"' in by_channel.text


def test_a_bad_filter_is_refused_with_the_field_named(
    owner: TestClient, orders: dict[str, str]
) -> None:
    """An unknown status and a range ending before it starts are refused, not ignored."""
    status = owner.get("/orders?status=shipped")
    backwards = owner.get("/orders?placed_from=2026-11-22&placed_to=2026-11-01")

    assert status.status_code == 422 and "status must be one of" in status.text
    assert backwards.status_code == 422 and "ends before it starts" in backwards.text


def test_the_list_pages_with_a_cursor_that_keeps_the_filters(
    owner: TestClient, orders: dict[str, str]
) -> None:
    """Two a page: the next link carries the cursor and the filters, the last page has none."""
    first = owner.get("/orders?limit=2&placed_from=2026-11-01")
    next_link = re.findall(r'href="([^"]+)" rel="next"', first.text)[0]
    second = owner.get(next_link.replace("&amp;", "&") + "&limit=2")

    assert listed(first.text, orders) == ["amazon", "store"]
    assert next_link.startswith("/orders?placed_from=2026-11-01&amp;cursor=")
    assert listed(second.text, orders) == ["web"]
    assert 'rel="next"' not in second.text


def test_the_csv_export_holds_exactly_the_filtered_orders(
    owner: TestClient, orders: dict[str, str]
) -> None:
    """The download is CSV with a header and one row per matching order, money in major units
    beside the currency, times in UTC."""
    response = owner.get("/orders.csv?channel=web")
    everything = owner.get("/orders.csv")

    rows = list(csv.reader(io.StringIO(response.text)))
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="orders.csv"'
    assert rows == [
        ["id", "placed_at", "platform", "order_number", "channel", "location", "status",
         "fulfillment", "customer_email", "currency", "subtotal", "discount", "shipping", "tax",
         "total", "refunded"],
        [orders["web"], "2026-11-20T09:00:00+00:00", "shopify", "#1001", "web", "",
         "partially_refunded", "", "ava.okafor@example.com", "USD", "76.00", "0.00", "0.00",
         "0.00", "76.00", "38.00"],
    ]  # fmt: skip
    assert [r[0] for r in csv.reader(io.StringIO(everything.text))][1:] == [
        orders["amazon"],
        orders["store"],
        orders["web"],
    ]


def test_the_order_page_shows_lines_money_refunds_history_and_routing(
    owner: TestClient, orders: dict[str, str]
) -> None:
    """Every section of one order, with money shown with its currency and times in UTC."""
    page = owner.get(f"/orders/{orders['web']}")
    fba = owner.get(f"/orders/{orders['amazon']}")

    assert page.status_code == 200
    text = page.text
    for section in ("Lines", "Money", "Customer", "Status history", "Refunds",
                    "Reservations", "Routing"):  # fmt: skip
        assert f">{section}</h2>" in text
    assert "Night Serum" in text and "SERUM-30" in text
    assert "\u221238.00 USD" in text  # refunded, shown as a minus
    assert "<code>r1</code>" in text and "1 \u00d7 l1" in text
    assert "snapshot: placed" in text and "now: partially refunded" in text
    assert "ava.okafor@example.com" in text.lower()
    assert "Amazon ships FBA orders from its own stock" in fba.text


def test_another_workspaces_order_is_not_found(
    owner: TestClient, session: Session, orders: dict[str, str]
) -> None:
    """An id of another workspace answers 404, as one that never was."""
    other = WorkspaceService(session).create_workspace("Other", "other")
    theirs = OrderService(session).apply(other.id, replace(PLACED, external_id="x"))
    session.commit()

    assert owner.get(f"/orders/{theirs.order_id}").status_code == 404
    assert owner.get("/orders/ord_nothing").status_code == 404


def test_a_viewer_sees_orders_and_has_nothing_to_act_on(
    client: TestClient, session: Session, tenant: Tenant, orders: dict[str, str]
) -> None:
    """A viewer reads the list, the export and an order; the order page holds no form."""
    WorkspaceService(session).add_user(
        tenant.workspace_id, "viewer@acme.example", Role.VIEWER, password=PASSWORD
    )
    session.commit()
    assert sign_in(client, "viewer@acme.example").status_code == 303

    listing = client.get("/orders")
    export = client.get("/orders.csv")
    page = client.get(f"/orders/{orders['web']}")

    assert (listing.status_code, export.status_code, page.status_code) == (200, 200, 200)
    main = page.text.split('<main id="main"', 1)[1]
    assert "<form" not in main and "<button" not in main


def test_the_navigation_links_the_orders_page(owner: TestClient, orders: dict[str, str]) -> None:
    """Orders sits in the main navigation, marked current on its pages."""
    page = owner.get(f"/orders/{orders['web']}")

    assert '<a href="/orders" aria-current="page">' in page.text
