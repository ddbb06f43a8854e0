"""What every CLI command shares: settings, one session scope per command, clear one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

import typer
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Column, Table
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import ConfigError, Settings, get_settings
from tessera.db.engine import make_engine, make_session_factory, session_scope
from tessera.db.errors import DATABASE_ERRORS, transient_reason
from tessera.kit.errors import Problem


def console() -> Console:
    """Standard output, as wide as the terminal (or ``COLUMNS``) when the command runs.

    Made per command, not at import: a console made at import keeps the width of whatever
    terminal imported the module, so a table's columns would change with it.
    """
    return Console()


def error_console() -> Console:
    """Standard error, made per command like ``console``."""
    return Console(stderr=True)


# Columns holding ids are never cut: an id is copied into the next command whole.
UNCUT_COLUMNS = frozenset({"id", "review", "conflict", "profile", "candidate", "survivor",
                           "absorbed"})  # fmt: skip
NARROWEST_COLUMN = 5


def print_table(table: Table, out: Console | None = None) -> None:
    """Print a list's table at the terminal's width: framed as it is while it fits; when it
    is too wide, without its frame, one line per row, the widest cells cut with an ellipsis
    (ids never), rather than every column folded into a tall, narrow stack of fragments.
    Columns that cannot fit even cut are left out, rightmost first, and a line under the
    table names them."""
    out = out or console()
    hidden = fit(table, out)
    out.print(table)
    if hidden:
        out.print(f"[dim]Left out at {out.width} columns: {', '.join(hidden)}.[/dim]")


def fit(table: Table, out: Console) -> list[str]:
    """Give each column of ``table`` a width so the table fits ``out.width``: columns keep
    their natural width while they fit; otherwise the widest cuttable one gives a character at
    a time, down to its floor (its values' width, between ``NARROWEST_COLUMN`` and eight).
    Returns the headers of the columns dropped because even their floors did not fit."""
    content = {
        id(column): max(
            [0] + [Measurement.get(out, out.options, cell).maximum for cell in column.cells]
        )
        for column in table.columns
    }
    natural = {
        id(column): max(len(str(column.header)), content[id(column)]) for column in table.columns
    }

    # A table that fits keeps its frame: 2 edges, a rule between columns, a space each side.
    framed = sum(natural.values()) + 3 * len(table.columns) + 1
    if framed <= out.width:
        return []
    table.box, table.show_edge, table.pad_edge = box.SIMPLE_HEAD, False, False

    def cuttable(column: Column) -> bool:
        return str(column.header) not in UNCUT_COLUMNS

    def floor(column: Column) -> int:
        if not cuttable(column):
            return natural[id(column)]
        # A header may be cut to its column's values (on hand: "on h…" over "10").
        return min(natural[id(column)], max(NARROWEST_COLUMN, min(content[id(column)], 8)))

    def room(columns: list[Column]) -> int:
        # Between two columns: a space of padding each side and the (blank) rule between.
        return out.width - 3 * (len(columns) - 1)

    hidden: list[str] = []
    while sum(map(floor, table.columns)) > room(table.columns):
        droppable = [c for c in table.columns if cuttable(c)]
        if len(droppable) <= 1:
            break
        table.columns.remove(droppable[-1])
        hidden.append(str(droppable[-1].header))
    widths = {id(c): natural[id(c)] for c in table.columns}
    while sum(widths.values()) > room(table.columns):
        candidates = [c for c in table.columns if cuttable(c) and widths[id(c)] > floor(c)]
        if not candidates:
            break
        widths[id(max(candidates, key=lambda c: widths[id(c)]))] -= 1
    for column in table.columns:
        column.width, column.no_wrap, column.overflow = widths[id(column)], True, "ellipsis"
    return hidden


F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliContext:
    """Built lazily so ``tessera --help`` needs no database; tests pass their own factory."""

    settings: Settings | None = None
    session_factory: sessionmaker[Session] | None = field(default=None)

    def get_settings(self) -> Settings:
        if self.settings is None:
            self.settings = get_settings()
        return self.settings

    def factory(self) -> sessionmaker[Session]:
        if self.session_factory is None:
            self.session_factory = make_session_factory(
                make_engine(self.get_settings().database_url)
            )
        return self.session_factory

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.factory()) as session:
            yield session


def context(ctx: typer.Context) -> CliContext:
    root = ctx.find_root()
    if not isinstance(root.obj, CliContext):
        root.obj = CliContext()
    return root.obj


def fail(message: str, code: int = 1) -> typer.Exit:
    error_console().print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def friendly_errors(func: F) -> F:
    """Turn expected errors into one red line and exit code 1 (2 for configuration)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Problem as exc:
            field_name = exc.extensions.get("field")
            suffix = f" (field: {field_name})" if field_name else ""
            raise fail(f"{exc.detail}{suffix}") from None
        except ConfigError as exc:
            raise fail(str(exc), code=2) from None
        except DATABASE_ERRORS as exc:
            reason = transient_reason(exc)
            if reason is None:
                raise
            raise fail(
                f"the database stopped this command because of {reason} with other work; "
                "nothing of its last transaction was kept: run it again"
            ) from None

    return wrapper  # type: ignore[return-value]


def is_interactive() -> bool:
    return sys.stdout.isatty()
