"""``tessera catalog import`` and ``tessera inventory receive|transfer|count|adjust|show|verify``
from the terminal, against committed data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker
from typer import Typer

from tessera.catalog.cli import catalog_cli
from tessera.config import Settings
from tessera.db import make_engine, make_session_factory
from tessera.inventory.cli import inventory_cli
from tessera.inventory.schemas import LocationIn, ReservationIn, ReservationLineIn
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.reservations import ReservationService
from tessera.inventory.service.stock import StockService
from tessera.models.inventory import LocationKind, StockBalance
from tessera.order.domain import CanonicalLine
from tessera.order.service import OrderService
from tests.inventory.stock import make_shop
from tests.inventory.test_orders import PLACED
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


@pytest.fixture
def oversold_shop(committed_database_url: str) -> Iterator[sessionmaker[Session]]:
    """``make_shop``'s workspace ("shop"), SERUM 5 at the warehouse, and a web order for 7
    (backordered: the warehouse is 2 short); a checkout holds a CREAM there."""
    engine = make_engine(committed_database_url)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        shop = make_shop(session, "shop")
        stock = StockService(session)
        stock.receive(shop.workspace_id, "SERUM", "wh", 5, "grn-1", "first delivery")
        stock.receive(shop.workspace_id, "CREAM", "wh", 4, "grn-2")
        seven = (CanonicalLine("l1", 7, 100, 700, sku="SERUM"),)
        OrderService(session).apply(shop.workspace_id, replace(PLACED, lines=seven))
        ReservationService(session).reserve(
            shop.workspace_id,
            ReservationIn(lines=[ReservationLineIn(sku="CREAM", quantity=1)], idempotency_key="c"),
        )
    yield factory
    engine.dispose()


def test_oversold_ledger_damage_and_locations_from_the_terminal(
    settings: Settings, oversold_shop: sessionmaker[Session]
) -> None:
    """The SKU and location pages' twins: oversold names the order, the ledger shows each
    change's reason, damage takes units out of sale, and a location shows its hold."""
    factory = oversold_shop

    def run(*args: str) -> tuple[int, str]:
        return invoke(settings, factory, inventory_cli, *args, "-w", "shop")

    oversold = run("oversold")
    of_cream = run("oversold", "--sku", "CREAM")
    damaged = run("damage", "CREAM", "wh", "2", "--note", "crushed box")
    received = run("receive", "SERUM", "soho", "3", "--note", "from the van")
    ledger = run("ledger", "--location", "wh", "--limit", "2")
    whole = run("ledger", "SERUM")
    listed = run("locations")
    warehouse = run("location", "wh")
    unknown = run("location", "nowhere")
    [order_id] = re.findall(r"order (ord_\w+) line l1: 7 open, backorder", oversold[1])

    assert oversold[0] == 0
    assert oversold[1].splitlines()[0] == (
        "SERUM at wh: 2 short (on hand 5, held 0, committed 7, damaged 0)"
    )
    assert oversold[1].splitlines()[1] == f"  order {order_id} line l1: 7 open, backorder"
    assert of_cream == (0, "nothing oversold\n")
    assert (damaged, received[0]) == ((0, "marked damaged\n"), 0)
    ledger_rows = [
        [cell.strip() for cell in line.strip("│ ").split("│")]
        for line in ledger[1].splitlines()
        if "│" in line
    ]
    assert [row[1:] for row in ledger_rows] == [
        ["CREAM", "wh", "damage", "damaged +2", "crushed box"],
        ["CREAM", "wh", "reserve", "reserved +1", "reservation"],
    ]
    assert "more: --cursor " in ledger[1]
    assert "from the van" in whole[1] and "first delivery" in whole[1]
    assert re.search(r"soho\s+│ Soho\s+│ store\s+│ yes\s+│ web #3", listed[1])
    assert "Warehouse (wh, warehouse)" in warehouse[1]
    assert re.search(r"hold rsv_\w+ \(web\): 1 CREAM, expires", warehouse[1])
    assert unknown[0] == 1 and "no location 'nowhere'" in unknown[1]


def test_products_and_one_sku_from_the_terminal(
    settings: Settings, oversold_shop: sessionmaker[Session]
) -> None:
    """The Products and SKU pages' twins: products with their SKUs, a bundle's parts and the
    bundles a SKU goes into."""
    products = invoke(settings, oversold_shop, catalog_cli, "products", "-w", "shop")
    kit = invoke(settings, oversold_shop, catalog_cli, "show", "KIT", "-w", "shop")
    serum = invoke(settings, oversold_shop, catalog_cli, "show", "SERUM", "-w", "shop")
    unknown = invoke(settings, oversold_shop, catalog_cli, "show", "NOPE", "-w", "shop")

    assert products[0] == 0
    assert re.search(r"serum\s+│ Serum\s+│ active\s+│ CREAM, SERUM", products[1])
    assert re.search(r"kit\s+│ Kit\s+│ active\s+│ KIT \(bundle\)", products[1])
    assert kit[1].splitlines()[2:4] == ["  made of 2 x CREAM", "  made of 1 x SERUM"]
    assert serum[1].splitlines()[2] == "  goes into KIT"
    assert unknown[0] == 1 and "no variant has SKU 'NOPE'" in unknown[1]
