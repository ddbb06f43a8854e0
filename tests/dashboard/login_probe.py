"""The client side of the concurrent sign-in proof: one process serving the real app, several
threads each posting the real login form. Lives in its own module so ``spawn`` can import it."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter

from fastapi.testclient import TestClient

from tessera.app import create_app
from tessera.config import load_settings

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def attempt_logins(
    url: str, emails: list[list[str]], password: str, start_at: float
) -> dict[int, int]:
    """Serve the app from this process on ``url``'s database and, from ``start_at``, post the
    login form once per email, one thread per list of emails; returns how many answers had
    each status."""
    settings = load_settings(
        database_url=url,
        environment="test",
        log_json=False,
        log_level="ERROR",
        secret_key="test-secret-key-with-enough-length",
    )
    app = create_app(settings)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    clients = [TestClient(app, raise_server_exceptions=False) for _ in emails]
    tokens = []
    for client in clients:
        match = _TOKEN.search(client.get("/login").text)
        assert match
        tokens.append(match.group(1))

    def run(client: TestClient, token: str, mine: list[str]) -> None:
        for email in mine:
            answer = client.post(
                "/login",
                data={"email": email, "password": password, "csrf_token": token},
                follow_redirects=False,
            )
            with lock:
                statuses[answer.status_code] += 1

    while time.time() < start_at:
        time.sleep(0.005)
    threads = [
        threading.Thread(target=run, args=(client, token, mine))
        for client, token, mine in zip(clients, tokens, emails, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    app.state.engine.dispose()
    return dict(statuses)
