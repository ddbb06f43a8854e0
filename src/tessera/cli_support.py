"""What every CLI command shares: settings, one session scope per command, clear one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console
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
