"""The pure rules: SMS segments and the disclosure, quiet hours across zones and DST changes,
reply keywords, and the recipient's zones from profile, phone, country or workspace."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from tessera.message import domain
from tessera.message.zones import recipient_zones, window_check

EIGHT, TWENTY = time(8), time(20)
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 160, ("gsm7", 160, 1)),
        ("a" * 161, ("gsm7", 161, 2)),
        ("a" * 306, ("gsm7", 306, 2)),
        ("a" * 307, ("gsm7", 307, 3)),
        ("€" * 80, ("gsm7", 160, 1)),  # the extension set costs two septets each
        ("€" * 81, ("gsm7", 162, 2)),
        ("é" * 160, ("gsm7", 160, 1)),  # é is in the basic set
        ("ñ" + "a" * 69, ("gsm7", 70, 1)),
        ("ó" + "a" * 69, ("ucs2", 70, 1)),  # ó is not: the whole message turns UCS-2
        ("ó" + "a" * 70, ("ucs2", 71, 2)),
        ("😀" * 35, ("ucs2", 70, 1)),  # an emoji is two UTF-16 units
        ("😀" * 36, ("ucs2", 72, 2)),
        ("", ("gsm7", 0, 1)),
    ],
)
def test_segments_follow_gsm7_and_ucs2(text: str, expected: tuple[str, int, int]) -> None:
    """160/153 septets for GSM-7, 70/67 UTF-16 units as soon as one character is outside it."""
    segments = domain.sms_segments(text)

    assert (segments.encoding, segments.units, segments.count) == expected


def test_the_disclosure_is_added_once_and_only_when_missing() -> None:
    """A marketing SMS ends with how to get help and stop; one that says it already is kept."""
    added = domain.with_disclosure("Your cart misses you: https://s.test/c")
    kept = domain.with_disclosure("Sale! reply help for help and stop to cancel")

    assert (
        added == "Your cart misses you: https://s.test/c\nReply HELP for help and STOP to cancel."
    )
    assert kept == "Sale! reply help for help and stop to cancel"
    assert domain.with_disclosure(added) == added


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        ("STOP", domain.Keyword.OPT_OUT),
        (" stop. ", domain.Keyword.OPT_OUT),
        ("Stopall", domain.Keyword.OPT_OUT),
        ("unsubscribe", domain.Keyword.OPT_OUT),
        ("CANCEL", domain.Keyword.OPT_OUT),
        ("end", domain.Keyword.OPT_OUT),
        ("Quit!", domain.Keyword.OPT_OUT),
        ("START", domain.Keyword.OPT_IN),
        ("yes", domain.Keyword.OPT_IN),
        ("UNSTOP", domain.Keyword.OPT_IN),
        ("help", domain.Keyword.HELP),
        ("Y", domain.Keyword.CONFIRM),
        ("stop it please", None),
        ("when does my order ship?", None),
        ("", None),
    ],
)
def test_a_reply_is_a_keyword_only_when_it_is_the_whole_message(
    body: str, keyword: domain.Keyword | None
) -> None:
    """Carriers read the whole message as one word, any case, punctuation around it ignored."""
    assert domain.keyword_of(body) == keyword


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "zones", "expected"),
    [
        # 15:00 UTC is 10:00 in New York: allowed now.
        (utc(2025, 3, 4, 15), [NEW_YORK], utc(2025, 3, 4, 15)),
        # 02:00 UTC is 21:00 in New York: held to 08:00 the next morning (13:00 UTC, EST).
        (utc(2025, 3, 5, 2), [NEW_YORK], utc(2025, 3, 5, 13)),
        # Both coasts: allowed once it is 08:00 in Los Angeles (16:00 UTC).
        (utc(2025, 3, 4, 13), [NEW_YORK, LOS_ANGELES], utc(2025, 3, 4, 16)),
        # ...and no later than 20:00 in New York (01:00 UTC): at 01:30 UTC wait for LA's 08:00.
        (utc(2025, 3, 5, 1, 30), [NEW_YORK, LOS_ANGELES], utc(2025, 3, 5, 16)),
        # Spring forward: 03:00 local on 9 March 2025 is already EDT; 08:00 EDT is 12:00 UTC.
        (utc(2025, 3, 9, 3), [NEW_YORK], utc(2025, 3, 9, 12)),
        # Fall back: 08:00 EST on 2 November 2025 is 13:00 UTC.
        (utc(2025, 11, 2, 5), [NEW_YORK], utc(2025, 11, 2, 13)),
        # London's spring forward (30 March 2025): 08:00 BST is 07:00 UTC.
        (utc(2025, 3, 29, 21), [LONDON], utc(2025, 3, 30, 7)),
        # Sydney's fall back (6 April 2025): 08:00 AEST is 22:00 UTC the day before.
        (utc(2025, 4, 5, 12), [SYDNEY], utc(2025, 4, 5, 22)),
    ],
)
def test_the_next_allowed_time_is_eight_in_the_morning_local_whatever_the_offset(
    now: datetime, zones: list[ZoneInfo], expected: datetime
) -> None:
    """Held to the next 08:00-20:00 in every zone; a DST change moves the UTC instant, never
    the local time."""
    assert domain.next_allowed(now, zones, EIGHT, TWENTY) == expected


def test_zones_with_no_shared_allowed_hour_have_no_next_time() -> None:
    """Zones twelve hours apart: when one's day starts the other's ends, no hour is in both."""
    zones = [ZoneInfo("Etc/GMT+6"), ZoneInfo("Etc/GMT-6")]

    assert domain.next_allowed(utc(2025, 3, 4, 15), zones, EIGHT, TWENTY) is None


@pytest.mark.parametrize(
    ("traits", "phone", "default", "expected"),
    [
        ({"timezone": "Europe/Paris"}, "+14155550100", "America/Chicago",
         ("profile", ["Europe/Paris"])),
        ({"timezone": "Mars/Olympus"}, "+14155550100", None, ("phone", ["America/Los_Angeles"])),
        ({}, "+12125550100", None, ("phone", ["America/New_York"])),
        # A number the library cannot place says nothing; the address's country does.
        ({"country": "GB"}, "+447700900123", None, ("country", ["Europe/London"])),
        ({"address": {"country": "fr"}}, None, None, ("country", ["Europe/Paris"])),
        ({}, "+447700900123", "Europe/Dublin", ("workspace", ["Europe/Dublin"])),
        ({}, None, None, None),
        ({"timezone": ""}, "not a number", "Not/AZone", None),
    ],
)  # fmt: skip
def test_the_recipient_zone_comes_from_profile_then_phone_then_country_then_workspace(
    traits: dict[str, object], phone: str | None, default: str | None,
    expected: tuple[str, list[str]] | None,
) -> None:  # fmt: skip
    """The first source that names zones sharing an allowed hour wins; nothing known is None."""
    found = recipient_zones(
        traits, phone, default, window_check(utc(2025, 3, 4, 15), EIGHT, TWENTY)
    )

    assert (None if found is None else (found.source, [z.key for z in found.zones])) == expected
