"""The part of a phone number every way of writing it shares, for search.

"+44 20 7946 0958", "020 7946 0958", "0207-946-0958" and "0044 20 7946 0958" are one number:
its national significant number, 2079460958, is what they have in common. ``national_digits``
finds it without parsing the number (a full ``phonenumbers.parse`` costs ~0.1 ms, too much for
every profile a bulk stitch writes): the country code of an international form is read off its
first digits (country codes are prefix-free), and a national form loses its trunk prefix (the
leading zeros; a leading 1 in the North American plan). Leading zeros go in every form, so the
numbers that keep one in E.164 (Italy's) meet too. The graph's identifiers stay E.164 under
the workspace's region (``identity.graph.identifiers``); this is the key a clerk's typing
meets when the number is written another way, or belongs to another country.
"""

from __future__ import annotations

import re

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, country_code_for_region

_PHONE_CHARACTERS = frozenset("0123456789+ ()-./")
_NOT_DIGITS = re.compile(r"[^0-9]+")
_NORTH_AMERICA = 1
MAX_DIGITS = 15  # E.164's longest number


def looks_like_phone(text: str) -> bool:
    """Only digits and the punctuation people write numbers with ("+44 (0)20 7946-0958")."""
    stripped = text.strip()
    return bool(stripped) and all(c in _PHONE_CHARACTERS for c in stripped)


def national_digits(text: str, region: str) -> str:
    """The national significant number of a phone written any common way, leading zeros
    dropped; ``region`` (ISO 3166 alpha-2) is where a number without a country code is from.

    Returns whatever digits remain (perhaps none): callers decide how many make a number.
    """
    stripped = text.strip()
    digits = _NOT_DIGITS.sub("", stripped)
    home = country_code_for_region(region.upper())
    if stripped.startswith("+"):
        national = _without_country_code(digits)
    elif digits.startswith("00"):
        national = _without_country_code(digits[2:])
    elif home == _NORTH_AMERICA and digits.startswith("011"):
        national = _without_country_code(digits[3:])
    elif home == _NORTH_AMERICA and len(digits) == 11 and digits.startswith("1"):
        national = digits[1:]
    else:
        national = digits
    return national.lstrip("0")[:MAX_DIGITS]


def _without_country_code(digits: str) -> str:
    for size in (1, 2, 3):
        if digits[:size].isdigit() and int(digits[:size]) in COUNTRY_CODE_TO_REGION_CODE:
            return digits[size:]
    return digits
