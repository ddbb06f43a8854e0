"""Identifiers: their types, how each is normalised, and how they are read from a message.

Pure: a Segment-shaped message in, typed identifiers out. The raw value is kept beside the
normalised one. A value that is blocked (empty, ``null``, ``-1``, ``anonymous``, all zeros, or on
the workspace's own list) or that does not parse (an email without ``@``, a phone
``phonenumbers`` cannot place) is not an identifier at all: it never links anything.

Emails are trimmed and lower-cased (Gmail dot and plus rules are brand policy, not a default).
Phones become E.164 in the workspace's default region. Both also yield their SHA-256 (the
normalised email; the phone's digits with country code and no plus), the form ad platforms use,
so a hashed identifier from one source meets the plain one from another.

An address a platform issues in the buyer's place (TikTok Shop's ``@scs.tiktokw.us``, Amazon's
``@marketplace.amazon.com``, Apple's private relay: ``RELAY_DOMAINS`` plus the workspace's own)
is not the person's email. It is kept as a ``relay_email``, with no hash, and it never links:
the stitch planner leaves one another profile holds where it is (``NON_LINKING_TYPES``), and a
record's ``email`` trait holding one becomes its ``relay_email`` trait, so the profile's email
stays the real one and matching never compares it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import phonenumbers

from tessera.kit.names import name_words
from tessera.kit.phones import national_digits

ANONYMOUS_ID = "anonymous_id"
USER_ID = "user_id"
EMAIL = "email"
PHONE = "phone"
EMAIL_SHA256 = "email_sha256"
PHONE_SHA256 = "phone_sha256"
LOYALTY_ID = "loyalty_id"
POS_CARD_ID = "pos_card_id"
DEVICE_ID = "device_id"
PUSH_TOKEN = "push_token"  # noqa: S105 - an identifier type, not a secret
ORDER = "order"
SHOPIFY_CUSTOMER_ID = "shopify_customer_id"
TIKTOK_CUSTOMER_ID = "tiktok_customer_id"
AMAZON_BUYER_ID = "amazon_buyer_id"
SQUARE_CUSTOMER_ID = "square_customer_id"
RELAY_EMAIL = "relay_email"
CUSTOM_PREFIX = "custom:"

# Highest first: when a merge would break a limit, identifiers are kept in this order and the
# rest of the record's identifiers are dropped from it (Segment's rule).
DEFAULT_PRIORITIES: tuple[str, ...] = (
    USER_ID,
    EMAIL,
    PHONE,
    LOYALTY_ID,
    SHOPIFY_CUSTOMER_ID,
    TIKTOK_CUSTOMER_ID,
    AMAZON_BUYER_ID,
    SQUARE_CUSTOMER_ID,
    POS_CARD_ID,
    EMAIL_SHA256,
    PHONE_SHA256,
    CUSTOM_PREFIX,
    ORDER,
    DEVICE_ID,
    PUSH_TOKEN,
    ANONYMOUS_ID,
    RELAY_EMAIL,
)
DEFAULT_LIMITS: dict[str, int] = {USER_ID: 1, EMAIL: 5, PHONE: 5, LOYALTY_ID: 1}
DEFAULT_BLOCKED: tuple[str, ...] = (
    "null",
    "-1",
    "none",
    "nil",
    "undefined",
    "anonymous",
    "unknown",
    "n/a",
    "na",
    "test@test.com",
    "test@example.com",
    "noemail@noemail.com",
)
# The domains of addresses platforms issue in a buyer's place, forwarding (if at all) only the
# platform's own messages: one per order, per buyer and seller, or one for everybody. The one
# list; a workspace adds its own (``identity_config.relay_domains``). A subdomain counts too.
RELAY_DOMAINS: tuple[str, ...] = (
    "scs.tiktokw.us",  # TikTok Shop (US)
    "privaterelay.appleid.com",  # Sign in with Apple, Hide My Email
    "marketplace.amazon.com",  # Amazon buyer-seller messaging, per marketplace
    "marketplace.amazon.ca",
    "marketplace.amazon.com.mx",
    "marketplace.amazon.com.br",
    "marketplace.amazon.co.uk",
    "marketplace.amazon.de",
    "marketplace.amazon.fr",
    "marketplace.amazon.it",
    "marketplace.amazon.es",
    "marketplace.amazon.nl",
    "marketplace.amazon.se",
    "marketplace.amazon.pl",
    "marketplace.amazon.com.be",
    "marketplace.amazon.com.tr",
    "marketplace.amazon.ae",
    "marketplace.amazon.sa",
    "marketplace.amazon.in",
    "marketplace.amazon.co.jp",
    "marketplace.amazon.com.au",
    "marketplace.amazon.sg",
    "relay.walmart.com",  # Walmart Marketplace
    "members.ebay.com",  # eBay's masked buyer addresses
    "members.ebay.co.uk",
    "members.ebay.de",
)
# Identifiers kept on the profile of the record that carries them but never joining two
# records' profiles: one another profile holds stays there (a relay address says which
# platform, perhaps which order, not which person).
NON_LINKING_TYPES: frozenset[str] = frozenset({RELAY_EMAIL})
# Identifiers a device carries, which several people can sign in on (a store kiosk, a family
# iPad): past ``Rules.shared_after`` distinct user ids one is shared (``graph.shared``).
SHAREABLE_TYPES: frozenset[str] = frozenset({ANONYMOUS_ID, DEVICE_ID})
# Three: two people on one device (a couple's iPad, a returned phone) is common and their
# conflict is worth a person's look; a third sign-in is a kiosk or a family device.
DEFAULT_SHARED_AFTER = 3
_ZEROS = re.compile(r"^[0\-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

# context.externalIds types, as different senders spell them.
_EXTERNAL_ALIASES: dict[str, str] = {
    "shopify_customer_id": SHOPIFY_CUSTOMER_ID,
    "shopify_customer": SHOPIFY_CUSTOMER_ID,
    "tiktok_customer_id": TIKTOK_CUSTOMER_ID,
    "tiktok_shop_customer_id": TIKTOK_CUSTOMER_ID,
    "tiktok_buyer_id": TIKTOK_CUSTOMER_ID,
    "tiktok_shop_buyer_id": TIKTOK_CUSTOMER_ID,
    "amazon_customer_id": AMAZON_BUYER_ID,
    "amazon_buyer_id": AMAZON_BUYER_ID,
    "square_customer_id": SQUARE_CUSTOMER_ID,
    "loyalty_id": LOYALTY_ID,
    "loyalty": LOYALTY_ID,
    "loyalty_card": LOYALTY_ID,
    "pos_card_id": POS_CARD_ID,
    "card_fingerprint": POS_CARD_ID,
    "email": EMAIL,
    "relay_email": RELAY_EMAIL,
    "phone": PHONE,
    "email_sha256": EMAIL_SHA256,
    "hashed_email": EMAIL_SHA256,
    "sha256_email": EMAIL_SHA256,
    "phone_sha256": PHONE_SHA256,
    "hashed_phone": PHONE_SHA256,
    "sha256_phone": PHONE_SHA256,
    "device_id": DEVICE_ID,
    "push_token": PUSH_TOKEN,
    "user_id": USER_ID,
}
_LOYALTY_TRAITS = ("loyalty_id", "loyaltyId", "loyalty_number", "loyaltyNumber")
MAX_VALUE_LENGTH = 320


@dataclass(frozen=True, order=True)
class Ident:
    """One identifier as read from a record: its type, normalised value and raw value."""

    type: str
    value: str
    raw: str = field(compare=False)
    # (type, value), built once: the stitch planner looks it up several times per record.
    key: tuple[str, str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.type, self.value))


@dataclass(frozen=True)
class Rules:
    """A workspace's identity rules: blocked values, per-type limits and type priorities."""

    blocked: frozenset[str] = frozenset(DEFAULT_BLOCKED)
    limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    priorities: tuple[str, ...] = DEFAULT_PRIORITIES
    region: str = "US"
    shared_after: int = DEFAULT_SHARED_AFTER
    relay_domains: frozenset[str] = frozenset(RELAY_DOMAINS)

    def rank(self, type_: str) -> int:
        """Position of a type in the priority list (lower is kept first)."""
        name = CUSTOM_PREFIX if type_.startswith(CUSTOM_PREFIX) else type_
        try:
            return self.priorities.index(name)
        except ValueError:
            return len(self.priorities)

    def limit(self, type_: str) -> int | None:
        return self.limits.get(type_)

    def is_blocked(self, value: str) -> bool:
        return value.lower() in self.blocked or bool(_ZEROS.match(value))

    def is_relay(self, email: str) -> bool:
        """Whether an email's domain (or a domain above it) issues relay addresses."""
        domain = email.rpartition("@")[2].strip().lower().rstrip(".")
        while domain:
            if domain in self.relay_domains:
                return True
            domain = domain.partition(".")[2]
        return False


