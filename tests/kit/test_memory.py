"""The collector pause restores collection when the last block ends, and never enables a
collector that was off before."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from tessera.kit.memory import collector_paused


@pytest.fixture(autouse=True)
def _collector_back_on() -> Iterator[None]:
    yield
    gc.enable()


def test_paused_inside_restored_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_restored_after_an_error() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_nested_blocks_resume_at_the_outermost() -> None:
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_threads_resume_when_the_last_block_ends() -> None:
    inside = threading.Barrier(2)
    first_done = threading.Event()
    seen: list[bool] = []

    def long_block() -> None:
        with collector_paused():
            inside.wait()
            first_done.wait()
            seen.append(gc.isenabled())  # the other thread's block ended: still paused

    worker = threading.Thread(target=long_block)
    worker.start()
    with collector_paused():
        inside.wait()
    first_done.set()
    worker.join()
    assert seen == [False]
    assert gc.isenabled()
