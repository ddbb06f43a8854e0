"""A real Tessera server on a free local port, for tests that use real clients and browsers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Generic, TypeVar

import httpx
import uvicorn

from tessera.app import create_app
from tessera.config import load_settings

S = TypeVar("S")


class StatefulServer(ThreadingHTTPServer, Generic[S]):
    """A threaded HTTP server whose handlers reach the test's ``state`` as ``self.server.state``."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], state: S) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.state = state


@contextmanager
def serve_locally(handler: type[BaseHTTPRequestHandler], state: S) -> Iterator[str]:
    """Serve ``handler`` on a free local port in a thread until the block ends (a third
    party's API standing in at the network edge); yields the base URL."""
    server = StatefulServer(handler, state)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


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
