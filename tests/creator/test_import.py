"""Importing creators: a row that does not parse is reported by line and field while the rest
are added; duplicates by handle (any spelling) and email are reported naming the creator they
repeat; a creator whose email or handle a customer holds is linked to that profile."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.creator.service import CreatorService, RowReport
from tessera.models.creator import Creator
from tests.creator.world import CSV, HEADER, ROWS, customer
from tests.support.factories import make_workspace


def count(session: Session, workspace_id: str) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(Creator).where(Creator.workspace_id == workspace_id)
        )
    )


def test_bad_rows_are_reported_by_line_and_field_and_the_rest_imported(session: Session) -> None:
    """Three broken rows (a bad count, a bad country, an Instagram URL in the TikTok column)
    name line and column; the other seven creators are added."""
    ws = make_workspace(session, "acme")
    bad = [
        "Kim Lee,kim@lee.io,active,beauty,Makeup,,US:50%,kim.lee,lots,5%,,,,,",
        "Rob Yu,rob@yu.io,active,tech,Gadgets,,ZZ:50%,rob.yu,1000,5%,,,,,",
        "Eve Ng,eve@ng.io,active,art,Painting,,US:10%,https://instagram.com/eve,1000,5%,,,,,",
    ]
    text = "\n".join([HEADER, *ROWS[:3], *bad, *ROWS[3:]]) + "\n"

    report = CreatorService(session).import_csv(ws, text.splitlines(keepends=True))

    assert report.imported == 7
    assert report.duplicates == []
    assert report.errors == [
        RowReport(5, "tiktok_followers", "'lots' is not a count (48200, 48.2k, 1.2M)"),
        RowReport(6, "audience_countries",
                  "ZZ: Value error, 'ZZ' is not an ISO 3166-1 alpha-2 country code"),
        RowReport(7, "tiktok", "the URL is on instagram, not tiktok"),
    ]  # fmt: skip
    assert count(session, ws) == 7


def test_a_row_with_a_quoted_newline_is_counted_on_the_line_it_starts(session: Session) -> None:
    """A bio spanning two lines keeps the next row's line number right."""
    ws = make_workspace(session, "acme")
    text = 'name,bio,tiktok,tiktok_followers\nAna,"line one\nline two",ana,10\nBo,short,bo,many\n'

    report = CreatorService(session).import_csv(ws, text.splitlines(keepends=True))

    assert report.imported == 1
    assert report.errors == [
        RowReport(4, "tiktok_followers", "'many' is not a count (48200, 48.2k, 1.2M)")
    ]


def test_duplicates_by_handle_in_any_spelling_and_by_email_are_reported(session: Session) -> None:
    """A second file naming @ANA.BAKES, Marco's Instagram URL without the slash, and Priya's
    email in capitals repeats three creators; a handle twice in one file repeats the first."""
    ws = make_workspace(session, "acme")
    service = CreatorService(session)
    service.import_csv(ws, CSV.splitlines(keepends=True))
    ids = {c.name: c.id for c in session.scalars(select(Creator).where(Creator.workspace_id == ws))}
    again = "\n".join([
        "name,email,tiktok,instagram",
        "Ana O.,new@ana.example,@ANA.BAKES,",
        "Marco R.,,,instagram.com/MarcoRuns",
        "P. Nair,PRIYA@GLOWLAB.CO,priya.new,",
        "Nia Cole,nia@cole.example,nia.cole,",
        "Nia Again,,https://www.tiktok.com/@nia.cole?lang=en,",
    ]) + "\n"  # fmt: skip

    report = service.import_csv(ws, again.splitlines(keepends=True))

    assert report.imported == 1
    assert report.errors == []
    nia = session.scalar(select(Creator.id).where(Creator.name == "Nia Cole"))
    assert report.duplicates == [
        RowReport(2, "tiktok", f"already creator {ids['Ana Okafor']}", ids["Ana Okafor"]),
        RowReport(3, "instagram", f"already creator {ids['Marco Ruiz']}", ids["Marco Ruiz"]),
        RowReport(4, "email", f"already creator {ids['Priya Nair']}", ids["Priya Nair"]),
        RowReport(6, "tiktok", f"already creator {nia}", nia),
    ]
    assert count(session, ws) == 8


def test_creators_are_linked_to_the_customers_they_are(session: Session) -> None:
    """Ana's email is a customer's; Marco's TikTok handle is another customer's external id;
    nobody else is linked."""
    ws = make_workspace(session, "acme")
    ana = customer(session, ws, "u-ana", "ana@okafor.studio")
    tiktok = [{"type": "tiktok", "id": "marco.runs", "collection": "users"}]
    marco = customer(session, ws, "u-marco", "marco.personal@example.com", external=tiktok)

    report = CreatorService(session).import_csv(ws, CSV.splitlines(keepends=True))

    rows = session.execute(
        select(Creator.name, Creator.profile_id).where(Creator.profile_id.is_not(None))
    )
    links = {name: profile_id for name, profile_id in rows}
    assert report.linked == 2
    assert links == {"Ana Okafor": ana, "Marco Ruiz": marco}


def test_customers_who_state_a_handle_are_a_discovery_source(session: Session) -> None:
    """Customers whose traits name an Instagram or TikTok handle are listed, with the creator
    they are when linked; a customer without one is not."""
    ws = make_workspace(session, "acme")
    ana = customer(session, ws, "u-ana", "ana@okafor.studio", {"instagram": "@ana.bakes"})
    zoe = customer(session, ws, "u-zoe", "zoe@example.com",
                   {"tiktok": "zoe.sews", "first_name": "Zoe", "last_name": "Park"})  # fmt: skip
    customer(session, ws, "u-bob", "bob@example.com", {"first_name": "Bob"})
    CreatorService(session).import_csv(ws, CSV.splitlines(keepends=True))
    ana_creator = session.scalar(select(Creator.id).where(Creator.name == "Ana Okafor"))

    found = CreatorService(session).customers_who_create(ws)

    assert [(c.profile_id, c.name, c.traits, c.creator_id) for c in found] == sorted(
        [
            (ana, None, {"instagram": "@ana.bakes"}, ana_creator),
            (zoe, "Zoe Park", {"tiktok": "zoe.sews"}, None),
        ]
    )
