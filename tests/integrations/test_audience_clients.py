"""The Meta and TikTok audience clients speak their APIs' shapes to a local server."""

from __future__ import annotations

import pytest

from tessera.integrations.meta_audiences import (
    AudienceRejected,
    AudienceUnavailable,
    MetaAudiences,
    UploadReceipt,
)
from tessera.integrations.tiktok_audiences import TikTokAudiences
from tessera.segment.export import sha256
from tests.integrations.fake_audiences import META_TOKEN, TIKTOK_TOKEN, audience_server

ROW = [sha256("ada@example.com"), sha256("15551234567")]


def test_meta_receives_batches_of_at_most_ten_thousand() -> None:
    """25,001 rows go to Meta as three calls of 10,000, 10,000 and 5,001, all received."""
    rows = [ROW] * 25_001
    with audience_server() as (url, state):
        receipt = MetaAudiences(url, META_TOKEN).add_users("6001", rows)

    assert receipt == UploadReceipt(batches=3, received=25_001, invalid=0)
    assert state.calls == [("meta", 10_000), ("meta", 10_000), ("meta", 5_001)]
    assert state.meta["6001"][0] == ROW


def test_meta_refusing_a_token_is_a_rejection_and_a_5xx_is_worth_retrying() -> None:
    """A 401 is AudienceRejected; a 503 is AudienceUnavailable."""
    with audience_server() as (url, state):
        with pytest.raises(AudienceRejected, match="Invalid OAuth access token"):
            MetaAudiences(url, "wrong").add_users("6001", [ROW])
        state.fail_next = 503
        with pytest.raises(AudienceUnavailable):
            MetaAudiences(url, META_TOKEN).add_users("6001", [ROW])

    assert state.meta == {}


def test_tiktok_maps_hashed_ids_into_the_segment() -> None:
    """Each person's email and phone hashes are mapped into the segment, in one call."""
    with audience_server() as (url, state):
        receipt = TikTokAudiences(url, TIKTOK_TOKEN, "adv-1").add_users("seg-9", [ROW, ROW])

    assert receipt == UploadReceipt(batches=1, received=2, invalid=0)
    assert state.tiktok == {"seg-9": [ROW, ROW]}


def test_tiktok_refusing_the_token_is_a_rejection() -> None:
    """TikTok's non-zero code for a wrong token is AudienceRejected, and nothing was kept."""
    with (
        audience_server() as (url, state),
        pytest.raises(AudienceRejected, match="Access token is incorrect"),
    ):
        TikTokAudiences(url, "wrong", "adv-1").add_users("seg-9", [ROW])

    assert state.tiktok == {}
