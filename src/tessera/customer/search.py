"""What a clerk typed: the search-key ranges it becomes, and how good each hit is.

Pure: text in, probes out; a hit and its profile's traits in, a rank out. ``profiles.search``
runs the probes (``repository.profiles.profiles_by_key_prefix``) beside the exact lookups.

The keys are ``identity.graph.identifiers.search_keys``' and a query is put in the same forms:
a name folded without honorifics ("Mrs Zoë Dubois" -> "zoe dubois"), probed as the start of
"given family" and of "family given", so "Dubois", "Dubois Zoe", "Dubois, Zoë" and "zoe d" all
reach her; an email lower-cased, probed as the start of the address (its local part) and of
its domain ("@example.com", "example"); a phone as its national digits, however written.

Ranks, best first: ``EXACT`` (an identifier, id or order number typed whole, or the phone's
every digit), ``FULL_NAME`` (both names, either way round), ``SURNAME`` (the family name,
all of it), ``PARTIAL`` (the start of a name, email, domain or phone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tessera.customer.repository.profiles import KeyHit
from tessera.identity.graph.identifiers import MIN_PHONE_DIGITS, person_name
from tessera.kit.names import name_words
from tessera.kit.phones import looks_like_phone, national_digits

EXACT, FULL_NAME, SURNAME, PARTIAL = range(4)
_PARTIAL = {
    "name_key": "partial_name",
    "surname_key": "partial_name",
    "email_key": "partial_email",
    "email_domain": "partial_email",
    "phone_key": "partial_phone",
}


@dataclass(frozen=True, slots=True)
class Hit:
    """One profile found, its rank, where it sorts inside the rank, and what matched."""

    tier: int
    order: tuple[Any, ...]
    profile_id: str
    matched_by: str


@dataclass(frozen=True, slots=True)
class TypedQuery:
    """A query as the search keys' forms: the name, the phone's digits, and the probes."""

    name: str
    phone: str | None
    probes: list[tuple[str, str]] = field(default_factory=list)

    def judge(self, hit: KeyHit, traits: Mapping[str, Any]) -> tuple[int, str]:
        """The rank of a profile a probe found, and what to say matched."""
        if hit.column == "phone_key":
            return (EXACT, "phone") if hit.key == self.phone else (PARTIAL, "partial_phone")
        if hit.column in ("name_key", "surname_key"):
            given, family = person_name(traits)
            both = given and family
            if both and self.name in (" ".join(given + family), " ".join(family + given)):
                return FULL_NAME, "name"
            if family and self.name == " ".join(family):
                return SURNAME, "surname"
        return PARTIAL, _PARTIAL[hit.column]


def search_probes(text: str, region: str) -> TypedQuery:
    """The ranges a query is looked up by (see the module docstring), in the order their
    partial hits are listed: an email's before a name's when the text looks like part of an
    address ("elizabeth.lind" is also the start of the name "elizabeth lind...")."""
    name = " ".join(name_words(text))
    names: list[tuple[str, str]] = []
    if "@" not in text and any(c.isalpha() for c in name):
        names = [("name_key", name), ("surname_key", name)]
    phone: str | None = None
    if looks_like_phone(text):
        digits = national_digits(text, region)
        if len(digits) >= MIN_PHONE_DIGITS:
            phone = digits
            return TypedQuery(name, phone, [*names, ("phone_key", digits)])
    email = text.strip().lower()
    emails: list[tuple[str, str]] = []
    if email and not any(c.isspace() for c in email):
        if email.startswith("@"):
            emails = [("email_domain", email[1:])] if email[1:] else []
        elif "@" in email:
            emails = [("email_key", email)]
        else:
            emails = [("email_key", email), ("email_domain", email)]
    if "@" in email or "." in email:
        return TypedQuery(name, phone, [*emails, *names])
    return TypedQuery(name, phone, [*names, *emails])
