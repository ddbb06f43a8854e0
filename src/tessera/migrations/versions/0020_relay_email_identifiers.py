"""Relay addresses are relay_email identifiers, not emails; a workspace's own relay domains

An address a platform issues in the buyer's place (TikTok Shop's ``@scs.tiktokw.us``, Amazon's
``@marketplace.amazon.com``, Apple's private relay: ``identifiers.RELAY_DOMAINS``) was stored
as an ``email`` identifier: it linked profiles, counted against the per-profile email limit,
became the profile's email trait over a real one, and was compared as an email by the matcher.
From now on it is a ``relay_email`` (``identity.graph.identifiers``). This migration:

- adds ``identity_config.relay_domains`` (the workspace's own, besides the defaults);
- re-kinds every stored ``email`` identifier at a relay domain as ``relay_email`` (the row,
  its id, its links and consents stay; the ``email_sha256`` made from it stays, a hash that
  only a hash of the same relay address could meet);
- moves a profile's ``email`` trait that is a relay address to its ``relay_email`` trait, and
  gives the profile back the newest real email it holds, if any;
- takes relay addresses out of match records (the field and the ``key_email`` blocking key), so
  no two buyers are candidates for each other by one. Records are rewritten from the traits
  the next time their profile is matched.

The list is the application's, read when this runs: a domain added to it later needs its own
migration to re-kind what was stored before. The downgrade re-kinds ``relay_email`` rows as
``email`` and drops the column; traits stay as they are (a ``relay_email`` trait is only a
trait to the older code).

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import tessera.db.types
from tessera.identity.graph.identifiers import RELAY_DOMAINS, Rules

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IDENTIFIER = sa.table(
    "identifier",
    sa.column("id", sa.String()),
    sa.column("type", sa.String()),
    sa.column("value", sa.String()),
    sa.column("raw", sa.String()),
    sa.column("profile_id", sa.String()),
    sa.column("last_seen", tessera.db.types.UTCDateTime()),
)
PROFILE = sa.table(
    "profile",
    sa.column("id", sa.String()),
    sa.column("traits", tessera.db.types.JSONDocument()),
    sa.column("trait_stamps", tessera.db.types.JSONDocument()),
)
MATCH_RECORD = sa.table(
    "identity_match_record",
    sa.column("profile_id", sa.String()),
    sa.column("fields", tessera.db.types.JSONDocument()),
    sa.column("key_email", sa.String()),
)
BATCH = 1_000
RULES = Rules()  # the default relay domains, nothing of any workspace's


def _ends_at_relay(column: Any) -> Any:
    """Rows whose value ends with a relay domain, in any case (a superset: ``is_relay``
    decides)."""
    lowered = sa.func.lower(column)
    return sa.or_(*(lowered.like(f"%{domain}") for domain in RELAY_DOMAINS))


def upgrade() -> None:
    op.add_column(
        "identity_config",
        sa.Column(
            "relay_domains",
            tessera.db.types.JSONDocument(),
            nullable=False,
            server_default=sa.text("'[]'"),
        ),
    )
    bind = op.get_bind()
    _rekind_identifiers(bind)
    _move_email_traits(bind)
    _clear_match_records(bind)


def _rekind_identifiers(bind: sa.Connection) -> None:
    rows = bind.execute(
        sa.select(IDENTIFIER.c.id, IDENTIFIER.c.value).where(
            IDENTIFIER.c.type == "email", _ends_at_relay(IDENTIFIER.c.value)
        )
    ).all()
    relay_ids = sorted(row_id for row_id, value in rows if RULES.is_relay(value))
    for start in range(0, len(relay_ids), BATCH):
        chunk = relay_ids[start : start + BATCH]
        bind.execute(
            IDENTIFIER.update().where(IDENTIFIER.c.id.in_(chunk)).values(type="relay_email")
        )


def _move_email_traits(bind: sa.Connection) -> None:
    email = PROFILE.c.traits["email"].as_string()
    profiles = [
        row
        for row in bind.execute(
            sa.select(PROFILE.c.id, PROFILE.c.traits, PROFILE.c.trait_stamps)
            .where(_ends_at_relay(email))
            .order_by(PROFILE.c.id)
        )
        if isinstance(row.traits.get("email"), str) and RULES.is_relay(row.traits["email"])
    ]
    for start in range(0, len(profiles), BATCH):
        chunk = profiles[start : start + BATCH]
        newest: dict[str, tuple[str, Any]] = {}  # profile -> (raw email, last seen)
        for profile_id, raw, last_seen in bind.execute(
            sa.select(IDENTIFIER.c.profile_id, IDENTIFIER.c.raw, IDENTIFIER.c.last_seen)
            .where(
                IDENTIFIER.c.profile_id.in_([row.id for row in chunk]),
                IDENTIFIER.c.type == "email",
            )
            .order_by(IDENTIFIER.c.profile_id, IDENTIFIER.c.last_seen, IDENTIFIER.c.id)
        ):
            newest[profile_id] = (raw, last_seen)  # in order: the newest stays
        for row in chunk:
            traits, stamps = dict(row.traits), dict(row.trait_stamps or {})
            traits["relay_email"] = traits.pop("email")
            if "email" in stamps:
                stamps["relay_email"] = stamps.pop("email")
            if row.id in newest:
                raw, last_seen = newest[row.id]
                traits["email"] = raw
                stamps["email"] = last_seen.isoformat()
            bind.execute(
                PROFILE.update()
                .where(PROFILE.c.id == row.id)
                .values(traits=traits, trait_stamps=stamps)
            )


def _clear_match_records(bind: sa.Connection) -> None:
    for profile_id, fields, key_email in bind.execute(
        sa.select(MATCH_RECORD.c.profile_id, MATCH_RECORD.c.fields, MATCH_RECORD.c.key_email).where(
            _ends_at_relay(MATCH_RECORD.c.key_email)
        )
    ).all():
        if not RULES.is_relay(key_email):
            continue
        bind.execute(
            MATCH_RECORD.update()
            .where(MATCH_RECORD.c.profile_id == profile_id)
            .values(fields={**(fields or {}), "email": None}, key_email=None)
        )


def downgrade() -> None:
    op.execute("UPDATE identifier SET type = 'email' WHERE type = 'relay_email'")
    with op.batch_alter_table("identity_config") as batch:
        batch.drop_column("relay_domains")
