"""The recipient's time zones, for quiet hours: the profile's ``timezone`` trait, else the
phone number's area (``phonenumbers.timezone``), else the address's country, else the
workspace's default. Nothing known means no zone, and marketing SMS is held (fails closed).

A source may give several zones (an area code on a zone line, a country that spans several);
they are all kept, so the message waits for an hour allowed in each. A source whose zones are
too far apart to share an allowed hour (twelve hours or more between them) says nothing
useful, and the next source is asked.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezones

from tessera.message.domain import next_allowed


@dataclass(frozen=True, slots=True)
class RecipientZones:
    zones: tuple[ZoneInfo, ...]
    source: str  # profile | phone | country | workspace


def zone_named(name: object) -> ZoneInfo | None:
    """The IANA zone called ``name``, or None for anything else (``"EST"`` links are zones
    too; an empty or unknown name is not)."""
    if not isinstance(name, str) or not name.strip() or name.strip() != name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def phone_zones(e164: str) -> tuple[ZoneInfo, ...]:
    """The zones of a phone number's area, none when the library cannot place it."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    names = phone_timezones.time_zones_for_number(number)
    return tuple(z for z in (zone_named(n) for n in names if n != "Etc/Unknown") if z)


@functools.cache
def _country_zones() -> dict[str, tuple[str, ...]]:
    """ISO 3166 country code to its zones, from tzdata's ``zone1970.tab`` (one line per zone,
    the countries that use it in the first column)."""
    table: dict[str, list[str]] = {}
    text = resources.files("tzdata").joinpath("zoneinfo/zone1970.tab").read_text("utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        columns = line.split("\t")
        for country in columns[0].split(","):
            table.setdefault(country, []).append(columns[2])
    return {country: tuple(zones) for country, zones in table.items()}


def country_zones(country: object) -> tuple[ZoneInfo, ...]:
    if not isinstance(country, str) or len(country.strip()) != 2:
        return ()
    names = _country_zones().get(country.strip().upper(), ())
    return tuple(z for z in (zone_named(n) for n in names) if z)


def address_country(traits: Mapping[str, Any]) -> object:
    """The country a profile's traits give: ``country`` or ``address.country``."""
    address = traits.get("address")
    nested = address.get("country") if isinstance(address, Mapping) else None
    return traits.get("country") or nested


def recipient_zones(
    traits: Mapping[str, Any],
    phone: str | None,
    workspace_default: str | None,
    shares_an_hour: Callable[[Sequence[ZoneInfo]], bool],
) -> RecipientZones | None:
    """The first source, in order, that names zones sharing an allowed hour; None if none."""
    sources: list[tuple[str, tuple[ZoneInfo, ...]]] = []
    own = zone_named(traits.get("timezone"))
    sources.append(("profile", (own,) if own else ()))
    sources.append(("phone", phone_zones(phone) if phone else ()))
    sources.append(("country", country_zones(address_country(traits))))
    default = zone_named(workspace_default)
    sources.append(("workspace", (default,) if default else ()))
    for source, zones in sources:
        if zones and shares_an_hour(zones):
            return RecipientZones(zones, source)
    return None


def window_check(now: datetime, start: time, end: time) -> Callable[[Sequence[ZoneInfo]], bool]:
    """Whether zones share an allowed hour in the next days (``next_allowed`` finds one)."""
    return lambda zones: next_allowed(now, zones, start, end) is not None
