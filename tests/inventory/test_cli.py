"""``tessera catalog import`` and ``tessera inventory receive|transfer|count|adjust|show|verify``
from the terminal, against committed data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker
from typer import Typer

from tessera.catalog.cli import catalog_cli
from tessera.config import Settings
from tessera.db import make_engine, make_session_factory
from tessera.inventory.cli import inventory_cli
from tessera.inventory.schemas import LocationIn
from tessera.inventory.service.locations import LocationService
from tessera.models.inventory import LocationKind, StockBalance
from tests.support.cli import invoke as run_cli
from tests.support.factories import make_workspace

CATALOG = Path(__file__).parents[1] / "catalog" / "fixtures" / "products.json"


@pytest.fixture
def committed(committed_database_url: str) -> Iterator[tuple[Engine, sessionmaker[Session]]]:
    engine = make_engine(committed_database_url)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        workspace_id = make_workspace(session, "cli")
        locations = LocationService(session)
        for code in ("wh", "soho"):
            locations.create_location(
                workspace_id, LocationIn(code=code, name=code, kind=LocationKind.WAREHOUSE)
            )
    yield engine, factory
    engine.dispose()


def invoke(
    settings: Settings, factory: sessionmaker[Session], cli: Typer, *args: str
) -> tuple[int, str]:
    """Run one of ``cli``'s commands."""
    return run_cli(settings, factory, *args, cli=cli)


def test_import_move_count_show_and_verify_from_the_terminal(
    settings: Settings, committed: tuple[Engine, sessionmaker[Session]]
) -> None:
    """A Shopify catalog imported, 10 received, 3 moved, Soho counted at 2, shown; verify finds
    a balance edited behind the ledger, --repair fixes it, and a bad SKU is one red line."""
    engine, factory = committed

    imported = invoke(settings, factory, catalog_cli, "import", str(CATALOG), "-w", "cli",
                      "--format", "shopify")  # fmt: skip
    receive = ("receive", "SERUM-30", "wh", "10", "-w", "cli", "--key", "grn-1")
    received = invoke(settings, factory, inventory_cli, *receive)
    again = invoke(settings, factory, inventory_cli, *receive)
    moved = invoke(
        settings, factory, inventory_cli, "transfer", "SERUM-30", "wh", "soho", "3", "-w", "cli"
    )
    counted = invoke(
        settings, factory, inventory_cli, "count", "SERUM-30", "soho", "2", "-w", "cli"
    )
    shown = invoke(settings, factory, inventory_cli, "show", "SERUM-30", "-w", "cli")
    clean = invoke(settings, factory, inventory_cli, "verify", "-w", "cli")
    with engine.begin() as connection:
        connection.execute(update(StockBalance).values(damaged=1))
    drifted = invoke(settings, factory, inventory_cli, "verify", "-w", "cli")
    repaired = invoke(settings, factory, inventory_cli, "verify", "-w", "cli", "--repair")
    after = invoke(settings, factory, inventory_cli, "verify")
    unknown = invoke(settings, factory, inventory_cli, "adjust", "NOPE", "wh", "1", "-w", "cli")

    assert imported[0] == 0 and "variants: 2 created" in imported[1] and "refused: 1" in imported[1]
    assert (received, again[1].strip()) == ((0, "received\n"), "already applied (same key)")
    assert (moved[0], counted[0]) == (0, 0)
    cells = [[c.strip() for c in line.strip("│ ").split("│")] for line in shown[1].splitlines()]
    rows = {row[0]: row[1:] for row in cells if row[0] in ("wh", "soho")}
    assert rows == {
        "wh": ["7", "0", "0", "0", "0", "0", "7", "7"],
        "soho": ["2", "0", "0", "0", "0", "0", "2", "2"],
    }
    assert clean[0] == 0 and "0 drifted" in clean[1]
    assert drifted[0] == 1 and "damaged: balance 1, ledger says 0" in drifted[1]
    assert repaired[0] == 0 and "2 repaired" in repaired[1]
    assert after[0] == 0 and "0 drifted" in after[1]
    assert unknown[0] == 1 and "no variant has SKU 'NOPE'" in unknown[1]
