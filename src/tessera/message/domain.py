"""Pure rules of sending: why a message is skipped, SMS segments and the disclosure, quiet
hours in the recipient's zones, reply keywords, and the Message-ID. No session, no clock:
``now`` is passed in.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from tessera.kit.errors import InvalidInput

E = TypeVar("E", bound=enum.StrEnum)

# Why a message was skipped, failed or held: stable codes, kept on the row.
NO_PROFILE = "profile_not_found"  # erased, or never was
NO_ADDRESS = "no_address"  # the person has no email (or phone) to send to
SUPPRESSED = "suppressed"  # a hard bounce, a complaint or an SMS STOP for the address
NO_CONSENT = "no_consent"  # marketing without a granted consent for the channel
FREQUENCY_CAP = "frequency_cap"  # another marketing message on the channel too recently
QUIET_HOURS = "quiet_hours"  # held: outside the allowed hours in the recipient's zone
TIMEZONE_UNKNOWN = "timezone_unknown"  # held, then skipped: no zone known, so no marketing SMS
OPTED_OUT = "opted_out"  # skipped at once when the person texted STOP or unsubscribed
TEMPLATE_MISSING = "template_missing"
RENDER_FAILED = "render_failed"
NOT_CONFIGURED = "not_configured"  # no sender address or provider account
PROVIDER_REFUSED = "provider_refused"
INVALID_ADDRESS = "invalid_address"
HARD_BOUNCE = "hard_bounce"
COMPLAINT = "complaint"
SMS_STOP = "sms_stop"

DISCLOSURE = "Reply HELP for help and STOP to cancel."
# How long a marketing SMS waits for a zone to become known before it is skipped.
UNKNOWN_ZONE_RETRY = timedelta(hours=1)
UNKNOWN_ZONE_GIVE_UP = timedelta(hours=24)

# GSM 03.38: the basic set (one septet each) and the extension set (an escape and a septet).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True, slots=True)
class Segments:
    """How an SMS travels: ``gsm7`` (160 characters, 153 per part when split) or ``ucs2``
    (70, 67 per part) as soon as one character is outside GSM-7."""

    encoding: str
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    count: int


def sms_segments(text: str) -> Segments:
    """The encoding and number of parts ``text`` is sent in."""
    if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text):
        units = sum(2 if ch in GSM_EXTENSION else 1 for ch in text)
        single, part, encoding = 160, 153, "gsm7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part, encoding = 70, 67, "ucs2"
    count = 1 if units <= single else math.ceil(units / part)
    return Segments(encoding, units, count)


def _plain(text: str) -> str:
    return " ".join(text.lower().split())


def with_disclosure(text: str) -> str:
    """A marketing SMS ends with how to get help and stop: added when the text lacks it."""
    if _plain(DISCLOSURE).rstrip(".") in _plain(text):
        return text
    return f"{text.rstrip()}\n{DISCLOSURE}" if text.strip() else DISCLOSURE


# Quiet hours ----------------------------------------------------------------------------------


def parse_clock(value: str, field: str) -> time:
    """``"08:00"`` as a time; refuses anything else (``ValueError`` naming ``field``)."""
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", value.strip())
    if match is None:
        raise ValueError(f"{field} must be a time of day as HH:MM, got {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def is_allowed(moment: datetime, zones: Sequence[ZoneInfo], start: time, end: time) -> bool:
    """Whether ``moment`` falls within ``[start, end)`` local time in every zone."""
    return all(start <= moment.astimezone(zone).time() < end for zone in zones)


def next_allowed(
    now: datetime, zones: Sequence[ZoneInfo], start: time, end: time
) -> datetime | None:
    """The first instant at or after ``now`` inside the allowed hours in every zone, or None
    when the zones' windows never meet (zones too far apart to share an allowed hour).

    With several zones (a number whose area code spans two), the message waits until it is
    allowed in all of them: the safe reading when the person could be in either. The answer is
    ``now`` or a zone's local ``start`` on one of the next days, computed with ``zoneinfo`` so a
    DST change moves the UTC instant, never the local time.
    """
    if not zones:
        return None
    if is_allowed(now, zones, start, end):
        return now
    candidates: list[datetime] = []
    for zone in zones:
        local_day = now.astimezone(zone).date()
        for offset in range(3):
            day = local_day + timedelta(days=offset)
            candidates.extend(_local_instants(day, start, zone))
    for candidate in sorted(c for c in candidates if c > now):
        if is_allowed(candidate, zones, start, end):
            return candidate
    return None


def _local_instants(day: date, at: time, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants whose local time in ``zone`` is ``at`` on ``day`` (two in a fall-back
    hour; in a spring-forward gap, the instant just after the gap)."""
    instants = []
    for fold in (0, 1):
        local = datetime.combine(day, at, tzinfo=zone).replace(fold=fold)
        instants.append(local.astimezone(ZoneInfo("UTC")))
    return instants


# Reply keywords -------------------------------------------------------------------------------


class Keyword(enum.StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    CONFIRM = "confirm"  # "Y": confirms a pending double opt-in only


OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
CONFIRM_WORDS = frozenset({"Y"})


def keyword_of(body: str) -> Keyword | None:
    """The keyword an inbound SMS is, read as carriers do: the whole message, one word, any
    case, surrounding spaces and punctuation ignored ("Stop." is STOP; "stop it" is not)."""
    word = re.sub(r"^[\W_]+|[\W_]+$", "", body.strip()).upper()
    if word in OPT_OUT_WORDS:
        return Keyword.OPT_OUT
    if word in OPT_IN_WORDS:
        return Keyword.OPT_IN
    if word in HELP_WORDS:
        return Keyword.HELP
    if word in CONFIRM_WORDS:
        return Keyword.CONFIRM
    return None


def is_confirmation(body: str) -> bool:
    """Whether a reply confirms a pending double opt-in ("Reply Y"): Y or YES."""
    word = re.sub(r"^[\W_]+|[\W_]+$", "", body.strip()).upper()
    return word in CONFIRM_WORDS or word == "YES"


# Identity on the wire ------------------------------------------------------------------------


def message_id_header(message_id: str) -> str:
    """The email's Message-ID: the outbox row's id, the same on every send of that row."""
    return f"<{message_id}@tessera>"


def message_id_of_header(value: str) -> str | None:
    """The outbox id inside a Message-ID header (a bounce quotes it), or None."""
    match = re.fullmatch(r"\s*<(msg_[0-9A-Z]{26})@tessera>\s*", value)
    return match.group(1) if match else None


def choice(kind: type[E], value: object, field: str) -> E:
    """``value`` as a member of ``kind``; refuses (422, naming ``field`` and the choices)
    anything else."""
    try:
        return kind(str(value))
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidInput(f"{field} must be one of {allowed}", field=field) from None
