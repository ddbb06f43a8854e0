"""Privacy: consent with evidence, export of everything, erasure that leaves no trace but salted
hashes and that a replay cannot undo."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tessera.collect.domain import Sender
from tessera.collect.quarantine import QuarantineService
from tessera.collect.service import CollectService
from tessera.config import Settings
from tessera.customer import schemas
from tessera.customer.privacy import PrivacyService, anonymised_message, without_mentions
from tessera.customer.profiles import ProfileService
from tessera.identity.errors import ProfileNotFound
from tessera.identity.graph.identifiers import sha256_hex
from tessera.identity.graph.service import IdentityService
from tessera.kit.errors import InvalidInput
from tessera.models import Base
from tessera.models.collect import Event, QuarantineEntry
from tessera.models.identity import (
    Consent,
    ConsentStatus,
    Erasure,
    ErasureMode,
    Identifier,
    IdentityConflict,
    IdentityReview,
    Profile,
    Suppression,
)
from tessera.models.order import Order
from tessera.models.workspace import AuditEntry
from tessera.order.service import OrderService
from tests.identity.people import (
    ANA_EMAIL,
    ANA_PHONE,
    Story,
    ana_and_ben,
    at,
    message,
    order,
    run_stitch_jobs,
    send,
)
from tests.support.cli import invoke
from tests.support.factories import Tenant, make_tenant, make_workspace

# Everything that says who Ana is, in the forms it may be stored in.
ANA_TRACES = (
    "ana.silva@example.com",
    ANA_PHONE.lower(),
    "+14155550134",
    "4155550134",
    "loy-777",
    "u-ana",
    "web-ana",
    "app-ana",
    "silva",
    sha256_hex("ana.silva@example.com"),
    sha256_hex("14155550134"),
)
ANA_MESSAGES = ("ana-1", "ana-2", "ana-3", "ana-4")


@pytest.fixture
def story(session: Session) -> Story:
    return ana_and_ben(session, make_workspace(session, "acme"))


def consent(**overrides: Any) -> schemas.ConsentCreate:
    fields: dict[str, Any] = {
        "identifier_type": "email",
        "identifier_value": " ANA.SILVA@example.com",
        "purpose": "marketing",
        "channel": "email",
        "status": ConsentStatus.GRANTED,
        "source": "https://acme.example/signup",
        "wording": "Yes, email me offers",
        "recorded_at": at(45),
        "evidence": {"form": "signup-v2", "ip": "203.0.113.7"},
    }
    fields.update(overrides)
    return schemas.ConsentCreate(**fields)


# Consent -------------------------------------------------------------------------------------


def test_consent_is_appended_and_the_newest_answer_wins(session: Session, story: Story) -> None:
    """Granted, then withdrawn by SMS's sibling channel... the newest per identifier, purpose
    and channel is current; the history keeps both, with their evidence and wording."""
    service = PrivacyService(session)

    first = service.record_consent(story.workspace_id, story.ana, consent(), actor="usr_1")
    later = service.record_consent(
        story.workspace_id, story.absorbed,
        consent(status=ConsentStatus.WITHDRAWN, recorded_at=at(90), source="store:soho",
                wording="", evidence={}),
        actor="usr_2",
    )  # fmt: skip
    sms = service.record_consent(
        story.workspace_id, story.ana,
        consent(identifier_type="phone", identifier_value="415 555 0134", channel="sms"),
        actor="usr_1",
    )  # fmt: skip
    listed = service.consents(story.workspace_id, story.ana)

    assert [c.id for c in listed.history] == [later.id, sms.id, first.id]
    assert [(c.channel, c.status, c.identifier_value) for c in listed.current] == [
        ("email", ConsentStatus.WITHDRAWN, "ana.silva@example.com"),
        ("sms", ConsentStatus.GRANTED, "+14155550134"),
    ]
    assert first.evidence == {"form": "signup-v2", "ip": "203.0.113.7"}
    assert first.wording == "Yes, email me offers" and first.recorded_at == at(45)
    audit = session.scalars(
        select(AuditEntry.subject).where(AuditEntry.action == "consent.recorded")
    ).all()
    assert audit == [story.ana, story.ana, story.ana]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"purpose": "spam"}, "purpose"),
        ({"channel": "fax"}, "channel"),
        ({"source": "   "}, "source"),
        ({"identifier_value": "ben@example.com"}, "identifier_value"),
        ({"identifier_type": "phone", "identifier_value": "4155550134"}, "identifier_type"),
        ({"recorded_at": at(60 * 24 * 365 * 5)}, "recorded_at"),
    ],
)
def test_a_bad_consent_is_refused_naming_the_field_and_stores_nothing(
    session: Session, story: Story, overrides: dict[str, Any], field: str
) -> None:
    """An unknown purpose or channel, no source, someone else's email, a phone for email
    consent, a time years ahead: 422 with the field, and no row."""
    with pytest.raises(InvalidInput) as refused:
        PrivacyService(session).record_consent(
            story.workspace_id, story.ana, consent(**overrides), actor="usr_1"
        )

    assert refused.value.extensions == {"field": field}
    assert session.scalar(select(func.count()).select_from(Consent)) == 0


# Export --------------------------------------------------------------------------------------


def test_the_export_holds_everything_about_the_person_and_nobody_else(
    session: Session, story: Story
) -> None:
    """Both of Ana's profiles, her identifiers, events, orders with lines, consent and merge;
    nothing of Ben's; and an audit row saying who exported."""
    PrivacyService(session).record_consent(story.workspace_id, story.ana, consent(), actor="u")

    data = PrivacyService(session).export(story.workspace_id, story.absorbed, actor="key_admin")

    text = json.dumps(data)
    assert data["profile_id"] == story.ana and data["requested_id"] == story.absorbed
    assert sorted(p["id"] for p in data["profiles"]) == sorted([story.ana, story.absorbed])
    assert {e["message_id"] for e in data["events"]} >= set(ANA_MESSAGES)
    assert sorted(o["id"] for o in data["orders"]) == sorted(story.order_ids)
    assert all(len(o["lines"]) == 1 for o in data["orders"])
    assert [c["wording"] for c in data["consents"]] == ["Yes, email me offers"]
    assert len(data["merges"]) == 1 and data["links"]
    assert "ben@example.com" not in text and "u-ben" not in text
    assert json.loads(text) == data
    row = session.scalars(select(AuditEntry).where(AuditEntry.action == "profile.exported")).one()
    assert (row.actor, row.subject) == ("key_admin", story.ana)


