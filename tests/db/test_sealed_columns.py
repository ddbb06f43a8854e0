"""The credential and connector-settings columns refuse a plaintext secret before it is stored,
through the ORM and Core statements alike; sealed values and everything else pass."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from tessera.kit.secrets import Keyring
from tessera.models.collect import Source, SourceKind
from tessera.models.feed import ChannelFeed, FeedAdapter
from tests.support.factories import make_workspace

KEYRING = Keyring("column-guard-secret-key-0123456789")


def feed(workspace_id: str, channel: str, credentials: dict[str, object]) -> ChannelFeed:
    return ChannelFeed(
        workspace_id=workspace_id,
        channel=channel,
        name=channel,
        adapter=FeedAdapter.SHOPIFY,
        settings={"location_id": "77"},
        credentials=credentials,
    )


def test_feed_credentials_are_stored_only_sealed(session: Session) -> None:
    """Plaintext credentials are refused at flush and nothing is stored; sealed ones and none
    are stored."""
    workspace_id = make_workspace(session, "guarded")
    session.commit()

    session.add(feed(workspace_id, "web", {"access_token": "shpat_plain"}))
    with pytest.raises(StatementError, match="keeps sealed values only"):
        session.flush()
    session.rollback()
    session.add(feed(workspace_id, "web", KEYRING.seal({"access_token": "shpat_1"})))
    session.add(feed(workspace_id, "pop-up", {}))
    session.flush()

    assert session.scalar(select(func.count()).select_from(ChannelFeed)) == 2


def test_source_secrets_are_stored_only_sealed_even_by_core_statements(session: Session) -> None:
    """A Core insert with a plaintext webhook secret is refused, naming the setting; a sealed
    secret beside a plain shop domain is stored."""
    workspace_id = make_workspace(session, "guarded")
    session.commit()
    row = {"workspace_id": workspace_id, "kind": SourceKind.SHOPIFY, "name": "glow"}

    with pytest.raises(StatementError, match="webhook_secret must be sealed"):
        session.execute(
            insert(Source).values(
                **row, id="src_plain", settings={"shop_domain": "glow", "webhook_secret": "x"}
            )
        )
    session.rollback()
    session.execute(
        insert(Source).values(
            **row,
            id="src_sealed",
            settings={"shop_domain": "glow", "webhook_secret": KEYRING.seal("shpss_1")},
        )
    )

    source = session.get(Source, "src_sealed")
    assert source is not None
    assert KEYRING.open(source.settings["webhook_secret"], "it") == "shpss_1"
    assert session.scalar(select(func.count()).select_from(Source)) == 1
