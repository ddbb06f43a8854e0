"""``tessera feeds status|push``: read each feed's state and push from the terminal."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tests.feed.world import build_world
from tests.integrations.fake_channels import ChannelState
from tests.support.cli import invoke as run_cli


def invoke(settings: Settings, factory: sessionmaker[Session], *args: str) -> tuple[int, str]:
    """``tessera feeds ARGS``."""
    return run_cli(settings, factory, "feeds", *args)


def test_push_now_then_status(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    channel_url: str,
    channel: ChannelState,
) -> None:
    """``push amazon --now`` sets the MFN offer (FBA skipped); ``status`` shows the feeds."""
    build_world(session, channel_url, slug="clico")
    session.commit()

    code_push, out_push = invoke(settings, session_factory, "push", "amazon", "-w", "clico",
                                 "--now")  # fmt: skip
    code_status, out_status = invoke(settings, session_factory, "status", "-w", "clico")
    code_bad, out_bad = invoke(settings, session_factory, "push", "ebay", "-w", "clico")

    assert (code_push, code_status) == (0, 0)
    assert out_push.splitlines() == ["queued 1 listing push(es) on amazon", "1 pushed"]
    assert channel.amazon == {"TEE-M-MFN": 10}
    assert "amazon" in out_status and "tiktok_shop" in out_status and "web" in out_status
    assert code_bad != 0 and "no feed for channel ebay" in out_bad
