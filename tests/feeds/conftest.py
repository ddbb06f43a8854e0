"""A fake channel server per test module, emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integrations.fake_channels import ChannelState, fake_channels


@pytest.fixture(scope="module")
def channel_server() -> Iterator[tuple[str, ChannelState]]:
    with fake_channels() as running:
        yield running


@pytest.fixture
def channel(channel_server: tuple[str, ChannelState]) -> ChannelState:
    _base, state = channel_server
    with state.lock:
        state.shopify.clear()
        state.amazon.clear()
        state.tiktok.clear()
        state.arrivals.clear()
        state.scripted.clear()
        state.idempotency.clear()
    return state


@pytest.fixture
def channel_url(channel_server: tuple[str, ChannelState]) -> str:
    return channel_server[0]
