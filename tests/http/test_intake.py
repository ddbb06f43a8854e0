"""Where input enters: bodies limited while read, unstorable text and numbers refused by name.

Each defect class of hostile input has a test here that answered 500 (or read a body whole)
before: a NUL character in a path, a query, a JSON body, a header, a form or an uploaded
file's field; a number past what its column holds; a body far over any limit, unauthenticated.
"""

from __future__ import annotations

import asyncio
import base64
import copy
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.catalog.importer import parse_csv
from tessera.connector.records import delimited_records, read_header
from tessera.models.order import Order
from tests.dashboard.conftest import csrf_from
from tests.support.connectors import fixture_bytes, fixture_json
from tests.support.factories import Tenant, make_tenant

PROBLEM = "application/problem+json"
MB = 1024 * 1024


@pytest.fixture
def tenant(session: Session) -> Tenant:
    return make_tenant(session, "intake")


def refused_field(response: Any) -> tuple[int, str, str]:
    """(status, content type, the field the problem names)."""
    body = response.json()
    return response.status_code, response.headers["content-type"], body["errors"][0]["field"]


# NUL characters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("GET", "/v1/products/prod_%00x", "path.product_id"),
        ("GET", "/v1/orders/%00", "path.order_id"),
        ("POST", "/v1/jobs/job_%00/retry", "path.job_id"),
        ("GET", "/v1/variants?sku=SERUM%00", "query.sku"),
        ("GET", "/v1/stock/ledger?sku=a&location=wh%00", "query.location"),
        ("GET", "/v1/profiles?q=%00", "query.q"),
    ],
)
def test_a_nul_in_the_path_or_query_is_422_naming_the_parameter(
    client: TestClient, tenant: Tenant, method: str, url: str, field: str
) -> None:
    """A NUL in a path or query parameter is refused as invalid input naming it, not sent to
    the database (PostgreSQL answered 500: text cannot contain NUL)."""
    response = client.request(method, url, headers=tenant.auth)

    assert refused_field(response) == (422, PROBLEM, field)