# Erasure -------------------------------------------------------------------------------------


def traces_left(session: Session, traces: tuple[str, ...] = ANA_TRACES) -> list[str]:
    """Every table and trace where one of the person's values is still stored, in any column."""
    session.expire_all()
    found = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            text = json.dumps(dict(row._mapping), default=str).lower()
            found.extend(f"{table.name}: {t}" for t in traces if t in text)
    return sorted(set(found))


def everything_of_ana(session: Session, story: Story) -> None:
    """Beyond the story: a consent, a quarantined message naming her, a guard-rail conflict
    over her profile and a review pairing her with Ben."""
    PrivacyService(session).record_consent(story.workspace_id, story.ana, consent(), actor="u")
    QuarantineService(session).keep(
        story.workspace_id, "POST /v1/track", "bad timestamp",
        {"userId": "u-ana", "traits": {"email": ANA_EMAIL}},
    )  # fmt: skip
    QuarantineService(session).keep(
        story.workspace_id, "POST /v1/track", "bad timestamp", {"userId": "u-ben"}
    )
    send(session, story.workspace_id, [
        message("identify", "ana-limit", 70, anonymous_id="web-ana", user_id="u-someone"),
    ])  # fmt: skip
    session.add(
        IdentityReview(
            workspace_id=story.workspace_id, profile_id=story.ana, candidate_profile_id=story.ben,
            score=3.5, probability=0.9, evidence={"email": ["ana.silva@example.com",
                                                             "ben@example.com"]},
        )
    )  # fmt: skip
    session.flush()


