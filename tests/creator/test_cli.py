"""`tessera creators`: a file imported with its bad row named by line and column, creators
listed, searched and their lookalikes found; a bad account refused naming its field."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.models.creator import Creator
from tests.creator.world import CSV
from tests.support.cli import invoke
from tests.support.factories import make_workspace


def test_a_file_is_imported_listed_searched_and_lookalikes_found(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    """Seven creators in, the eighth row refused at line 9; "pastry" finds Lea first; Tyler's
    flags are printed; Ana's lookalikes are bakers."""
    make_workspace(session, "acme")
    session.commit()
    file = tmp_path / "creators.csv"
    file.write_text(CSV + "Bad Row,bad@example.com,famous,,,,,bad.row,10,,,,,,\n")

    imported = invoke(settings, session_factory, "creators", "import", str(file), "-w", "acme")
    listed = invoke(settings, session_factory, "creators", "list", "-w", "acme")
    pastry = invoke(settings, session_factory, "creators", "search", "pastry", "--limit", "1",
                    "-w", "acme")  # fmt: skip
    poker = invoke(settings, session_factory, "creators", "search", "poker", "--limit", "1",
                   "-w", "acme")  # fmt: skip
    ana = session.scalar(select(Creator.id).where(Creator.name == "Ana Okafor"))
    assert ana is not None
    alike = invoke(settings, session_factory, "creators", "lookalikes", ana, "--limit", "2",
                   "-w", "acme")  # fmt: skip

    assert imported[0] == 0, imported[1]
    assert "creators.csv line 9: status: Input should be 'prospect'" in imported[1]
    assert "7 imported (0 linked to customers), 1 refused, 0 duplicate(s)" in imported[1]
    assert listed[1].count("crt_") == 7
    assert "Lea Martin" in pastry[1] and "1 match(es)" in pastry[1]
    assert "casino (gambling)" in poker[1]
    assert "Sofia Rossi" in alike[1] and "Lea Martin" in alike[1]


def test_a_bad_account_is_refused_naming_its_field(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """A follower count past ten billion is refused naming accounts.0.followers."""
    make_workspace(session, "acme")
    session.commit()

    refused = invoke(settings, session_factory, "creators", "add", "Ana",
                     "-a", "tiktok:ana:99999999999", "-w", "acme")  # fmt: skip
    added = invoke(settings, session_factory, "creators", "add", "Ana",
                   "-a", "tiktok:@ana:4800", "-w", "acme")  # fmt: skip
    again = invoke(settings, session_factory, "creators", "add", "Ana Two",
                   "-a", "tiktok:ANA", "-w", "acme")  # fmt: skip

    assert refused[0] == 1
    assert "accounts.0.followers: Input should be less than or equal to 10000000000" in refused[1]
    assert added[0] == 0 and "added crt_" in added[1]
    assert again[0] == 1 and "accounts.0.handle is creator crt_" in again[1]
