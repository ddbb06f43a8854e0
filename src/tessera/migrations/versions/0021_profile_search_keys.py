"""The clerk's search keys on the profile: surname first, email, email domain, phone digits

A clerk finds a customer by surname alone, "Last First", part of an email or its domain, or a
phone written any way. Each is a range on one indexed column of ``profile``, derived from the
traits by ``identity.graph.identifiers.search_keys``: ``name_key`` ("given family", now folded
without honorifics), ``surname_key`` ("family given"), ``email_key``, ``email_domain`` and
``phone_key`` (the national digits, ``kit.phones``). On PostgreSQL they are ``COLLATE "C"``, so
a prefix is exactly a range whatever the database's collation; the indexes hold the id after
the key, so the first answers of a key thousands share are read in order, and leave out
profiles without the key (most anonymous visitors).

Existing profiles get their keys here, a few thousand at a time. The derivation is copied as it
is at this revision (a migration must not follow later changes of the code it ran with).

Revision ID: 0021
Revises: 0020
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import tessera.db.types
from tessera.kit.names import name_words
from tessera.kit.phones import national_digits

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = {"name_key": 200, "surname_key": 200, "email_key": 320, "email_domain": 200, "phone_key": 15}
BATCH = 5_000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
PROFILE = sa.table(
    "profile",
    sa.column("id", sa.String()),
    sa.column("workspace_id", sa.String()),
    sa.column("traits", tessera.db.types.JSONDocument()),
    *(sa.column(name, sa.String()) for name in KEYS),
)
WORKSPACE = sa.table("workspace", sa.column("id", sa.String()), sa.column("default_region"))


def _key_type(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _keys(traits: Mapping[str, Any], region: str) -> dict[str, str | None]:
    first = traits.get("first_name") or traits.get("firstName")
    last = traits.get("last_name") or traits.get("lastName")
    if isinstance(first, str) or isinstance(last, str):
        given = name_words(first) if isinstance(first, str) else ()
        family = name_words(last) if isinstance(last, str) else ()
    else:
        name = traits.get("name")
        words = name_words(name) if isinstance(name, str) else ()
        given, family = words[:-1], words[-1:]
    keys: dict[str, str | None] = {
        "name_key": " ".join(given + family)[:200] or None,
        "surname_key": " ".join(family + given)[:200] if family else None,
        "email_key": None,
        "email_domain": None,
        "phone_key": None,
    }
    email = traits.get("email")
    if isinstance(email, str):
        address = email.strip().lower()
        if EMAIL.match(address) and len(address) <= 320:
            keys["email_key"] = address
            keys["email_domain"] = address.rpartition("@")[2][:200]
    phone = traits.get("phone")
    if isinstance(phone, str | int) and not isinstance(phone, bool):
        digits = national_digits(str(phone), region)
        keys["phone_key"] = digits if len(digits) >= 6 else None
    return keys


def _backfill() -> None:
    connection = op.get_bind()
    after = ""
    while True:
        rows = connection.execute(
            sa.select(PROFILE.c.id, PROFILE.c.traits, WORKSPACE.c.default_region)
            .join(WORKSPACE, WORKSPACE.c.id == PROFILE.c.workspace_id)
            .where(PROFILE.c.id > after)
            .order_by(PROFILE.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        after = rows[-1].id
        connection.execute(
            PROFILE.update()
            .where(PROFILE.c.id == sa.bindparam("profile_id"))
            .values({name: sa.bindparam(name) for name in KEYS}),
            [
                {"profile_id": row.id, **_keys(row.traits or {}, row.default_region or "US")}
                for row in rows
            ],
        )


def upgrade() -> None:
    with op.batch_alter_table("profile") as batch:
        batch.drop_index("ix_profile_workspace_name")
        batch.alter_column(
            "name_key", existing_type=sa.String(200), type_=_key_type(200), existing_nullable=True
        )
        for name, length in KEYS.items():
            if name != "name_key":
                batch.add_column(sa.Column(name, _key_type(length), nullable=True))
    _backfill()
    for name in KEYS:
        op.create_index(
            f"ix_profile_search_{name}",
            "profile",
            ["workspace_id", name, "id"],
            postgresql_where=sa.text(f"{name} IS NOT NULL"),
            sqlite_where=sa.text(f"{name} IS NOT NULL"),
        )


def downgrade() -> None:
    for name in KEYS:
        op.drop_index(f"ix_profile_search_{name}", table_name="profile")
    with op.batch_alter_table("profile") as batch:
        for name in reversed(KEYS):
            if name != "name_key":
                batch.drop_column(name)
        batch.alter_column(
            "name_key", existing_type=_key_type(200), type_=sa.String(200), existing_nullable=True
        )
        batch.create_index("ix_profile_workspace_name", ["workspace_id", "name_key"])