def test_erasing_removes_the_person_from_every_table(session: Session, story: Story) -> None:
    """After erasure none of Ana's values is in any column of any table, her profiles answer
    404, and Ben, his events and his quarantine entry are untouched."""
    everything_of_ana(session, story)
    assert session.scalar(select(func.count()).select_from(IdentityConflict)) == 1
    ben_before = ProfileService(session).view(story.workspace_id, story.ben, actor="t")
    identifiers = len(IdentityService(session).identifiers_of(story.workspace_id, story.ana))
    assert len(traces_left(session)) > 10

    erasure = PrivacyService(session).erase(
        story.workspace_id, story.absorbed, ErasureMode.DELETE, actor="usr_dpo"
    )

    assert traces_left(session) == []
    for profile_id in (story.ana, story.absorbed):
        with pytest.raises(ProfileNotFound):
            ProfileService(session).resolve(story.workspace_id, profile_id)
    ben_after = ProfileService(session).view(story.workspace_id, story.ben, actor="t")
    assert ben_after.identifiers == ben_before.identifiers
    assert ben_after.computed.event_count == 1
    assert session.scalars(select(QuarantineEntry.raw)).all() == ['{"userId": "u-ben"}']
    assert erasure.profile_id == story.ana and erasure.mode is ErasureMode.DELETE
    assert erasure.counts["profiles"] == 2
    assert erasure.counts["identifiers"] == identifiers
    assert erasure.counts["orders"] == 3
    assert erasure.counts["consents"] == 1
    assert erasure.counts["quarantine"] == 1
    assert erasure.counts["conflicts"] == 1
    assert erasure.counts["reviews"] == 1
    assert erasure.counts["merges"] == 1
    assert session.scalar(select(func.count()).select_from(Suppression)) == identifiers
    assert session.scalar(select(func.count()).select_from(Order)) == 0
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "profile.erased")).one()
    assert (audit.actor, audit.subject) == ("usr_dpo", story.ana)
    assert audit.details == {"erasure_id": erasure.id, "mode": "delete"}


def test_anonymising_keeps_counts_and_revenue_but_not_who(session: Session, story: Story) -> None:
    """Events and orders stay (same number, same totals, same channels) under one random
    erased id, with no traits, context or personal values; nothing else of Ana remains."""
    everything_of_ana(session, story)
    events_before = session.scalar(select(func.count()).select_from(Event))
    totals_before = session.execute(select(Order.id, Order.total).order_by(Order.id)).all()

    erasure = PrivacyService(session).erase(
        story.workspace_id, story.ana, ErasureMode.ANONYMISE, actor="usr_dpo"
    )

    assert traces_left(session) == []
    assert session.scalar(select(func.count()).select_from(Event)) == events_before
    assert session.execute(select(Order.id, Order.total).order_by(Order.id)).all() == totals_before
    assert session.scalars(select(Order.customer)).all() == [{}, {}, {}]
    kept = session.scalars(select(Event).where(Event.message_id.in_(ANA_MESSAGES))).all()
    ids = {e.user_id for e in kept if e.user_id} | {e.anonymous_id for e in kept}
    assert len(kept) == 4 and len(ids) == 1 and next(iter(ids)).startswith("erased:")
    assert all("traits" not in e.payload and "context" not in e.payload for e in kept)
    viewed = next(e for e in kept if e.message_id == "ana-2")
    assert viewed.event == "Product Viewed" and viewed.payload["properties"] == {"sku": "SERUM-30"}
    assert erasure.mode is ErasureMode.ANONYMISE and erasure.counts["orders"] == 3


def test_erasing_an_unknown_profile_changes_nothing(session: Session, story: Story) -> None:
    """404, and no suppression, erasure or audit row."""
    with pytest.raises(ProfileNotFound):
        PrivacyService(session).erase(story.workspace_id, "cus_nope", actor="usr_dpo")

    assert session.scalar(select(func.count()).select_from(Suppression)) == 0
    assert session.scalar(select(func.count()).select_from(Erasure)) == 0
    assert session.scalar(select(func.count()).select_from(Profile)) == 3


