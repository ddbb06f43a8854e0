"""`tessera assets`: a misnamed file refused with its reason, an upload shown, reviewed,
rendered and checked."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tests.content.files import image_bytes, picture
from tests.support.cli import invoke
from tests.support.factories import make_workspace


def test_upload_review_renditions_and_check_from_the_cli(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    """A PNG called .jpg is refused naming why; the real JPEG goes through every command."""
    make_workspace(session, "acme")
    session.commit()
    wrong = tmp_path / "wrong.jpg"
    wrong.write_bytes(image_bytes(picture(100, 100), "PNG"))
    good = tmp_path / "good.jpg"
    good.write_bytes(image_bytes(picture(1200, 1200), "JPEG"))

    refused = invoke(settings, session_factory, "assets", "upload", str(wrong), "-w", "acme")
    code, out = invoke(settings, session_factory, "assets", "upload", str(good), "-w", "acme")
    asset = out.split()[0]
    listed = invoke(settings, session_factory, "assets", "list", "-w", "acme")
    reviewed = invoke(settings, session_factory, "assets", "review", asset, "approve", "-w", "acme")
    made = invoke(settings, session_factory, "assets", "renditions", asset, "--preset", "1x1",
                  "-w", "acme")  # fmt: skip
    checked = invoke(settings, session_factory, "assets", "check", asset, "-w", "acme")
    shown = invoke(settings, session_factory, "assets", "show", asset, "-w", "acme")

    assert refused[0] == 1
    assert "the file is named .jpg but holds PNG" in refused[1]
    assert code == 0 and out.startswith("ast_") and "image/jpeg 1200x1200" in out
    assert asset in listed[1]
    assert reviewed == (0, f"{asset}: approved\n")
    assert made[0] == 0 and "1x1 1080x1080" in made[1] and ": pass" in made[1]
    assert checked[0] == 0 and "amazon_main" in checked[1] and "FAIL" in checked[1]
    assert "rendition 1x1 1080x1080" in shown[1]
