"""``tessera demo``: migrate, seed the demo brand, then run the API and a worker together.

The API and the worker run as child processes (the same ``tessera serve`` and
``tessera worker`` a production deployment runs). Ctrl-C or SIGTERM stops both cleanly: each
child gets SIGTERM and a grace period, then SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
from rich.console import Console
from rich.panel import Panel
from rich.progress import Progress

from tessera.config import Settings
from tessera.content.storage import ContentFiles
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.db.migrate import upgrade
from tessera.demo.feed import feed_demo
from tessera.demo.generator import DemoSize, generate_brand
from tessera.demo.omnichannel import generate_omnichannel
from tessera.demo.seed import SeedResult, seed_demo
from tessera.kit.time import utcnow

DEMO_DATABASE_URL = "sqlite:///./var/demo.db"
GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class DemoOptions:
    seed: int = 7
    size: str = "medium"
    host: str = "127.0.0.1"
    port: int = 8000
    fresh: bool = False
    serve: bool = True


def demo_database_url(settings: Settings) -> str:
    """The demo's database: TESSERA_DATABASE_URL when set, else its own SQLite file."""
    return settings.database_url if "TESSERA_DATABASE_URL" in os.environ else DEMO_DATABASE_URL


def prepare(
    url: str, options: DemoOptions, console: Console, files: ContentFiles | None = None
) -> SeedResult:
    """Migrate and seed (once); with ``fresh`` a SQLite demo database is started anew."""
    if options.fresh and url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    with console.status("migrating the database…"):
        upgrade(url)
    brand = generate_brand(options.seed, DemoSize.named(options.size))
    engine = make_engine(url)
    try:
        with (
            console.status(f"seeding {brand.name}…"),
            session_scope(make_session_factory(engine)) as session,
        ):
            result = seed_demo(session, brand, files)
    finally:
        engine.dispose()
    verb = "seeded" if result.created else "found"
    console.print(f"[green]✓[/green] {verb} demo brand [bold]{brand.name}[/bold]")
    return result


def run(settings: Settings, options: DemoOptions, console: Console) -> int:
    """Prepare the demo, then run API and worker until interrupted; returns the exit code."""
    url = demo_database_url(settings)
    result = prepare(url, options, console, ContentFiles.from_settings(settings))
    if not options.serve:
        return 0
    env = {
        **os.environ,
        "TESSERA_DATABASE_URL": url,
        "TESSERA_LOG_JSON": "false",
        "TESSERA_LOG_LEVEL": "WARNING",
    }
    base = [sys.executable, "-m", "tessera"]
    children = {
        "api": subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [*base, "serve", "--host", options.host, "--port", str(options.port)],
            env=env,
            start_new_session=True,
        ),
        "worker": subprocess.Popen(  # noqa: S603
            [*base, "worker"], env=env, start_new_session=True
        ),
    }
    stopping = False

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        base_url = f"http://{options.host}:{options.port}"
        if _wait_ready(base_url, children, lambda: stopping):
            if result.tokens:
                _feed(base_url, result.tokens, options, console)
            console.print(
                Panel.fit(
                    f"Dashboard  [bold]{base_url}/[/bold]\n"
                    f"API docs   {base_url}/docs\n"
                    f"Login      [bold]{result.login_email}[/bold] / "
                    f"[bold]{result.password}[/bold]\n"
                    "Stop       Ctrl-C",
                    title="Tessera demo is running",
                )
            )
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    console.print(f"[red]{name} exited with code {child.returncode}[/red]")
                    stopping = True
            time.sleep(0.2)
    finally:
        code = _stop(children, console)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


def _feed(base_url: str, tokens: dict[str, str], options: DemoOptions, console: Console) -> None:
    """Send the brand's shoppers' data through the API the first time the demo runs."""
    data = generate_omnichannel(options.seed, DemoSize.named(options.size).shoppers, utcnow())
    with Progress(console=console, transient=True) as progress:
        report = feed_demo(base_url, tokens, data, progress)
    console.print(
        f"[green]✓[/green] sent {report.received:,} events from {len(data.people):,} shoppers "
        f"in {report.requests:,} requests: {report.accepted:,} accepted, "
        f"{report.duplicates:,} duplicate, {report.rejected:,} quarantined"
    )
    orders = report.orders
    console.print(
        f"[green]✓[/green] sent {orders.received:,} orders and updates through the Shopify, "
        f"TikTok Shop, Square, Amazon and retail connectors: {orders.accepted:,} applied, "
        f"{orders.duplicates:,} duplicate, {orders.rejected:,} quarantined"
    )


def _wait_ready(
    base_url: str, children: dict[str, subprocess.Popen[bytes]], stopping: object
) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if callable(stopping) and stopping():
            return False
        if any(child.poll() is not None for child in children.values()):
            return False
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def _stop(children: dict[str, subprocess.Popen[bytes]], console: Console) -> int:
    """SIGTERM every child, wait for the grace period, SIGKILL what is left."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    code = 0
    for name, child in children.items():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            console.print(f"[yellow]{name} did not stop in time; killing it[/yellow]")
            child.kill()
            child.wait()
            code = 1
        if child.returncode not in (0, -signal.SIGTERM):
            code = 1
    console.print("stopped")
    return code
