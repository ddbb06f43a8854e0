"""``tessera prices set|report``: set prices in major units and read the parity report."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from tessera.catalog.schemas import ProductIn, VariantIn
from tessera.catalog.service import CatalogService
from tessera.config import Settings
from tests.support.cli import invoke as run_cli
from tests.support.factories import make_workspace


def invoke(settings: Settings, factory: sessionmaker[Session], *args: str) -> tuple[int, str]:
    """``tessera prices ARGS``."""
    return run_cli(settings, factory, "prices", *args)


def test_set_then_report(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Prices set from the terminal show in the report; Amazon above the site is a breach."""
    workspace_id = make_workspace(session, "clipr")
    CatalogService(session).create_product(
        workspace_id, ProductIn(handle="tee", title="Tee", variants=[VariantIn(sku="TEE")])
    )
    session.commit()

    web = invoke(settings, session_factory, "set", "TEE", "web", "20.00", "-w", "clipr")
    amazon = invoke(settings, session_factory, "set", "TEE", "amazon", "20.50", "-w", "clipr")
    report = invoke(settings, session_factory, "report", "-w", "clipr", "--breaches")
    unknown = invoke(settings, session_factory, "set", "NOPE", "web", "1", "-w", "clipr")

    assert (web[0], amazon[0], report[0]) == (0, 0, 0)
    assert web[1].strip() == "TEE on web: 20.00 USD"
    assert "parity alert amazon above_site: 20.50 USD vs 20.00 USD" in amazon[1]
    assert "+2.50%" in report[1] and "1 breach(es)" in report[1]
    assert unknown[0] != 0 and "NOPE" in unknown[1]
