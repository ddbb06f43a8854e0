"""Bulk work without the cyclic garbage collector's pauses.

A bulk stitch builds millions of small containers (tuples, dicts, sets) that live until the
batch is written. Each such allocation counts towards CPython's generation-0 threshold, and
every collection then walks the young survivors and, as they age, the older generations:
on a million-record batch that walking was more than half of the planner's time. None of
these objects form reference cycles that need the collector (they are freed by reference
counting when the batch ends), so the collector is paused for the duration and restored
after, as bulk loaders commonly do.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from tessera.kit.process import PROCESS


class CollectorPause:
    """The process's pause of the cyclic garbage collector: counted across threads and
    nesting, so collection resumes when the last open block ends, and only if it was enabled
    when the first one began. One per process (``PAUSE``), kept in ``PROCESS``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._restore = False

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Pause automatic garbage collection inside the block; restore it after."""
        with self._lock:
            if self._depth == 0:
                self._restore = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._restore:
                    gc.enable()

    def clear(self) -> None:
        """Nothing to drop: a pause ends with its last block, never from outside."""

    def __len__(self) -> int:
        """The blocks open now (0 when the collector runs as configured)."""
        return self._depth


PAUSE = CollectorPause()
PROCESS.keep("kit.collector_pause", PAUSE, "open blocks, none between batches")


def collector_paused() -> AbstractContextManager[None]:
    """Pause automatic garbage collection inside the block (see ``CollectorPause``)."""
    return PAUSE.paused()
