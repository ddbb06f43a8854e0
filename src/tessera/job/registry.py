"""Which function runs which job kind, and which kinds run on a cadence.

A domain registers its handlers in its ``tasks.py``::

    @job_handler("inventory.feed_pushed")
    def push_feed(session: Session, payload: dict[str, Any]) -> None: ...

    @periodic("job.pruned", every=timedelta(hours=1))
    def prune(session: Session, payload: dict[str, Any]) -> None: ...

A handler runs inside the job's own transaction (``session``); it must not commit, and it must
be safe to run twice (see the package docstring).

A handler registered with ``batchable=True`` lets the worker run several claimed jobs of its
kind one after another in one transaction: one claim and one commit for the batch instead of
one per job, which is most of a short job's cost. When one of them fails, the batch is rolled
back and each job runs again alone, so only the failing job retries, but the jobs before it
ran twice. Say so only for short handlers whose outside effects may repeat (or that have
none), that take no locks other transactions wait on (a batch holds its locks until it
commits), and that do not drain the queue themselves (``take_queued``).

``registry`` is the process-wide registry the worker uses; tests build their own ``Registry()``
so their kinds stay out of everyone else's.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from tessera.job.domain import DEFAULT_PRIORITY, MIN_PERIOD, PeriodicSpec, is_valid_kind

Handler = Callable[[Session, dict[str, Any]], None]
H = TypeVar("H", bound=Handler)


class Registry:
    """Handlers by kind, and the periodic specs."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self._batchable: set[str] = set()
        self._periodic: dict[str, PeriodicSpec] = {}

    def job_handler(self, kind: str, *, batchable: bool = False) -> Callable[[H], H]:
        """Register the decorated function as the handler of ``kind``; ``batchable`` lets the
        worker run several jobs of the kind in one transaction (see the module docstring).

        Refuses a malformed kind and a second, different handler for the same kind: two
        modules claiming one kind is a bug that would otherwise depend on import order.
        """
        if not is_valid_kind(kind):
            raise ValueError(f"job kind must be dotted lowercase past tense, got {kind!r}")

        def register(handler: H) -> H:
            existing = self._handlers.get(kind)
            if existing is not None and _name(existing) != _name(handler):
                raise ValueError(f"{kind!r} is already handled by {_name(existing)}")
            self._handlers[kind] = handler
            if batchable:
                self._batchable.add(kind)
            else:
                self._batchable.discard(kind)
            return handler

        return register

    def periodic(
        self, name: str, every: timedelta, priority: int = DEFAULT_PRIORITY
    ) -> Callable[[H], H]:
        """Register the decorated function as the handler of kind ``name``, enqueued every slot.

        The job's payload is ``{"slot": "<ISO time the slot started>"}``.
        """
        if every < MIN_PERIOD:
            raise ValueError(f"a periodic job runs at most once a second, got every={every}")
        register_handler = self.job_handler(name)

        def register(handler: H) -> H:
            register_handler(handler)
            self._periodic[name] = PeriodicSpec(name=name, every=every, priority=priority)
            return handler

        return register

    def handler(self, kind: str) -> Handler | None:
        return self._handlers.get(kind)

    def is_batchable(self, kind: str) -> bool:
        return kind in self._batchable

    def kinds(self) -> list[str]:
        return sorted(self._handlers)

    def periodic_specs(self) -> list[PeriodicSpec]:
        return [self._periodic[name] for name in sorted(self._periodic)]


def _name(handler: Handler) -> str:
    return f"{handler.__module__}.{getattr(handler, '__qualname__', repr(handler))}"


registry = Registry()
job_handler = registry.job_handler
periodic = registry.periodic


def import_handler_modules(names: Iterable[str]) -> None:
    """Import each module so its ``@job_handler`` and ``@periodic`` decorators run."""
    for name in names:
        importlib.import_module(name)
