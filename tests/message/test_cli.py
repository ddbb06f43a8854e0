"""`tessera templates` and `tessera messages`: a template saved from a file is refused naming
the file and the line, then saved, previewed and listed; the outbox is listed and shown."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.kit.time import ManualClock
from tessera.message.sending import SendingService
from tessera.message.service import MessageService
from tests.message.world import T0, configure, person
from tests.support.cli import invoke
from tests.support.factories import make_workspace


def test_a_template_file_is_refused_naming_its_line_then_saved_and_previewed(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    """The refusal names the file, the line and the field; the fixed file is saved; a second
    save changes it; the preview renders the person; the list shows it."""
    workspace = make_workspace(session, "acme")
    ana = person(session, workspace, "u-ana", phone="+14155550100", first_name="Ana")
    session.commit()
    body = tmp_path / "shipped.txt"
    body.write_text("Hi {{ profile.first_name }},\nyour order {{ order.numbr }} shipped.")

    refused = invoke(settings, session_factory, "templates", "save", "shipped", str(body),
                     "-w", "acme", "--channel", "sms")  # fmt: skip
    body.write_text("Hi {{ profile.first_name }},\nyour order {{ order.number }} shipped.")
    created = invoke(settings, session_factory, "templates", "save", "shipped", str(body),
                     "-w", "acme", "--channel", "sms")  # fmt: skip
    changed = invoke(settings, session_factory, "templates", "save", "shipped", str(body),
                     "-w", "acme")  # fmt: skip
    preview = invoke(settings, session_factory, "templates", "preview", "shipped", "-w", "acme",
                     "--profile", ana.profile_id, "--purpose", "transactional")  # fmt: skip
    listed = invoke(settings, session_factory, "templates", "list", "-w", "acme")

    assert refused == (1, f"error: {body} line 2: order.numbr is undefined (field: body)\n")
    assert created[0] == 0 and created[1].startswith("created template shipped (tpl_")
    assert changed[0] == 0 and changed[1].startswith("changed template shipped (tpl_")
    assert preview == (0, "SMS: 33 characters, gsm7, 1 segment(s)\nHi Ana,\nyour order #1001 "
                          "shipped.\n")  # fmt: skip
    assert listed[0] == 0 and "shipped" in listed[1] and "sms" in listed[1]


def test_the_outbox_is_listed_filtered_and_shown(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    """`messages list` filters by status and reason; `messages show` prints why and what."""
    workspace = make_workspace(session, "acme")
    configure(session, workspace, settings)
    ben = person(session, workspace, "u-ben", email="ben@example.com", first_name="Ben")
    session.commit()
    template_file = tmp_path / "promo.html"
    template_file.write_text("<p>Hi {{ profile.first_name }}</p>")
    saved = invoke(settings, session_factory, "templates", "save", "promo", str(template_file),
                   "-w", "acme", "--channel", "email", "--subject", "Hi")  # fmt: skip
    clock = ManualClock(T0)
    row = MessageService(session, clock).queue(workspace, ben.profile_id, "email", "promo",
                                               idempotency_key="m-1")  # fmt: skip
    SendingService(session, clock, settings).decide(row.id)
    session.commit()

    skipped = invoke(settings, session_factory, "messages", "list", "-w", "acme",
                     "--status", "skipped", "--reason", "no_consent")  # fmt: skip
    sent = invoke(settings, session_factory, "messages", "list", "-w", "acme", "--status", "sent")
    shown = invoke(settings, session_factory, "messages", "show", row.id, "-w", "acme")
    wrong = invoke(settings, session_factory, "messages", "list", "-w", "acme", "--status", "gone")

    assert saved[0] == 0
    assert skipped[0] == 0 and row.id in skipped[1] and "no_consent" in skipped[1]
    assert sent[0] == 0 and row.id not in sent[1]
    assert shown[0] == 0
    assert "      status: skipped" in shown[1]
    assert "      reason: no_consent" in shown[1]
    assert "no granted marketing consent for email" in shown[1]
    assert wrong[0] == 1 and "status must be one of queued, held" in wrong[1]