def _basic(token: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{token}:".encode()).decode()}


def _ana_batch() -> list[dict[str, Any]]:
    return [
        message("identify", "ana-1", 0, anonymous_id="web-ana", user_id="u-ana",
                traits={"email": ANA_EMAIL, "phone": ANA_PHONE, "last_name": "Silva"}),
        message("track", "ana-2", 5, anonymous_id="web-ana", event="Product Viewed"),
        message("identify", "ana-new", 99, anonymous_id="web-fresh", traits={"email": ANA_EMAIL}),
        message("track", "ana-phone", 99, anonymous_id="kiosk-1", event="Kiosk Visit",
                context={"traits": {"phone": "+1 415-555-0134"}}),
    ]  # fmt: skip


@pytest.mark.parametrize("mode", ["delete", "anonymise"])
def test_a_replay_of_the_erased_persons_events_stores_nothing_and_recreates_nobody(
    session: Session, client: TestClient, mode: str
) -> None:
    """Erased through the API, then her old events (and new ones carrying her email or phone)
    replayed through /v1/batch: nothing stored, no profile, no identifier, no trace."""
    tenant: Tenant = make_tenant(session, "replay")
    write = _basic(tenant.write_token)
    sent = client.post("/v1/batch", headers=write, json={"batch": _ana_batch()})
    run_stitch_jobs(session)
    session.commit()
    ana = IdentityService(session).find_profile(tenant.workspace_id, "email", ANA_EMAIL)
    assert sent.status_code == 200 and ana is not None

    erased = client.post(f"/v1/profiles/{ana.id}/erase", headers=tenant.auth, json={"mode": mode})
    replay = client.post("/v1/batch", headers=write, json={"batch": _ana_batch()})
    stitched = run_stitch_jobs(session)

    assert erased.status_code == 200 and erased.json()["mode"] == mode
    assert replay.status_code == 200
    assert replay.json()["accepted"] == 0
    assert stitched == 0
    assert session.scalar(select(func.count()).select_from(Profile)) == 0
    assert session.scalar(select(func.count()).select_from(Identifier)) == 0
    assert traces_left(session, (*ANA_TRACES[:3], "web-fresh", "kiosk-1")) == []


def test_an_order_resent_after_erasure_keeps_the_sale_and_nothing_personal(
    session: Session, story: Story
) -> None:
    """A connector re-sending Ana's order after erasure: the order row comes back for its
    stock and revenue, without her email, phone or name, and no event, identifier or profile
    of hers is made (ADR 0013)."""
    PrivacyService(session).erase(story.workspace_id, story.ana, actor="usr_dpo")
    profiles_before = count_rows(session, Profile)

    result = OrderService(session).apply(story.workspace_id, order("#1001", 30, 7600))
    stitched = run_stitch_jobs(session)

    assert stitched == 0
    assert count_rows(session, Profile) == profiles_before == 1
    events = session.scalars(
        select(Event.message_id).where(Event.message_id.startswith(f"order:{result.order_id}:"))
    ).all()
    assert events == []
    row = session.get(Order, result.order_id)
    assert row is not None and row.total == 7600
    assert (row.customer, row.customer_email, row.customer_phone) == ({}, None, None)
    assert traces_left(session) == []


def test_a_stitch_job_queued_before_erasure_recreates_nothing(
    session: Session, story: Story
) -> None:
    """Ana's newest event is stored and its stitch job queued when the erasure comes: the job's
    record of her is removed with everything else, so running it afterwards links nothing, while
    Ben's record in the same job still stitches."""
    CollectService(session).ingest(Sender(story.workspace_id, None), [
        message("identify", "ana-late", 80, anonymous_id="tablet-1", traits={"email": ANA_EMAIL}),
        message("identify", "ben-late", 80, anonymous_id="ben-phone", user_id="u-ben"),
    ], "test")  # fmt: skip

    PrivacyService(session).erase(story.workspace_id, story.ana, actor="usr_dpo")
    ran = run_stitch_jobs(session)

    assert ran == 1
    assert traces_left(session, (*ANA_TRACES, "tablet-1")) == []
    ben = IdentityService(session).find_profile(story.workspace_id, "anonymous_id", "ben-phone")
    assert ben is not None and ben.id == story.ben


def count_rows(session: Session, model: type[Base]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_the_digest_is_the_one_ingestion_checks(session: Session, story: Story) -> None:
    """is_suppressed answers for each of the erased person's identifiers, not for Ben's."""
    service = PrivacyService(session)
    service.erase(story.workspace_id, story.ana, actor="usr_dpo")

    assert service.is_suppressed(story.workspace_id, "email", "ana.silva@example.com")
    assert service.is_suppressed(story.workspace_id, "phone", "+14155550134")
    assert not service.is_suppressed(story.workspace_id, "email", "ben@example.com")


# The pure parts ------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=50)
@given(
    properties=st.dictionaries(st.text(max_size=8), _json, max_size=5),
    spots=st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=4),
    wrapper=st.sampled_from(["{}", "mail to {} now", "{}".upper()]),
)
def test_anonymising_never_leaves_a_personal_value_anywhere(
    properties: dict[str, Any], spots: list[int], wrapper: str
) -> None:
    """Wherever a personal value hides in a message's properties (in a list, a nested dict,
    inside a longer string, in capitals), the anonymised message does not hold it, and its
    ids are the erased token."""
    secret = "ana.silva@example.com"
    payload: dict[str, Any] = {
        "type": "track", "event": "Viewed", "userId": "u-ana", "anonymousId": "web-ana",
        "traits": {"email": secret}, "context": {"ip": "203.0.113.7"},
        "properties": dict(properties),
    }  # fmt: skip
    for n, spot in enumerate(spots):
        nested: Any = {"deep": [wrapper.format(secret)]} if spot % 2 else wrapper.format(secret)
        payload["properties"][f"p{n}-{spot}"] = nested

    out = anonymised_message(payload, "erased:x", frozenset({secret}))

    assert secret not in json.dumps(out).lower()
    assert (out["userId"], out["anonymousId"]) == ("erased:x", "erased:x")
    assert "traits" not in out and "context" not in out


def test_a_stitch_job_keeps_the_records_of_others() -> None:
    """A job payload loses the records that mention the person, whole, and keeps the rest."""
    payload = {
        "workspace_id": "ws_1",
        "records": [
            {"ref": "a", "ids": [["email", "ana.silva@example.com", "Ana.Silva@Example.com"]]},
            {"ref": "b", "ids": [["email", "ben@example.com", "ben@example.com"]]},
        ],
    }

    out = without_mentions(payload, frozenset({"ana.silva@example.com"}))

    assert out == {"workspace_id": "ws_1", "records": [payload["records"][1]]}


# CLI ---------------------------------------------------------------------------------------


def test_the_cli_records_consent_exports_and_erases(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    """`tessera consent record`, `tessera profiles export` (JSON on stdout) and `tessera
    profiles erase --anonymise --yes`; a malformed --identifier is one line, exit 1."""
    with session_factory() as session:
        story = ana_and_ben(session, make_workspace(session, "cli"))
        session.commit()

    code_consent, out_consent = invoke(
        settings, session_factory, "consent", "record", story.ana, "-w", "cli",
        "--identifier", "email:ana.silva@example.com", "--purpose", "marketing",
        "--channel", "email", "--status", "granted", "--source", "store:soho",
    )  # fmt: skip
    code_bad, out_bad = invoke(
        settings, session_factory, "consent", "record", story.ana, "-w", "cli",
        "--identifier", "ana", "--purpose", "marketing", "--channel", "email",
        "--status", "granted", "--source", "store:soho",
    )  # fmt: skip
    code_export, out_export = invoke(
        settings, session_factory, "profiles", "export", story.ana, "-w", "cli"
    )
    code_erase, out_erase = invoke(
        settings, session_factory, "profiles", "erase", story.ana, "-w", "cli",
        "--anonymise", "--yes",
    )  # fmt: skip

    assert (code_consent, code_bad, code_export, code_erase) == (0, 1, 0, 0)
    assert "recorded granted for marketing by email" in out_consent
    assert "--identifier: write it as type:value" in out_bad
    exported = json.loads(out_export)
    assert exported["profile_id"] == story.ana and len(exported["consents"]) == 1
    assert " ".join(out_erase.split()).startswith(f"erased {story.ana} (anonymise) as era_")
    with session_factory() as session:
        assert traces_left(session) == []
