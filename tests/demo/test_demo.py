"""The demo brand is deterministic, seeded through the services, and runs as one command."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from tessera.demo.generator import DemoSize, generate_brand
from tessera.demo.seed import DEMO_LOGIN_EMAIL, DEMO_PASSWORD, seed_demo
from tessera.models.workspace import ApiKeyKind, Role
from tessera.workspace.service import WorkspaceService


def test_the_same_seed_gives_the_same_brand() -> None:
    """Generation is a pure function of seed and size."""
    assert generate_brand(3) == generate_brand(3)
    assert generate_brand(3) != generate_brand(4)
    assert len(generate_brand(3, DemoSize.named("large")).team) == 18


def test_the_team_covers_every_role() -> None:
    """Owner, admin, marketer, analyst and viewer all appear in the demo team."""
    roles = {member.role for member in generate_brand(11).team}

    assert roles == set(Role)


def test_seeding_creates_a_login_team_and_keys_once(session: Session) -> None:
    """Seeding twice leaves one workspace; the printed login works."""
    brand = generate_brand(5, DemoSize.named("small"))

    first = seed_demo(session, brand)
    second = seed_demo(session, brand)

    service = WorkspaceService(session)
    assert (first.created, second.created) == (True, False)
    assert first.workspace_id == second.workspace_id
    user = service.authenticate_password(DEMO_LOGIN_EMAIL, DEMO_PASSWORD)
    assert service.role_of(first.workspace_id, user.id) is Role.OWNER
    assert len(service.members(first.workspace_id)) == len(brand.team) + 1
    keys = service.list_api_keys(first.workspace_id, limit=50).items
    assert sorted((k.kind, k.name) for k in keys) == sorted((s.kind, s.name) for s in brand.keys)
    assert first.write_key is not None
    assert service.authenticate_key(first.write_key).kind is ApiKeyKind.PUBLIC


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_tessera_demo_serves_the_dashboard_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    """`tessera demo` answers /readyz and the login page, and Ctrl-C stops API and worker."""
    port = _free_port()
    env = {**os.environ, "TESSERA_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db"}
    demo = subprocess.Popen(
        [sys.executable, "-m", "tessera", "demo", "--port", str(port), "--size", "small"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        ready = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and demo.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)

        demo.send_signal(signal.SIGINT)
        output, _ = demo.communicate(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()

    assert ready is not None and ready.status_code == 200
    assert login.status_code == 200
    assert demo.returncode == 0
    assert DEMO_LOGIN_EMAIL in output and DEMO_PASSWORD in output
    assert "stopped" in output
