"""The process's memory: bounded parts, emptied by reset, released by close."""

from __future__ import annotations

import pytest

from tessera.kit.process import ProcessMemory


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_cache_forgets_an_entry_once_its_time_to_live_passed() -> None:
    """An entry is served until its time-to-live is over, then read again from the source."""
    clock = Clock()
    cache = ProcessMemory().ttl_cache("senders", maxsize=10, ttl=5, timer=clock)
    cache["twk_1"] = "sender"

    clock.now = 4.9
    fresh = cache.get("twk_1")
    clock.now = 5.0
    stale = cache.get("twk_1")

    assert (fresh, stale) == ("sender", None)


def test_a_cache_keeps_at_most_its_bound_dropping_the_least_recently_used() -> None:
    """A flood of distinct keys (write keys are public) never grows the cache past its bound."""
    cache = ProcessMemory().ttl_cache("senders", maxsize=3, ttl=60)

    for n in range(1000):
        cache[f"twk_{n}"] = n

    assert len(cache) == 3
    assert sorted(cache) == ["twk_997", "twk_998", "twk_999"]


def test_reset_empties_every_part_and_describe_shows_them() -> None:
    """Tests start from an empty memory; describe names each part with its size and bound."""
    memory = ProcessMemory()
    senders = memory.ttl_cache("collect.senders", maxsize=10, ttl=5)
    kept: dict[str, int] = {"ws_1": 1, "ws_2": 2}
    memory.keep("identity.graph", kept, "3000000 keys")
    senders["twk_1"] = "sender"

    before = [(p.name, p.entries, p.bound) for p in memory.describe()]
    memory.reset()
    after = [(p.name, p.entries) for p in memory.describe()]

    assert before == [
        ("collect.senders", 1, "10 entries, 5 s"),
        ("identity.graph", 2, "3000000 keys"),
    ]
    assert after == [("collect.senders", 0), ("identity.graph", 0)]


def test_the_same_name_is_the_same_cache_and_other_bounds_are_refused() -> None:
    """Two modules asking for one cache share it; asking with other bounds is a mistake."""
    memory = ProcessMemory()
    first = memory.ttl_cache("rules", maxsize=10, ttl=5)

    again = memory.ttl_cache("rules", maxsize=10, ttl=5)

    assert again is first
    with pytest.raises(ValueError, match="rules is already kept with other bounds"):
        memory.ttl_cache("rules", maxsize=20, ttl=5)


def test_close_runs_each_closer_once_and_empties_the_parts() -> None:
    """Stopping releases pools (each closer once, however often it was registered)."""
    memory = ProcessMemory()
    closed: list[str] = []
    memory.on_close("inventory.companions", lambda: closed.append("companions"))
    memory.on_close("inventory.companions", lambda: closed.append("companions"))
    cache = memory.ttl_cache("rules", maxsize=10, ttl=5)
    cache["ws_1"] = "rules"

    memory.close()

    assert closed == ["companions"]
    assert len(cache) == 0
