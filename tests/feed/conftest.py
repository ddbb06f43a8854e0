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
    return channel_server[1].reset()


@pytest.fixture
def channel_url(channel_server: tuple[str, ChannelState]) -> str:
    return channel_server[0]
