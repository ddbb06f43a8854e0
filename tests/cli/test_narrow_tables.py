"""The list commands read at 80 columns: one line per row, long cells cut with an ellipsis,
ids whole, and the columns that cannot fit named under the table."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tessera.cli import app
from tessera.cli_support import CliContext
from tessera.config import Settings
from tessera.workspace.service import WorkspaceService
from tests.dashboard.stock_world import build_stock_world
from tests.support.factories import make_tenant

IDS = re.compile(r"\b(?:key|ord|cus)_[0-9A-Z]{26}\b")


def at_80_columns(settings: Settings, factory: sessionmaker[Session], *args: str) -> str:
    result = CliRunner().invoke(
        app,
        list(args),
        obj=CliContext(settings=settings, session_factory=factory),
        env={"COLUMNS": "80"},
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_list_commands_fit_80_columns_with_ids_whole(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """Keys, orders, a SKU's stock and a customer search: no line past 80 characters, every
    row on one line with its id whole, and what was left out said in words."""
    tenant = make_tenant(session, "narrowco")
    world = build_stock_world(session, tenant.workspace_id)
    service = WorkspaceService(session)
    for name in ("Website (analytics.js) for the spring campaign", "Data warehouse sync"):
        service.create_api_key(tenant.workspace_id, "public", name, None, actor="test")
    session.commit()
    key_ids = [k.id for k in service.list_api_keys(tenant.workspace_id, limit=50).items]

    keys = at_80_columns(settings, session_factory, "key", "list", "-w", "narrowco")
    orders = at_80_columns(settings, session_factory, "orders", "list", "-w", "narrowco")
    stock = at_80_columns(settings, session_factory, "inventory", "show", "TEE-M", "-w", "narrowco")

    for output in (keys, orders, stock):
        assert [line for line in output.splitlines() if len(line) > 80] == []
    assert sorted(IDS.findall(keys)) == sorted(key_ids)
    assert len(keys.splitlines()) == 2 + len(key_ids) + 1  # header, rule, rows, note
    assert "Website…" in keys and "Website (analytics.js)" not in keys
    assert keys.splitlines()[-1] == "Left out at 80 columns: revoked."
    assert world.oversold_order in orders
    assert orders.splitlines()[-1] == "Left out at 80 columns: customer."
    # Every figure of the SKU's stock is kept, the headers cut to the figures' width.
    assert [line.split() for line in stock.splitlines()[2:]] == [
        ["main", "10", "1", "0", "0", "0", "0", "9", "9"],
        ["soho", "5", "0", "2", "0", "0", "0", "3", "3"],
    ]
