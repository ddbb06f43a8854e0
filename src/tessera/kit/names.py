"""People's names as they are typed: one folded form, without the words that are not names.

Honorifics ("Mr", "Dr", "Sir") and suffixes ("Jr", "III", "1st", "Bt.", "baronet") travel with
names through imports and forms, but say nothing about who someone is: two records of "Sir John
Smith" and "John Smith Jr" share no more evidence than "John Smith" twice, and a clerk looking
for Mrs Dubois types "dubois". The search keys (``identity.graph.identifiers``) and the
matcher's name comparisons (``identity.match.engine``) both drop them with ``is_honorific``.

``fold`` is the form a name is searched in: accents dropped ("Zoë" -> "zoe"), case folded,
apostrophes joined ("O'Brien" -> "obrien") and any other punctuation a space, so what a clerk
types on any keyboard meets what a platform stored.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Titles before a name and suffixes after it, lower-case without their full stop. Single
# letters stay (an initial is a name), and so do words that are also common given names.
HONORIFICS = frozenset(
    {
        # titles
        "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "lord", "lady", "rev",
        "revd", "hon",
        # suffixes: generations, baronets, orders and degrees
        "jr", "jnr", "junior", "sr", "snr", "senior", "ii", "iii", "iv", "bt", "bart",
        "baronet", "esq", "phd", "kbe", "obe", "mbe", "cbe", "qc", "kc",
    }
)  # fmt: skip
_ORDINAL = re.compile(r"^\d+(st|nd|rd|th)$")  # "1st" baronet, "3rd" earl
_SURROUNDING = ".,;:()[]'\""
_APOSTROPHES = str.maketrans("", "", "'\u2019\u02bc`")
_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")


def is_honorific(word: str) -> bool:
    """Whether one word of a name is a title or suffix ("Dr.", "jr", "(IV)", "1st")."""
    core = word.strip(_SURROUNDING).casefold()
    return core in HONORIFICS or bool(_ORDINAL.match(core))


def without_honorifics(text: str) -> str:
    """The words of ``text`` that are names, as they were written ("sir john smith bt." ->
    "john smith"); empty when none is."""
    return " ".join(word for word in text.split() if not is_honorific(word))


def fold(text: str) -> str:
    """The searched form of a name: accents dropped, case folded, apostrophes joined, other
    punctuation a space, single-spaced ("  Zoë O'Brien-Smith " -> "zoe obrien smith")."""
    joined = text.translate(_APOSTROPHES)
    if joined.isascii():  # most names: nothing to decompose
        return " ".join(_NOT_ALPHANUMERIC.sub(" ", joined.lower()).split())
    decomposed = unicodedata.normalize("NFKD", joined)
    letters = "".join(c if c.isalnum() else " " for c in decomposed if not unicodedata.combining(c))
    return " ".join(letters.casefold().split())


@lru_cache(maxsize=1 << 16)
def name_words(text: str) -> tuple[str, ...]:
    """The folded words of a name without its honorifics and suffixes (cached: a bulk stitch
    meets the same given names and surnames again and again)."""
    return tuple(word for word in fold(text).split() if not is_honorific(word))
