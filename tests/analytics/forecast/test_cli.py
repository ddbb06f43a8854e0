"""``tessera report forecast|advice`` and ``tessera analytics mmm-export``: tables that fit
80 columns, CSV and JSON, files written, errors naming the option."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tessera.cli import app
from tessera.cli_support import CliContext
from tessera.config import Settings
from tests.analytics.forecast.seed import AS_OF, Stocked
from tests.analytics.forecast.test_advice import brand
from tests.support.cli import invoke
from tests.support.factories import make_workspace

FORECAST = ("report", "forecast", "-w", "measure", "--weeks", "12", "--origins", "4",
            "--as-of", str(AS_OF))  # fmt: skip


def narrow(settings: Settings, factory: sessionmaker[Session], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, list(args), obj=CliContext(settings=settings, session_factory=factory),
        env={"COLUMNS": "80"},
    )  # fmt: skip
    return result.exit_code, result.output


def test_the_forecast_prints_a_table_within_80_columns_csv_and_json(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    shop = Stocked(session, make_workspace(session, "measure"))
    shop.weekly("SERUM", [4] * 12, location="wh")
    shop.weekly("CREAM", [0, 2, 0, 0, 1, 0, 0, 3, 0, 0, 1, 0], location="wh")
    shop.stock("SERUM", "wh", 5)
    shop.stock("CREAM", "wh", 40)
    session.commit()

    code, table = narrow(settings, session_factory, *FORECAST)
    _, csv_text = invoke(settings, session_factory, *FORECAST, "--format", "csv",
                         "--reorder-only")  # fmt: skip
    _, json_text = invoke(settings, session_factory, *FORECAST, "--format", "json")

    assert code == 0, table
    assert max(len(line) for line in table.splitlines()) <= 80
    assert "SERUM" in table and "2 series" in table and "1 to reorder" in table
    lines = csv_text.splitlines()
    assert lines[0].startswith("sku,location,class,method,units,forecast")
    assert len(lines) == 2 and lines[1].startswith("SERUM,wh,smooth,")
    assert json.loads(json_text)["summary"]["to_reorder"] == 1


def test_forecast_errors_name_the_option(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    make_workspace(session, "measure")
    session.commit()
    code, out = invoke(settings, session_factory, *FORECAST, "--method", "magic")
    assert code == 1 and "field: method" in out
    code, out = invoke(settings, session_factory, "report", "forecast", "-w", "measure",
                       "--as-of", "2026-13-01")  # fmt: skip
    assert code == 1 and "--as-of" in out
    code, out = invoke(settings, session_factory, *FORECAST, "--format", "xml")
    assert code == 1 and "--format" in out


def test_advice_prints_its_sentences_and_the_export_writes_csv_and_parquet(
    settings: Settings, session_factory: sessionmaker[Session], session: Session, tmp_path: Path
) -> None:
    brand(session, make_workspace(session, "measure"))
    session.commit()
    days = ("-w", "measure", "--from", "2026-01-01", "--to", "2026-03-31")

    code, advice = narrow(settings, session_factory, "report", "advice", *days)
    _, written = invoke(settings, session_factory, "analytics", "mmm-export",
                        str(tmp_path / "w.parquet"), *days)  # fmt: skip
    invoke(settings, session_factory, "analytics", "mmm-export",
                         str(tmp_path / "l.csv"), *days, "--shape", "long")  # fmt: skip
    code_bad, bad = invoke(settings, session_factory, "analytics", "mmm-export",
                           str(tmp_path / "x.csv"), *days, "--shape", "tall")  # fmt: skip

    assert code == 0 and "tiktok_shop" in advice and "Would change" in advice
    assert max(len(line) for line in advice.splitlines()) <= 80
    assert "w.parquet" in written
    wide = pq.read_table(tmp_path / "w.parquet")
    assert wide.column_names[:4] == ["week", "revenue", "orders", "new_customers"]
    assert (tmp_path / "l.csv").read_text().splitlines()[0] == (
        '"week","channel","spend","impressions","orders","revenue","new_customers"'
    )
    assert code_bad == 1 and "shape" in bad