@dataclass(frozen=True)
class IdentityRecord:
    """What one event or order says about who it is: identifiers, traits, when and where."""

    ref: str  # the message id
    occurred_at: datetime
    idents: tuple[Ident, ...]
    traits: Mapping[str, Any] = field(default_factory=dict)
    channel: str | None = None
    # An alias call's previousId (a user id or an anonymous id): whose history joins this
    # record's user id, through the graph's merge after the stitch (``aliases``).
    previous_id: str | None = None


def suppression_digest(salt: str, ident: Ident) -> str:
    """The salted hash an erased identifier is remembered by (HMAC-SHA256 of ``type:value``)."""
    message = f"{ident.type}:{ident.value}".encode()
    return hmac.new(salt.encode(), message, hashlib.sha256).hexdigest()


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalise(type_: str, raw: object, rules: Rules) -> list[Ident]:
    """The identifiers one raw value yields: none (blocked or invalid), or one plus derivations.

    An email also yields its ``email_sha256``; a phone its ``phone_sha256``. An email at a
    relay domain, or one its sender calls a ``relay_email``, yields one ``relay_email`` and
    nothing else (no hash: it stands for nobody an ad platform could find).
    """
    if raw is None or isinstance(raw, bool | dict | list):
        return []
    text = str(raw).strip()
    if not text or len(text) > MAX_VALUE_LENGTH or rules.is_blocked(text):
        return []
    shown = text[:500]
    if type_ in (EMAIL, RELAY_EMAIL):
        email = text.lower()
        if not _EMAIL.match(email) or rules.is_blocked(email):
            return []
        if type_ == RELAY_EMAIL or rules.is_relay(email):
            return [Ident(RELAY_EMAIL, email, shown)]
        return [Ident(EMAIL, email, shown), Ident(EMAIL_SHA256, sha256_hex(email), shown)]
    if type_ == PHONE:
        e164 = normalise_phone(text, rules.region)
        if e164 is None or rules.is_blocked(e164):
            return []
        return [Ident(PHONE, e164, shown), Ident(PHONE_SHA256, sha256_hex(e164[1:]), shown)]
    if type_ in (EMAIL_SHA256, PHONE_SHA256):
        digest = text.lower()
        return [Ident(type_, digest, shown)] if _HEX64.match(digest) else []
    return [Ident(type_, text, shown)]


