"""Security headers on every response, and X-Forwarded-For believed from trusted proxies only."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tessera.app import create_app
from tessera.config import Settings
from tessera.models.workspace import LoginAttempt
from tests.dashboard.conftest import csrf_from
from tests.support.live import free_port

ALWAYS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


@pytest.fixture
def failing_app(app: FastAPI) -> FastAPI:
    """The app with one route that fails unexpectedly, to see what a 500 carries."""

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("boom")

    return app


@pytest.mark.parametrize(
    ("path", "status", "is_document"),
    [
        ("/v1/workspace", 401, False),
        ("/healthz", 200, False),
        ("/openapi.json", 200, False),
        ("/static/app.css", 200, False),
        ("/static/favicon.svg", 200, True),
        ("/docs", 200, True),
        ("/login", 200, True),
        ("/no/such/page", 404, False),
        ("/boom", 500, False),
    ],
)
def test_every_response_carries_the_security_headers(
    failing_app: FastAPI, path: str, status: int, is_document: bool
) -> None:
    """API answers, static files, the docs, a 404 and a 500 all refuse sniffing and framing
    and send no referrer elsewhere; what a browser renders as a document has a CSP."""
    with TestClient(failing_app, raise_server_exceptions=False) as client:
        response = client.get(path)

    assert response.status_code == status
    assert {name: response.headers.get(name) for name in ALWAYS} == ALWAYS
    policy = response.headers.get("content-security-policy", "")
    assert ("frame-ancestors 'none'" in policy) is is_document
    assert "strict-transport-security" not in response.headers


def test_the_docs_page_allows_exactly_its_own_inline_script(client: TestClient) -> None:
    """Swagger UI starts from one inline script; the policy names it by hash, nothing else."""
    response = client.get("/docs")

    script = re.search(rb"<script>(.*?)</script>", response.content, re.DOTALL)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1)).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}';" in response.headers["content-security-policy"]


def test_production_answers_carry_strict_transport_security(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    """In production every answer tells browsers to use HTTPS only, for two years."""
    production = settings.model_copy(update={"environment": "production"})
    app = create_app(production, session_factory=session_factory)

    with TestClient(app, raise_server_exceptions=False) as client:
        answers = [client.get(path) for path in ("/healthz", "/v1/workspace", "/login")]

    assert [a.headers.get("strict-transport-security") for a in answers] == [
        "max-age=63072000; includeSubDomains"
    ] * 3


# X-Forwarded-For ------------------------------------------------------------------------------


def fail_logins(client: httpx.Client | TestClient, forwarded: list[str]) -> list[int]:
    """One wrong sign-in per forwarded address, each with a new unknown email."""
    statuses = []
    for index, address in enumerate(forwarded):
        form = client.get("/login")
        answer = client.post(
            "/login",
            data={
                "email": f"nobody{index}@x.example",
                "password": "x",
                "csrf_token": csrf_from(form),
            },
            headers={"X-Forwarded-For": address},
            follow_redirects=False,
        )
        statuses.append(answer.status_code)
    return statuses


def counted_addresses(session: Session) -> dict[str, int]:
    session.expire_all()
    rows = session.scalars(select(LoginAttempt).where(LoginAttempt.key.like("address:%")))
    return {row.key: row.attempt_count for row in rows}


def test_a_client_naming_a_new_address_each_time_still_meets_its_limit(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """With no trusted proxy, X-Forwarded-For is ignored: the attempts count against the
    connection's address, and the fourth of a limit of three is refused."""
    limited = settings.model_copy(update={"login_address_limit": 3})
    app = create_app(limited, session_factory=session_factory)

    with TestClient(app, client=("127.0.0.1", 5000)) as client:
        statuses = fail_logins(client, ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"])

    assert statuses == [401, 401, 401, 429]
    assert counted_addresses(session) == {"address:127.0.0.1": 3}


def test_a_trusted_proxy_names_the_client_and_an_untrusted_one_does_not(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """From a configured proxy's network the forwarded address is the client's; from any
    other connection the header is ignored."""
    behind = settings.model_copy(update={"trusted_proxies": ("10.0.0.0/8",)})
    app = create_app(behind, session_factory=session_factory)

    with TestClient(app, client=("10.1.2.3", 5000)) as proxy:
        fail_logins(proxy, ["203.0.113.7"])
    with TestClient(app, client=("198.51.100.9", 5000)) as direct:
        fail_logins(direct, ["203.0.113.8"])

    assert counted_addresses(session) == {"address:203.0.113.7": 1, "address:198.51.100.9": 1}


@pytest.fixture
def served(committed_database_url: str) -> Iterator[str]:
    """``tessera serve`` in its own process on a free port, address limit 3."""
    port = free_port()
    env = {
        **os.environ,
        "TESSERA_DATABASE_URL": committed_database_url,
        "TESSERA_ENVIRONMENT": "test",
        "TESSERA_LOGIN_ADDRESS_LIMIT": "3",
        "TESSERA_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "tessera", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_tessera_serve_does_not_let_a_local_client_reset_its_limit(served: str) -> None:
    """``tessera serve`` believes no X-Forwarded-For by default, not even from 127.0.0.1
    (uvicorn's own default): a client sending a new address each time is still refused."""
    with httpx.Client(base_url=served, timeout=30) as client:
        statuses = fail_logins(client, ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"])

    assert statuses == [401, 401, 401, 429]
