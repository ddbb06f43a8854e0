"""Every dashboard page: rendered for a member, a redirect to /login for anyone else."""

from __future__ import annotations

import base64
import json
import re
import time

import pytest
from fastapi.testclient import TestClient

from tests.dashboard.conftest import sign_in
from tests.support.factories import Tenant

PAGES = [
    "/overview",
    "/sources",
    "/customers",
    "/inventory",
    "/journeys",
    "/messages",
    "/templates",
    "/creators",
    "/measure",
    "/settings/api-keys",
    "/settings/users",
    "/settings/jobs",
    "/settings/audit-log",
]


@pytest.mark.parametrize("path", PAGES)
def test_each_page_renders_for_a_signed_in_member(owner: TestClient, path: str) -> None:
    """The page answers 200 with HTML, the layout and this page marked current in the nav."""
    response = owner.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "Acme Brand" in response.text
    assert f'<a href="{path}" aria-current="page">' in response.text


@pytest.mark.parametrize("path", PAGES)
def test_each_page_sends_an_anonymous_visitor_to_login(client: TestClient, path: str) -> None:
    """Without a session the page redirects to /login, remembering where the visitor was going."""
    response = client.get(path, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize("path", PAGES)
def test_an_htmx_request_without_a_session_redirects_the_whole_page(
    client: TestClient, path: str
) -> None:
    """HTMX gets an HX-Redirect so the login page replaces the page, not a fragment of it."""
    response = client.get(path, headers={"HX-Request": "true"}, follow_redirects=False)

    assert response.status_code == 200
    assert response.headers["hx-redirect"] == "/login"


def test_the_old_analytics_page_leads_to_the_scorecard(owner: TestClient) -> None:
    """/analytics promised Measure before it was built; a bookmark of it lands on /measure."""
    response = owner.get("/analytics", follow_redirects=False)

    assert response.status_code == 308
    assert response.headers["location"] == "/measure"


def test_the_root_sends_visitors_to_login_and_members_to_the_overview(
    client: TestClient, tenant: Tenant
) -> None:
    """GET / is a redirect either way."""
    anonymous = client.get("/", follow_redirects=False)

    sign_in(client, tenant.owner_email)
    member = client.get("/", follow_redirects=False)

    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/login")
    assert (member.status_code, member.headers["location"]) == (303, "/overview")


def test_the_overview_counts_members_keys_and_jobs(owner: TestClient) -> None:
    """No events, orders or quarantine yet; one member, an admin secret key and a write key, no
    jobs and nothing oversold."""
    page = owner.get("/overview").text

    values = re.findall(r'<span class="stat-value">([^<]*)</span>', page)
    hints = re.findall(r'<span class="stat-hint">([^<]*)</span>', page)

    assert values == ["0", "0", "0", "1", "2", "0", "0", "0"]
    assert hints[4] == "1 secret · 1 write"


def test_the_overview_counts_events_orders_and_quarantine(
    owner: TestClient, tenant: Tenant
) -> None:
    """An order on TikTok Shop's channel and a refused event show in the first row of counts
    and in the orders chart."""
    auth = {
        "Authorization": "Basic " + base64.b64encode(f"{tenant.write_token}:".encode()).decode()
    }
    owner.post("/v1/batch", headers=auth, json={"batch": [
        {"type": "track", "event": "Viewed", "userId": "u", "messageId": "ok"},
        {"type": "track", "event": "Order Completed", "userId": "u", "messageId": "bad"},
    ]})  # fmt: skip
    order = {"id": "5770001", "status": "COMPLETED", "create_time": int(time.time()) - 60,
             "update_time": int(time.time()), "user_id": "77", "payment": {"currency": "USD",
             "sub_total": "20.00", "total_amount": "20.00"},
             "line_items": [{"id": "1", "seller_sku": "S-1", "product_name": "Serum",
                             "sale_price": "20.00"}]}  # fmt: skip
    uploaded = owner.post("/v1/connectors/tiktok/orders", headers=tenant.auth, json=order)

    page = owner.get("/overview").text

    assert uploaded.status_code == 200
    values = re.findall(r'<span class="stat-value">([^<]*)</span>', page)
    assert values[:3] == ["2", "1", "1"]
    spec = json.loads(
        re.search(
            r'<script type="application/json" id="orders-chart-spec">(.*?)</script>', page
        ).group(1)  # type: ignore[union-attr]
    )
    assert [(r["channel"], r["count"]) for r in spec["data"]["values"] if r["count"]] == [
        ("tiktok_shop", 1)
    ]


def test_the_jobs_chart_is_empty_with_a_no_data_message(owner: TestClient) -> None:
    """With no finished jobs the chart spec (in Settings) has 24 zero hours and the page says
    there is no data."""
    page = owner.get("/settings/jobs").text

    spec = json.loads(
        re.search(
            r'<script type="application/json" id="jobs-chart-spec">(.*?)</script>', page
        ).group(1)  # type: ignore[union-attr]
    )

    assert "No data yet." in page
    assert len(spec["data"]["values"]) == 48
    assert {row["count"] for row in spec["data"]["values"]} == {0}
    assert spec["encoding"]["y"]["scale"] == {"domain": [0, 5]}


def test_the_overview_loads_the_vendored_chart_libraries(owner: TestClient) -> None:
    """Vega, Vega-Lite and vega-embed come from /static, never from a CDN."""
    page = owner.get("/overview").text

    scripts = re.findall(r'<script src="([^"]+)"', page)

    assert [s.split("?")[0] for s in scripts] == [
        "/static/vendor/htmx.min.js",
        "/static/dashboard.js",
        "/static/vendor/vega.min.js",
        "/static/vendor/vega-lite.min.js",
        "/static/vendor/vega-embed.min.js",
    ]
    assert all(owner.get(src).status_code == 200 for src in scripts)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/app.css", "text/css; charset=utf-8"),
        ("/static/dashboard.js", "text/javascript; charset=utf-8"),
        ("/static/vendor/htmx.min.js", "text/javascript; charset=utf-8"),
        ("/static/favicon.svg", "image/svg+xml"),
    ],
)
def test_static_files_are_served_by_the_app(
    client: TestClient, path: str, content_type: str
) -> None:
    """Styles, scripts and the icon come from the package itself."""
    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"] == content_type