def normalise_phone(text: str, region: str) -> str | None:
    """E.164 for a phone number written any common way, or None when it cannot be placed."""
    try:
        number = phonenumbers.parse(text, region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def external_type(name: object) -> str | None:
    """Our type for a ``context.externalIds`` type, or ``custom:<name>``."""
    if not isinstance(name, str) or not name.strip():
        return None
    key = name.strip().lower()
    return _EXTERNAL_ALIASES.get(key) or f"{CUSTOM_PREFIX}{key[:50]}"


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def message_traits(message: Mapping[str, Any]) -> dict[str, Any]:
    """The traits a message states about its person: identify traits, else context.traits."""
    context = _dict(message.get("context"))
    traits = dict(_dict(context.get("traits")))
    if message.get("type") == "identify":
        traits.update(_dict(message.get("traits")))
    return traits


def extract(message: Mapping[str, Any], rules: Rules) -> list[Ident]:
    """Every identifier a Segment-shaped message carries, deduplicated, highest priority first."""
    found: list[Ident] = []

    def add(type_: str, raw: object) -> None:
        found.extend(normalise(type_, raw, rules))

    add(USER_ID, message.get("userId"))
    add(ANONYMOUS_ID, message.get("anonymousId"))
    traits = message_traits(message)
    add(EMAIL, traits.get("email"))
    add(PHONE, traits.get("phone"))
    for name in _LOYALTY_TRAITS:
        add(LOYALTY_ID, traits.get(name))
    context = _dict(message.get("context"))
    device = _dict(context.get("device"))
    add(DEVICE_ID, device.get("id"))
    add(PUSH_TOKEN, device.get("token"))
    external = context.get("externalIds")
    if isinstance(external, list):
        for item in external[:50]:
            if isinstance(item, dict):
                type_ = external_type(item.get("type"))
                if type_:
                    add(type_, item.get("id"))
    message_id = message.get("messageId")
    if isinstance(message_id, str) and message_id.startswith("order:"):
        add(ORDER, message_id.split(":")[1])
    return order_by_priority(found, rules)


def order_by_priority(idents: Iterable[Ident], rules: Rules) -> list[Ident]:
    """Deduplicated, highest priority first; identifiers that never link come last, whatever
    the workspace's priorities, so a record's profile is always fixed by one that can."""
    unique = {i.key: i for i in idents}
    return sorted(
        unique.values(),
        key=lambda i: (i.type in NON_LINKING_TYPES, rules.rank(i.type), i.type, i.value),
    )


def parse_query(text: str, rules: Rules) -> list[Ident]:
    """The identifiers a person typed into a search box might mean (email, phone, any id)."""
    text = text.strip()
    if not text:
        return []
    if "@" in text:
        return normalise(EMAIL, text, rules)[:1]
    idents: list[Ident] = []
    if sum(c.isdigit() for c in text) >= 7:
        idents.extend(normalise(PHONE, text, rules)[:1])
    for type_ in (
        USER_ID,
        LOYALTY_ID,
        POS_CARD_ID,
        SHOPIFY_CUSTOMER_ID,
        TIKTOK_CUSTOMER_ID,
        AMAZON_BUYER_ID,
        SQUARE_CUSTOMER_ID,
        ANONYMOUS_ID,
    ):
        idents.extend(normalise(type_, text, rules))
    return idents


# The profile columns the clerk's search reads (``customer.profiles``), each a pure function of
# the profile's traits written with them by every writer (stitch, merge, unmerge); an index on
# each makes every probe a range. Names are folded without honorifics (``kit.names``);
# "surname given" lets a surname, or "Last First", be typed first.
SEARCH_COLUMNS = ("name_key", "surname_key", "email_key", "email_domain", "phone_key")
SEARCH_KEY_LENGTH = 200
MIN_PHONE_DIGITS = 6  # fewer national digits than any country's numbers have: not a phone


def person_name(traits: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(given words, family words) of a profile's name, folded, honorifics left out: from
    first and last name, else from ``name`` (its last word the family name)."""
    first = traits.get("first_name") or traits.get("firstName")
    last = traits.get("last_name") or traits.get("lastName")
    if isinstance(first, str) or isinstance(last, str):
        given = name_words(first) if isinstance(first, str) else ()
        family = name_words(last) if isinstance(last, str) else ()
        return given, family
    name = traits.get("name")
    words = name_words(name) if isinstance(name, str) else ()
    return words[:-1], words[-1:]


def search_keys(traits: Mapping[str, Any], region: str) -> dict[str, str | None]:
    """The ``SEARCH_COLUMNS`` of a profile with these traits, in a workspace of ``region``.

    ``name_key`` is "given family", ``surname_key`` "family given"; ``email_key`` the email
    trimmed and lower-cased (its prefixes are the local part's), ``email_domain`` what follows
    its "@"; ``phone_key`` the phone's national digits (``kit.phones``). None where unknown.
    """
    given, family = person_name(traits)
    keys: dict[str, str | None] = {
        "name_key": " ".join(given + family)[:SEARCH_KEY_LENGTH] or None,
        "surname_key": " ".join(family + given)[:SEARCH_KEY_LENGTH] if family else None,
        "email_key": None,
        "email_domain": None,
        "phone_key": None,
    }
    email = traits.get("email")
    if isinstance(email, str):
        address = email.strip().lower()
        if _EMAIL.match(address) and len(address) <= MAX_VALUE_LENGTH:
            keys["email_key"] = address
            keys["email_domain"] = address.rpartition("@")[2][:SEARCH_KEY_LENGTH]
    phone = traits.get("phone")
    if isinstance(phone, str | int) and not isinstance(phone, bool):
        digits = national_digits(str(phone), region)
        keys["phone_key"] = digits if len(digits) >= MIN_PHONE_DIGITS else None
    return keys


def record_from_message(
    message: Mapping[str, Any], occurred_at: datetime, channel: str | None, rules: Rules
) -> IdentityRecord | None:
    """The identity record of one stored message, or None when it carries no identifier."""
    idents = extract(message, rules)
    if not idents:
        return None
    traits = {
        k: v
        for k, v in message_traits(message).items()
        if isinstance(v, str | int | float | bool) or v is None or isinstance(v, dict)
    }
    email = traits.get("email")
    if isinstance(email, str) and rules.is_relay(email):
        traits[RELAY_EMAIL] = traits.pop("email")  # the profile's email stays a real one
    return IdentityRecord(
        ref=str(message.get("messageId") or ""),
        occurred_at=occurred_at,
        idents=tuple(idents),
        traits=traits,
        channel=channel,
        previous_id=alias_previous_id(message, rules),
    )


def alias_previous_id(message: Mapping[str, Any], rules: Rules) -> str | None:
    """The previousId of an alias call, trimmed, or None (not an alias, or a blocked value)."""
    if message.get("type") != "alias":
        return None
    found = normalise(USER_ID, message.get("previousId"), rules)
    return found[0].value if found else None


def all_keys(records: Sequence[IdentityRecord]) -> set[tuple[str, str]]:
    return {i.key for r in records for i in r.idents}


def record_to_json(record: IdentityRecord) -> dict[str, Any]:
    """A record as a job payload carries it (``record_from_json`` reads it back)."""
    data = {
        "ref": record.ref,
        "at": record.occurred_at.isoformat(),
        "channel": record.channel,
        "ids": [[i.type, i.value, i.raw] for i in record.idents],
        "traits": dict(record.traits),
    }
    if record.previous_id is not None:
        data["previous_id"] = record.previous_id
    return data


def record_from_json(data: Mapping[str, Any]) -> IdentityRecord:
    """The record ``record_to_json`` wrote."""
    return IdentityRecord(
        ref=str(data["ref"]),
        occurred_at=datetime.fromisoformat(data["at"]),
        idents=tuple(Ident(t, v, r) for t, v, r in data["ids"]),
        traits=dict(data.get("traits") or {}),
        channel=data.get("channel"),
        previous_id=data.get("previous_id"),
    )
