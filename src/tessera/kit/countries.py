"""ISO 3166-1 alpha-2 country codes, one list for every place a country is named (a creator's
audience, a license's territories)."""

from __future__ import annotations

import phonenumbers

# The regions phonenumbers knows (every country with a phone plan), plus the uninhabited codes
# it lacks; XK (Kosovo) is user-assigned, not ISO, and 001 is its "non-geographic" region.
COUNTRIES: frozenset[str] = frozenset(
    (phonenumbers.SUPPORTED_REGIONS - {"XK", "001"}) | {"AQ", "BV", "GS", "HM", "PN", "TF", "UM"}
)
