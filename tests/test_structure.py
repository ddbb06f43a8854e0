"""The layout's rules, checked on the source rather than remembered (STYLE.md).

The import rules (layers, no domain importing an edge) are import-linter contracts in
pyproject.toml, run by ``make lint``. What import-linter cannot see is checked here: SQL is built
only in repositories, and every module is small enough to hold in one's head.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "tessera"
PYPROJECT = ROOT / "pyproject.toml"

# Names that build SQL statements or expressions. Types (Session, Mapped, Engine) and errors
# are not SQL and may be used anywhere.
SQL_BUILDERS = frozenset(
    {
        "select", "insert", "update", "delete", "text", "func", "and_", "or_", "not_",
        "exists", "case", "literal", "literal_column", "null", "true", "false", "union",
        "union_all", "bindparam", "tuple_", "cast", "column", "table", "lateral", "aliased",
        "distinct", "desc", "asc", "nulls_first", "nulls_last", "over", "values",
    }
)  # fmt: skip
# Where SQL may be built: the persistence layer and the schema's own definitions.
EXEMPT_PACKAGES = ("db", "models", "migrations")
MAX_LINES = 600


def is_repository(path: Path) -> bool:
    """A repository module: ``repository.py``, or any module inside a ``repository/`` package."""
    relative = path.relative_to(SRC)
    return path.stem == "repository" or "repository" in relative.parts[:-1]


def sql_built_in(source: str) -> list[str]:
    """Each place ``source`` builds SQL, as ``line: name``: a builder imported from SQLAlchemy
    (or a dialect), or used as an attribute of an imported SQLAlchemy module (``sa.select``)."""
    tree = ast.parse(source)
    modules: set[str] = set()
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            for alias in node.names:
                if alias.name in SQL_BUILDERS:
                    found.append(f"{node.lineno}: {alias.name}")
                elif node.module in ("sqlalchemy.dialects", "sqlalchemy.orm") or (
                    alias.name in ("postgresql", "sqlite")
                ):
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sqlalchemy"):
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr in SQL_BUILDERS
        ):
            found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
    return sorted(set(found), key=lambda entry: int(entry.split(":")[0]))


def modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_sql_is_built_only_in_repositories() -> None:
    """No service, endpoint, command or page builds a query: each asks its repository."""
    outside = {
        str(path.relative_to(SRC)): places
        for path in modules()
        if path.relative_to(SRC).parts[0] not in EXEMPT_PACKAGES and not is_repository(path)
        for places in [sql_built_in(path.read_text())]
        if places
    }

    assert outside == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from sqlalchemy import select\n", ["1: select"]),
        ("import sqlalchemy as sa\nq = sa.select(1)\n", ["2: sa.select"]),
        ("from sqlalchemy.dialects import postgresql\npostgresql.insert(t)\n",
         ["2: postgresql.insert"]),
        ("from sqlalchemy.dialects.postgresql import insert\n", ["1: insert"]),
        ("from sqlalchemy.orm import Session, aliased\n", ["1: aliased"]),
        ("from sqlalchemy.orm import Session\nimport sqlalchemy as sa\nx: sa.Engine\n", []),
    ],
)  # fmt: skip
def test_the_sql_check_finds_a_query_built_outside_a_repository(
    source: str, expected: list[str]
) -> None:
    """The check above is not vacuous: it sees each way a module can build SQL."""
    assert sql_built_in(source) == expected


def test_no_module_is_longer_than_a_person_can_hold() -> None:
    """Every module in src/ (migrations aside) is at most 600 lines: past that it is split
    along its sections."""
    long = {
        str(path.relative_to(SRC)): lines
        for path in modules()
        if path.relative_to(SRC).parts[0] != "migrations"
        for lines in [len(path.read_text().splitlines())]
        if lines > MAX_LINES
    }

    assert long == {}


def lint_imports(source_root: Path) -> subprocess.CompletedProcess[str]:
    """Run ``make lint``'s import contracts on the package under ``source_root``."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--config", str(PYPROJECT)],
        env={**os.environ, "PYTHONPATH": str(source_root), "COLUMNS": "300"},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_the_import_contracts_hold_and_fail_on_an_edge_import(tmp_path: Path) -> None:
    """The layers hold today; a low package importing the dashboard, or a service importing
    FastAPI, breaks `make lint`."""
    shutil.copytree(SRC, tmp_path / "tessera", ignore=shutil.ignore_patterns("__pycache__"))
    kept = lint_imports(tmp_path)
    with (tmp_path / "tessera" / "kit" / "money.py").open("a") as module:
        module.write("\nimport tessera.dashboard.web  # noqa\n")
    with (tmp_path / "tessera" / "catalog" / "service.py").open("a") as module:
        module.write("\nimport fastapi  # noqa\n")

    broken = lint_imports(tmp_path)

    assert kept.returncode == 0, kept.stdout
    assert broken.returncode != 0
    assert "tessera.kit is not allowed to import tessera.dashboard" in broken.stdout
    assert "tessera.catalog.service -> fastapi" in broken.stdout
