"""``/v1/reports/advice`` and ``/v1/reports/mmm-export`` end to end: advice sentences carry
the brand's own figures; the weekly table has the shape MMM tools read; bad input is 422."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.analytics.layer.seed import Shop, at
from tests.support.factories import make_tenant

WINDOW = "from=2026-01-01&to=2026-03-31"


def brand(session: Session, workspace_id: str) -> None:
    """Four customers buy on web and in store (60.00 each), two only on web (20.00 each),
    one only on Amazon (10.00); of ten touches four come from TikTok (the brand has no
    TikTok Shop), three are email clicks, two Google referrals, one a store-locator search."""
    shop = Shop(session, workspace_id)
    for n in range(4):
        who = shop.person(f"o{n}")
        shop.order(who, "web", at("2026-01-05") + timedelta(days=n), 2000)
        shop.order(who, "store", at("2026-02-10") + timedelta(days=n), 4000)
    for n in range(2):
        shop.order(shop.person(f"w{n}"), "web", at("2026-01-06"), 2000)
    shop.order(shop.person("a0"), "amazon", at("2026-03-02"), 1000)
    tiktok = {"source": "TikTok", "medium": "creator"}
    for n in range(4):
        shop.event(f"o{n}", "Product Viewed", at("2026-01-04"), campaign=tiktok)
    for n in range(3):
        shop.event(f"o{n}", "Email Link Clicked", at("2026-02-09"), channel="email")
    for _ in range(2):
        shop.event("w0", "Product Viewed", at("2026-01-05"), referrer="https://www.google.com/")
    shop.event("a0", "Store Locator Searched", at("2026-03-01"))
    session.flush()


def test_advice_names_the_channel_to_add_with_its_figures(
    client: TestClient, session: Session
) -> None:
    tenant = make_tenant(session, "alpha")
    brand(session, tenant.workspace_id)
    session.commit()

    body = client.get(f"/v1/reports/advice?{WINDOW}", headers=tenant.auth).json()

    assert body["channels"] == ["amazon", "store", "web"]
    assert (body["customers"], body["omnichannel_share"]) == (7, 0.5714)
    by_kind = {a["kind"]: a for a in body["advice"]}
    value = by_kind["omnichannel_value"]
    # 60.00 each against (20 + 20 + 10) / 3 = 16.67: +260 %.
    assert "they spent 60.00 each against 16.67" in value["text"] and "+260%" in value["text"]
    assert by_kind["strongest_pair"]["text"].startswith("Customers of both store and web")
    assert by_kind["single_channel_base"]["channel"] == "web"
    assert "2 customers (29%) buy only on web" in by_kind["single_channel_base"]["text"]
    adds = [a for a in body["advice"] if a["kind"] == "add_channel"]
    assert [a["channel"] for a in adds] == ["tiktok_shop", "retail"]
    assert adds[0]["text"].startswith("40% of tracked touches (4 of 10) came from tiktok")
    assert {f["name"]: f["value"] for f in adds[0]["figures"]} == {"touches": 4, "share": 0.4}
    assert all(a["would_change"] for a in body["advice"])
    assert body["pairs"] == [{"channels": ["store", "web"], "customers": 4,
                              "spend_per_customer": 6000}]  # fmt: skip
    assert body["media"][0] == {"medium": "tiktok", "touches": 4, "share": 0.4}


def test_advice_without_orders_says_why(client: TestClient, session: Session) -> None:
    tenant = make_tenant(session, "alpha")
    session.commit()
    body = client.get(f"/v1/reports/advice?{WINDOW}", headers=tenant.auth).json()
    assert body["window"]["reason"] == "no orders in this range"
    assert [a["kind"] for a in body["advice"]] == ["no_add"]


def test_the_mmm_export_is_one_row_a_week_with_kpis_and_media(
    client: TestClient, session: Session
) -> None:
    """Wide CSV: a row per UTC week, revenue/orders/new customers summed over channels,
    then spend (empty: not tracked) and impressions per medium; long Parquet: week x channel."""
    tenant = make_tenant(session, "alpha")
    other = make_tenant(session, "beta")
    brand(session, tenant.workspace_id)
    brand(session, other.workspace_id)
    session.commit()

    wide = client.get(f"/v1/reports/mmm-export?{WINDOW}", headers=tenant.auth)
    long = client.get(f"/v1/reports/mmm-export?{WINDOW}&shape=long&format=parquet",
                      headers=tenant.auth)  # fmt: skip

    assert wide.status_code == 200 and wide.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(wide.text)))
    header = list(rows[0])
    assert header[:4] == ["week", "revenue", "orders", "new_customers"]
    assert {"web_spend", "web_impressions", "tiktok_impressions", "email_impressions"} <= set(
        header
    )
    assert sum(int(r["revenue"]) for r in rows) == 4 * 6000 + 2 * 2000 + 1000
    assert sum(int(r["orders"]) for r in rows) == 11
    assert sum(int(r["new_customers"]) for r in rows) == 7
    assert sum(int(r["tiktok_impressions"]) for r in rows) == 4
    assert all(r["web_spend"] == "" for r in rows)
    week_of_jan_5 = next(r for r in rows if r["week"] == "2026-01-05")
    assert week_of_jan_5["orders"] == "6" and week_of_jan_5["new_customers"] == "6"

    table = pq.read_table(io.BytesIO(long.content)).to_pylist()
    assert long.headers["content-disposition"].endswith('mmm-weekly.parquet"')
    assert list(table[0]) == ["week", "channel", "spend", "impressions", "orders", "revenue",
                              "new_customers"]  # fmt: skip
    assert sum(r["orders"] for r in table if r["channel"] == "store") == 4


def test_bad_export_parameters_are_422_naming_the_field(
    client: TestClient, session: Session
) -> None:
    tenant = make_tenant(session, "alpha")
    session.commit()
    for query, field in (("shape=tall", "shape"), ("format=xlsx", "format"),
                         ("from=2026-05-01&to=2026-01-01", "to")):  # fmt: skip
        response = client.get(f"/v1/reports/mmm-export?{query}", headers=tenant.auth)
        assert response.status_code == 422, query
        assert field in response.text
    response = client.get("/v1/reports/advice?from=0001-01-01", headers=tenant.auth)
    assert response.status_code == 422 and "from" in response.text