def test_pages_carry_security_headers(owner: TestClient) -> None:
    """Only the app's own scripts run, pages are never framed and never cached."""
    response = owner.get("/settings/api-keys")

    assert response.headers["content-security-policy"].startswith("default-src 'self'; ")
    assert "script-src 'self';" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


def test_dashboard_routes_stay_out_of_the_api_schema(client: TestClient) -> None:
    """The OpenAPI document lists the API, not the pages."""
    paths = set(client.get("/openapi.json").json()["paths"])

    assert {p for p in paths if not p.startswith("/v1/")} == {"/healthz", "/readyz"}


def test_versioned_static_files_are_cached_for_a_year(client: TestClient) -> None:
    """URLs made by static_url carry a content hash, so browsers need not ask again."""
    versioned = client.get("/static/app.css?v=0123456789ab")
    plain = client.get("/static/app.css")

    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert plain.headers["cache-control"] == "no-cache"


def test_sources_lists_real_write_keys_and_the_curl_for_this_server(
    owner: TestClient, tenant: Tenant
) -> None:
    """The write key's name and prefix (never its token) and a curl aimed at this host."""
    page = owner.get("/sources").text

    assert f"<strong>web</strong> <code>{tenant.write_token[:12]}…</code>" in page
    assert tenant.write_token not in page
    assert "http://testserver/v1/track</code></pre>" in page


def test_a_lost_page_is_a_styled_not_found_page_and_the_api_keeps_problem_json(
    owner: TestClient,
) -> None:
    """A browser that follows a dead link gets the dashboard's page (with a way back); the
    API and clients that do not ask for HTML keep problem+json."""
    html = {"Accept": "text/html,application/xhtml+xml"}

    page = owner.get("/orderz/123", headers=html)
    api = owner.get("/v1/nothing-here", headers=html)
    script = owner.get("/orderz/123")

    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "There is no page at this address." in page.text
    assert 'href="/overview"' in page.text
    assert (api.status_code, api.headers["content-type"]) == (404, "application/problem+json")
    assert script.headers["content-type"] == "application/problem+json"