def test_a_nul_deep_in_a_json_body_is_422_naming_its_path(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """A NUL in a string or a key at any depth of a JSON body is refused with the path to it,
    and nothing is created."""
    body = {"kind": "store", "name": "Soho", "key": "store:soho", "external_refs": {"pos": "a\x00"}}

    response = client.post("/v1/channels", json=body, headers=tenant.auth)
    keyed = client.post(
        "/v1/channels",
        json={**body, "external_refs": {"p\x00s": "a"}},
        headers=tenant.auth,
    )
    listed = client.get("/v1/channels", headers=tenant.auth)

    assert refused_field(response) == (422, PROBLEM, "body.external_refs.pos")
    assert response.json()["detail"] == (
        "body.external_refs.pos: must not contain the NUL character"
    )
    assert refused_field(keyed) == (422, PROBLEM, "body.external_refs")
    assert "store:soho" not in listed.text


def test_a_lone_surrogate_or_a_non_finite_number_in_json_is_422(
    client: TestClient, tenant: Tenant
) -> None:
    """JSON can escape a lone surrogate (no database can store it) and Python reads NaN and
    Infinity: both are refused by name."""
    surrogate = client.post(
        "/v1/channels",
        content=b'{"kind": "store", "name": "\\ud800", "key": "store:x"}',
        headers={**tenant.auth, "Content-Type": "application/json"},
    )
    not_finite = client.post(
        "/v1/quarantine/qua_x/replay",
        content=b'{"payload": {"total": NaN}}',
        headers={**tenant.auth, "Content-Type": "application/json"},
    )

    assert refused_field(surrogate) == (422, PROBLEM, "body.name")
    assert refused_field(not_finite) == (422, PROBLEM, "body.payload.total")


def test_a_nul_in_a_header_or_in_basic_credentials_is_422(client: TestClient) -> None:
    """Header values reach the database (tokens, webhook ids): a NUL in one is refused."""
    token = base64.b64encode(b"tsk_\x00abc:").decode()

    basic = client.get("/v1/workspace", headers={"Authorization": f"Basic {token}"})
    request_id = client.get("/v1/workspace", headers={"X-Shopify-Webhook-Id": "a\x00b"})

    assert refused_field(basic) == (422, PROBLEM, "header.authorization")
    assert refused_field(request_id) == (422, PROBLEM, "header.x-shopify-webhook-id")


def test_a_nul_in_a_dashboard_form_field_is_422(client: TestClient, tenant: Tenant) -> None:
    """The sign-in form's email with a NUL is refused before the sign-in is counted."""
    form = client.get("/login")

    response = client.post(
        "/login",
        data={"email": "owner@intake.example\x00", "password": "x", "csrf_token": csrf_from(form)},
    )

    assert refused_field(response) == (422, PROBLEM, "form.email")


def test_a_nul_in_an_uploaded_csv_field_refuses_that_record_by_name(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """A sell-through row with a NUL in a cell is refused naming the column; the others are
    applied."""
    lines = fixture_bytes("retail/sell_through.csv").splitlines()
    lines[1] = lines[1].replace(b"ULTA-0412", b"ULTA\x000412")

    response = client.post(
        "/v1/connectors/retail/sell-through",
        content=b"\n".join(lines) + b"\n",
        headers=tenant.auth,
    )

    assert response.status_code == 200
    rejection = response.json()["rejections"][0]
    assert (rejection["where"], rejection["field"]) == ("line 2", "store_id")
    assert rejection["reason"] == "store_id must not contain the NUL character"


def test_import_parsers_refuse_a_nul_by_field() -> None:
    """Files read by the importers (orders, catalog) refuse a NUL cell naming its column."""
    import io

    stream = io.BytesIO(b"sku,units\nSERUM\x00-30,2\n")
    columns, header_bytes = read_header(stream, ",")
    records = list(delimited_records(stream, columns, header_bytes))
    catalog = parse_csv("handle,sku,title\nserum,SERUM-30,Ser\x00um\n")

    assert records[0].problem is not None
    assert (records[0].problem.detail, records[0].problem.extensions["field"]) == (
        "sku must not contain the NUL character",
        "sku",
    )
    assert catalog.errors == ["line 2: title must not contain the NUL character"]
    assert catalog.products == []


# Numbers past their columns -------------------------------------------------------------------


def test_a_quantity_past_32_bits_in_an_upload_is_refused_by_name(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """Units sold of three billion (past PostgreSQL's integer) refuse that row by name."""
    lines = fixture_bytes("retail/sell_through.csv").splitlines()
    lines[1] = lines[1].replace(b",7,22", b",3000000000,22")

    response = client.post(
        "/v1/connectors/retail/sell-through",
        content=b"\n".join(lines) + b"\n",
        headers=tenant.auth,
    )

    assert response.status_code == 200
    rejection = response.json()["rejections"][0]
    assert (rejection["field"], rejection["reason"]) == (
        "units_sold",
        "units_sold must be at most 1,000,000",
    )


def test_money_past_64_bits_in_an_order_is_refused_by_name(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """A Square order whose money is past a bigint is refused naming the amount; no order is
    stored."""
    order = copy.deepcopy(fixture_json("square/order.json"))
    order["order"]["total_money"]["amount"] = 10**20

    response = client.post("/v1/connectors/square/orders", json=order, headers=tenant.auth)
    stored = session.scalar(
        select(func.count()).select_from(Order).where(Order.workspace_id == tenant.workspace_id)
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["field"] == "total_money.amount"
    assert stored == 0


# Body limits ----------------------------------------------------------------------------------


def post_streamed(
    app: FastAPI, path: str, total: int, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[int, dict[str, str], bytes, int]:
    """POST ``total`` bytes to ``path`` in 64 KB chunks straight into the ASGI app, with no
    credentials; returns (status, headers, body, bytes the app pulled)."""
    chunk = b"x" * 65536
    pulled = 0
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled >= total:
            return {"type": "http.disconnect"}
        size = min(len(chunk), total - pulled)
        pulled += size
        return {"type": "http.request", "body": chunk[:size], "more_body": pulled < total}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("203.0.113.5", 40000), "server": ("testserver", 80),
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                    *(headers or [])],
    }  # fmt: skip
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 60))
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    answer_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], answer_headers, body, pulled


@pytest.mark.parametrize(
    ("path", "limit", "status"),
    [
        ("/v1/products", 2 * MB, 413),
        ("/login", 2 * MB, 413),
        ("/v1/batch", 500 * 1024, 400),  # Segment's answer to an oversize batch: 400
        ("/v1/connectors/shopify/src_x/webhooks", 5 * MB, 413),
    ],
)
def test_an_unauthenticated_300_mb_post_is_refused_reading_no_further_than_the_limit(
    app: FastAPI, path: str, limit: int, status: int
) -> None:
    """The body is counted as it streams and refused at its route family's limit, before
    authentication: a payload-too-large problem, not a 401 after reading 300 MB."""
    answer, headers, body, pulled = post_streamed(app, path, 300 * MB)

    assert (answer, headers["content-type"]) == (status, PROBLEM)
    assert b"/payload-too-large" in body
    assert pulled <= limit + 65536


def test_an_upload_stops_at_its_limit_and_an_unauthenticated_one_is_not_read(
    app: FastAPI, tenant: Tenant
) -> None:
    """Uploads check the key first and read nothing without one; with one, 20 MB at most."""
    path = "/v1/connectors/amazon/orders"
    key = [(b"authorization", tenant.auth["Authorization"].encode())]

    anonymous = post_streamed(app, path, 300 * MB)
    keyed = post_streamed(app, path, 300 * MB, key)

    assert (anonymous[0], anonymous[3]) == (401, 0)
    assert (keyed[0], keyed[1]["content-type"]) == (413, PROBLEM)
    assert keyed[3] <= 20 * MB + 65536


def test_a_declared_length_over_the_limit_is_413_before_a_byte_is_read(app: FastAPI) -> None:
    """A Content-Length past the limit is answered at once, the body left unread."""
    status, headers, body, pulled = post_streamed(
        app, "/v1/products", 300 * MB, [(b"content-length", str(300 * MB).encode())]
    )

    assert (status, headers["content-type"], pulled) == (413, PROBLEM, 0)
    assert b'"limit":"2 MB"' in body


def test_a_body_within_the_limit_still_reaches_the_route(
    client: TestClient, tenant: Tenant
) -> None:
    """The limit takes nothing from a normal request: a product is created as before."""
    response = client.post(
        "/v1/products",
        json={"handle": "serum", "title": "Serum", "variants": [{"sku": "SERUM-30"}]},
        headers=tenant.auth,
    )

    assert response.status_code == 201


def test_a_long_channel_name_makes_a_key_its_column_holds(
    client: TestClient, tenant: Tenant
) -> None:
    """A 150-character store name (the name may be 200) derives a key cut to the column's 80
    characters, not a "value too long" 500 on PostgreSQL."""
    response = client.post(
        "/v1/channels", json={"kind": "store", "name": "Soho " * 30}, headers=tenant.auth
    )

    assert response.status_code == 201
    assert response.json()["key"] == ("store:" + "-".join(["soho"] * 30))[:80].rstrip("-")
