"""A real Tessera server on a free local port, for tests that use real clients and browsers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from tessera.app import create_app
from tessera.config import load_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_server(database_url: str, **settings: object) -> Iterator[str]:
    """Serve the app with uvicorn in a thread until the block ends; yields the base URL."""
    config = load_settings(
        database_url=database_url,
        environment="test",
        log_json=False,
        secret_key="test-secret-key-with-enough-length",
        **settings,
    )
    port = free_port()
    server = uvicorn.Server(
        # As `tessera serve`: X-Forwarded-For is the app's to believe (TESSERA_TRUSTED_PROXIES).
        uvicorn.Config(
            create_app(config),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            proxy_headers=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
