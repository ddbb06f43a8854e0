"""What one process remembers between requests and jobs, gathered in one object.

Every API or worker process keeps a little state of its own so that hot paths skip work: short
time-to-live caches (a write key's sender, a workspace's channels and rules), the identity
graph's memory of its last stitch, the companion engines of statements run alone. None of it
is the truth (the database is): each part is a cache that may be dropped at any moment, and
the process behaves the same, only slower, when it is empty.

Lifecycle:

- Parts are made when their module is imported (``PROCESS.ttl_cache(...)``,
  ``PROCESS.keep(...)``); making one twice by name returns the same part.
- ``PROCESS.reset()`` empties every part: tests call it between cases, so no test sees
  another's cache; an operator never needs to.
- ``PROCESS.close()`` releases what holds resources (connection pools); the API and the worker
  call it when they stop.
- ``PROCESS.describe()`` lists each part with its size and bound: the worker logs it when it
  stops, for someone wondering where the memory went.

Every cache is bounded: by entries (least recently used dropped first) and, for caches of
database rows, by age, so a change made by another process is seen within the time-to-live.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from time import monotonic
from typing import Any, Protocol, TypeVar

from cachetools import TTLCache

K = TypeVar("K")
V = TypeVar("V")


class Part(Protocol):
    """Something the process keeps: it can be emptied and says how full it is."""

    def clear(self) -> None: ...

    def __len__(self) -> int: ...


@dataclass(frozen=True, slots=True)
class PartInfo:
    name: str
    entries: int
    bound: str


class LockedTTLCache(MutableMapping[K, V]):
    """A ``cachetools.TTLCache`` safe to share between the threads of one process."""

    def __init__(self, maxsize: int, ttl: float, timer: Callable[[], float] = monotonic) -> None:
        self._cache: TTLCache[K, V] = TTLCache(maxsize=maxsize, ttl=ttl, timer=timer)
        self._lock = threading.Lock()
        self.maxsize = maxsize
        self.ttl = ttl

    def __getitem__(self, key: K) -> V:
        with self._lock:
            return self._cache[key]

    def get(self, key: K, default: Any = None) -> Any:
        with self._lock:
            return self._cache.get(key, default)

    def __setitem__(self, key: K, value: V) -> None:
        with self._lock:
            self._cache[key] = value

    def __delitem__(self, key: K) -> None:
        with self._lock:
            del self._cache[key]

    def pop(self, key: K, default: Any = None) -> Any:
        with self._lock:
            return self._cache.pop(key, default)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def __iter__(self) -> Iterator[K]:
        with self._lock:
            return iter(list(self._cache))

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)


class ProcessMemory:
    """The one place a process keeps state between requests and jobs (see the module)."""

    def __init__(self) -> None:
        self._parts: dict[str, tuple[Part, str]] = {}
        self._closers: dict[str, Callable[[], None]] = {}
        self._lock = threading.Lock()

    def ttl_cache(
        self, name: str, *, maxsize: int, ttl: float, timer: Callable[[], float] = monotonic
    ) -> LockedTTLCache[Any, Any]:
        """A cache of at most ``maxsize`` entries, each forgotten ``ttl`` seconds after it was
        stored (by ``timer``, the monotonic clock unless a test holds it). Refuses a second
        cache of the same name with other bounds."""
        with self._lock:
            existing = self._parts.get(name)
            if existing is not None:
                part = existing[0]
                if not isinstance(part, LockedTTLCache) or (part.maxsize, part.ttl) != (
                    maxsize,
                    ttl,
                ):
                    raise ValueError(f"{name} is already kept with other bounds")
                return part
            cache: LockedTTLCache[Any, Any] = LockedTTLCache(maxsize, ttl, timer)
            self._parts[name] = (cache, f"{maxsize} entries, {ttl:g} s")
            return cache

    def keep(self, name: str, part: Part, bound: str) -> None:
        """Keep a part that bounds itself (``bound`` says how, for ``describe``)."""
        with self._lock:
            self._parts[name] = (part, bound)

    def on_close(self, name: str, closer: Callable[[], None]) -> None:
        """Run ``closer`` when the process stops (once per name)."""
        with self._lock:
            self._closers[name] = closer

    def reset(self) -> None:
        """Empty every part: the next request or job reads from the database again."""
        with self._lock:
            parts = [part for part, _bound in self._parts.values()]
        for part in parts:
            part.clear()

    def close(self) -> None:
        """Release what holds resources, then empty every part."""
        with self._lock:
            closers = list(self._closers.values())
        for closer in closers:
            closer()
        self.reset()

    def describe(self) -> list[PartInfo]:
        """Each part, by name: how many entries it holds and its bound."""
        with self._lock:
            items = sorted(self._parts.items())
        return [PartInfo(name, len(part), bound) for name, (part, bound) in items]


PROCESS = ProcessMemory()
