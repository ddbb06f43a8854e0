"""channel credentials and connector secrets sealed at rest

Feed credentials (Shopify and Amazon access tokens, TikTok Shop app secrets) and the secrets
in connector settings (a Shopify shop's webhook secret) were plain JSON: a database dump or a
read replica gave away every brand's channel tokens. Each becomes ``{"sealed": token}``
(``tessera.kit.secrets``, ADR 0015), sealed under the key derived from TESSERA_SECRET_KEY, so
run this with the settings the application runs with. No column changes type.

Values already sealed are left alone, so running it over a partly sealed table is harmless. The
downgrade opens every sealed value (with TESSERA_SECRET_KEY or a previous key) and stores the
plaintext again; it stops, naming the row, at a value no key opens. Tests pass their own
keyring in ``config.attributes["keyring"]``.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

import tessera.db.types
from tessera.kit.secrets import Keyring, is_sealed, is_secret_name

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain JSON columns here: the models' guards refuse the plaintext the downgrade writes back.
FEED = sa.table(
    "channel_feed",
    sa.column("id", sa.String()),
    sa.column("credentials", tessera.db.types.JSONDocument()),
)
SOURCE = sa.table(
    "source",
    sa.column("id", sa.String()),
    sa.column("settings", tessera.db.types.JSONDocument()),
)


class _Keys:
    """The keyring, looked up when a row first needs it (an empty database needs none)."""

    def __init__(self) -> None:
        self._keyring: Keyring | None = None

    def __call__(self) -> Keyring:
        if self._keyring is None:
            given = context.config.attributes.get("keyring")
            if given is None:
                from tessera.config import get_settings

                given = get_settings().keyring()
            self._keyring = given
        return self._keyring


def _rewrite(table: sa.TableClause, column: str, change: Callable[[str, Any], Any | None]) -> None:
    """Store ``change(id, value)`` for every row where it is not None."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(table.c.id, table.c[column]).order_by(table.c.id)).all()
    for row_id, value in rows:
        changed = change(row_id, value)
        if changed is not None:
            bind.execute(table.update().where(table.c.id == row_id).values({column: changed}))


def upgrade() -> None:
    keys = _Keys()

    def seal_credentials(_feed_id: str, credentials: Any) -> Any | None:
        if not credentials or is_sealed(credentials):
            return None
        return keys().seal(credentials)

    def seal_settings(_source_id: str, settings: Any) -> Any | None:
        if not isinstance(settings, dict) or not any(
            is_secret_name(name) and value is not None and not is_sealed(value)
            for name, value in settings.items()
        ):
            return None
        return keys().seal_secrets(settings)

    _rewrite(FEED, "credentials", seal_credentials)
    _rewrite(SOURCE, "settings", seal_settings)


def downgrade() -> None:
    keys = _Keys()

    def open_credentials(feed_id: str, credentials: Any) -> Any | None:
        if not is_sealed(credentials):
            return None
        return keys().open(credentials, f"the credentials of feed {feed_id}")

    def open_settings(source_id: str, settings: Any) -> Any | None:
        if not isinstance(settings, dict) or not any(map(is_sealed, settings.values())):
            return None
        return {
            name: keys().open(value, f"the {name} of source {source_id}")
            if is_sealed(value)
            else value
            for name, value in settings.items()
        }

    _rewrite(FEED, "credentials", open_credentials)
    _rewrite(SOURCE, "settings", open_settings)
