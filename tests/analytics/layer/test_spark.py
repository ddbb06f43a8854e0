"""The analytics layer's metrics on PySpark (local[2]) over the Parquet export give the rows
DuckDB gives. ``make setup`` installs pyspark (the ``analytics-spark`` extra) and CI has Java 17;
skipped only on a machine without one of them, saying which."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ibis
import pytest
from sqlalchemy.orm import Session

from tessera.analytics.layer import TABLE_NAMES, Tables, export, from_parquet, from_session
from tests.analytics.layer.seed import at
from tests.analytics.layer.test_metrics import every_metric
from tests.analytics.layer.worlds import random_shop
from tests.support.factories import make_workspace

pyspark = pytest.importorskip("pyspark", reason="needs the analytics-spark extra (pyspark)")
if shutil.which("java") is None:
    pytest.skip(
        "the Spark leg needs Java 17 on PATH (Debian: apt install openjdk-17-jre-headless); "
        "CI has it",
        allow_module_level=True,
    )
# py4j leaves its gateway sockets to the garbage collector; that is Spark's, not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One local Spark session for the module: two cores, no UI, two shuffle partitions,
    UTC, its warehouse and scratch space under the test's temporary folder."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    scratch = tmp_path_factory.mktemp("spark")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("tessera-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        .config("spark.local.dir", str(scratch / "local"))
        .getOrCreate()
    )
    yield session
    session.stop()


def on_spark(spark: Any, directory: Path) -> Tables:
    con = ibis.pyspark.connect(spark)
    read = {name: con.read_parquet(directory / f"{name}.parquet") for name in TABLE_NAMES}
    return Tables(read["orders"], read["order_lines"], read["events"], read["profiles"], con)


def test_every_metric_is_the_same_on_spark_as_on_duckdb(
    session: Session, tmp_path: Path, spark: Any
) -> None:
    """One expression per metric: Spark reading the export agrees with DuckDB row for row."""
    workspace_id = make_workspace(session, "measure")
    random_shop(session, workspace_id)
    export(from_session(session, workspace_id), tmp_path)
    start, end = at("2025-03-01", 0), at("2026-03-01", 0)

    on_duckdb = every_metric(from_parquet(tmp_path), start, end)
    on_pyspark = every_metric(on_spark(spark, tmp_path), start, end)

    for name, rows in on_duckdb.items():
        assert on_pyspark[name] == rows, name
