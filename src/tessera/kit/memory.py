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
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_restore = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause automatic garbage collection inside the block; restore the previous state after.

    Counted across threads and nesting: collection resumes when the last open block ends, and
    only if it was enabled when the first one began.
    """
    global _depth, _restore
    with _lock:
        if _depth == 0:
            _restore = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _restore:
                gc.enable()
