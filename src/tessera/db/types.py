"""Portable column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Enum, Integer, String, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB

from tessera.kit.secrets import is_sealed, is_secret_name
from tessera.kit.time import ensure_utc


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime; SQLite stores ISO text and gets the zone back on load."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        # SQLite keeps text without a zone: store UTC wall time so text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else ensure_utc(value)


class JSONDocument(TypeDecorator[Any]):
    """JSON on SQLite, JSONB on PostgreSQL."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


class SealedJSON(JSONDocument):
    """A JSON document kept sealed (``tessera.kit.secrets``): ``{}`` when there is nothing to
    keep, else ``{"sealed": token}``. Anything else is refused before it reaches the database,
    through the ORM and Core inserts alike, so a plaintext secret cannot be stored by mistake.

    The type seals nothing itself: it sees a value and a dialect, not the settings holding the
    key nor the row a failure should name. The services seal and open with a ``Keyring``.
    """

    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or value == {} or is_sealed(value):
            return value
        raise ValueError("this column keeps sealed values only; seal it with Keyring.seal")


class JSONWithSealedSecrets(JSONDocument):
    """A JSON object of settings whose secrets (names ending in ``secret``, ``token``,
    ``password`` or ``_key``) must be sealed; the rest stays readable (a shop's domain).
    Refuses a plaintext secret the way ``SealedJSON`` refuses plaintext."""

    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, dict):
            plain = sorted(
                str(name)
                for name, item in value.items()
                if is_secret_name(str(name)) and item is not None and not is_sealed(item)
            )
            if plain:
                raise ValueError(
                    f"{', '.join(plain)} must be sealed before it is stored (Keyring.seal)"
                )
        return value


# Money is stored as two columns: an amount in minor units and a currency code.
MinorUnits = BigInteger().with_variant(Integer(), "sqlite")
CurrencyCode = String(3)
PrefixedId = String(40)


def PrefixKey(length: int) -> String:
    """Text whose every prefix search is an index range (``key >= 'smi' AND key < 'smj'``):
    ordered byte-wise on both backends (PostgreSQL's ``C`` collation, whatever the database's;
    SQLite's binary one), so the range holds exactly the values that start with the prefix.
    Under a language collation (en_US) punctuation is skipped and the range would miss some."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def StrEnumColumn(enum_class: type[enum.StrEnum]) -> Enum:
    """A portable string column holding a StrEnum's values (not its member names)."""
    return Enum(
        enum_class,
        native_enum=False,
        length=max(16, *(len(member.value) for member in enum_class)),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
