"""What a payload might say about who someone is, for the erasure check (ADR 0020).

Pure. ``identifiers.extract`` reads the identifiers a message *links* (its ids, its identify
traits, its external ids); a person who was erased must also not be *stored* anywhere a
message, a refused order or a report row names them: in properties, in a track's traits, in
free text, nested, in capitals, as a national phone number or as a hash. ``mentioned`` reads
every such value, in every normalised form the identity layer knows, so its salted digests
can be looked up in the suppression list.

A value is read as what it may be: a string with an ``@`` as an email (and its SHA-256), one
with seven or more digits as a phone (and its SHA-256), 64 hex digits as either hash, and any
short value as an opaque id of each type an erased person can have held.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import phonenumbers

from tessera.identity.graph import identifiers as ids
from tessera.identity.graph.identifiers import Ident, Rules

# Opaque ids: stored as sent (trimmed), so a value anywhere may be one of them.
OPAQUE_TYPES = (
    ids.USER_ID,
    ids.ANONYMOUS_ID,
    ids.LOYALTY_ID,
    ids.POS_CARD_ID,
    ids.SHOPIFY_CUSTOMER_ID,
    ids.TIKTOK_CUSTOMER_ID,
    ids.AMAZON_BUYER_ID,
    ids.SQUARE_CUSTOMER_ID,
    ids.DEVICE_ID,
    ids.PUSH_TOKEN,
)
# A Segment message's own fields that never name a person (read by ``extract`` when they do).
ENVELOPE_KEYS = frozenset(
    {"type", "event", "messageId", "timestamp", "originalTimestamp", "sentAt", "receivedAt",
     "version", "writeKey", "integrations"}
)  # fmt: skip
MAX_LEAVES = 2_000  # a payload is read this far; the quarantine keeps 64 KB of it at most
MAX_DEPTH = 32
_EMAILS = re.compile(r"[^\s@<>()\[\]{}\"',;:]+@[^\s@<>()\[\]{}\"',;:]+\.[A-Za-z]{2,}")
_CELLS = re.compile(r"[\t\r\n,;|\"']+")
_MIN_PHONE_DIGITS = 7


def mentioned(payload: Any, rules: Rules) -> set[Ident]:
    """Every identifier ``payload`` may name: a message (dict), a list of records, or raw text
    (a body that did not parse, a report line), read as JSON when it is JSON, else by cells."""
    found: set[Ident] = set()
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", errors="replace")
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except (json.JSONDecodeError, RecursionError):
            for cell in _CELLS.split(payload):
                found.update(_value_idents(cell, rules))
            found.update(_text_idents(payload, rules))
            return found
    if isinstance(payload, Mapping):
        found.update(ids.extract(payload, rules))
    for leaf in _leaves(payload):
        found.update(_value_idents(leaf, rules))
    return found


def _leaves(payload: Any) -> Iterator[Any]:
    """The scalar values of a JSON document, the envelope of a message left out."""
    stack: list[tuple[Any, int]] = [(payload, 0)]
    seen = 0
    while stack and seen < MAX_LEAVES:
        value, depth = stack.pop()
        if isinstance(value, Mapping):
            if depth < MAX_DEPTH:
                stack.extend(
                    (item, depth + 1)
                    for key, item in value.items()
                    if not (depth == 0 and key in ENVELOPE_KEYS)
                )
        elif isinstance(value, list):
            if depth < MAX_DEPTH:
                stack.extend((item, depth + 1) for item in value)
        elif value is not None and not isinstance(value, bool):
            seen += 1
            yield value


def _value_idents(value: Any, rules: Rules) -> Iterator[Ident]:
    text = str(value).strip()
    if not text or len(text) > ids.MAX_VALUE_LENGTH:
        return
    for type_ in OPAQUE_TYPES:
        yield from ids.normalise(type_, text, rules)
    if "@" in text:
        yield from _text_idents(text, rules)
    digits = sum(c.isdigit() for c in text)
    if digits >= _MIN_PHONE_DIGITS:
        yield from ids.normalise(ids.PHONE, text, rules)
        if any(c.isalpha() for c in text):  # a number inside words: "call (415) 555-0134"
            yield from _text_idents(text, rules)
    if len(text) == 64:
        yield from ids.normalise(ids.EMAIL_SHA256, text, rules)
        yield from ids.normalise(ids.PHONE_SHA256, text, rules)


def _text_idents(text: str, rules: Rules) -> Iterator[Ident]:
    """Emails and phone numbers written inside free text."""
    for email in _EMAILS.findall(text):
        yield from ids.normalise(ids.EMAIL, email, rules)
    if sum(c.isdigit() for c in text) >= _MIN_PHONE_DIGITS:
        for match in phonenumbers.PhoneNumberMatcher(text, rules.region.upper() or None):
            yield from ids.normalise(ids.PHONE, match.raw_string, rules)
