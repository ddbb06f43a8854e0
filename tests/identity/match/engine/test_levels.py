"""Comparison levels: which level a pair of values falls into, per kind of field."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.identity.match.engine import (
    Comparison,
    DateTransposed,
    DateWithin,
    Exact,
    FullDates,
    JaroWinkler,
    Levenshtein,
    Nickname,
    Phonetic,
    Postcode,
    Prefix,
    TokenSet,
    date_comparison,
    edit_distance_comparison,
    email_comparison,
    name_comparison,
    postcode_comparison,
    text_comparison,
)
from tests.identity.match.engine.factories import levels_of


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ("william", "William ", "exact"),
        ("bill", "william", "nickname"),
        ("peggy", "margaret", "nickname"),
        ("jonathon", "jonathan", "jaro_winkler>=0.92"),
        ("catherine", "kathryn", "metaphone"),
        ("marianne", "mariam", "jaro_winkler>=0.8"),
        ("william", "margaret", "else"),
        (None, "william", "missing"),
    ],
)
def test_a_given_name_falls_in_its_strongest_level(left: str | None, right: str, level: str):
    """Exact beats nickname beats close spelling beats sound beats looser spelling."""
    comparison = name_comparison("first_name", nicknames=True)

    assert levels_of(comparison, [(left, right)]) == [level]


def test_surnames_without_nicknames_skip_the_nickname_level():
    """A surname comparison has no nickname level, so "bill"/"william" is just "else"."""
    comparison = name_comparison("surname")

    assert comparison.level_labels == (
        "exact",
        "jaro_winkler>=0.92",
        "metaphone",
        "jaro_winkler>=0.8",
        "else",
    )
    assert levels_of(comparison, [("bill", "william"), ("smith", "smyth")]) == [
        "else",
        "metaphone",
    ]


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ("1860-06-07", "1860-06-07", "exact"),
        ("1860-06-07", "1860-06-01", "damerau_levenshtein<=1"),
        ("1860-06-07", "1860-07-06", "day_month_swapped"),
        ("1860-06-07", "1860-06-30", "within_31_days"),
        ("1860-06-07", "1861-03-02", "within_366_days"),
        ("1860-06-07", "1868-06-17", "within_3653_days"),
        ("1860-06-07", "1760-06-17", "else"),
        ("19151111", "19151112", "damerau_levenshtein<=1"),
        ("19151111", "19151201", "within_31_days"),
        ("not a date", "1860-06-07", "else"),
        ("1860-06-07", None, "missing"),
    ],
)
def test_a_date_of_birth_matches_partially(left: str, right: str | None, level: str):
    """Typos, swapped day and month, and nearby dates each have a level; ISO or compact."""
    assert levels_of(date_comparison("dob"), [(left, right)]) == [level]


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ("1860-01-01", "1860-01-01", "within_366_days"),
        ("1860", "1860-06-07", "within_366_days"),
        ("1860-00-00", "1860", "within_366_days"),
        ("18600101", "1860-12-31", "within_366_days"),
        ("1860-01-01", "1861-01-01", "within_3653_days"),
        ("1860-01-01", "1860-01-10", "within_366_days"),
        ("1851", "1860-06-07", "within_3653_days"),
        ("1850", "1860-06-07", "else"),
        ("1860-06-07", "1860-06-07", "exact"),
        ("1860-01-02", "1860-02-01", "day_month_swapped"),
    ],
)
def test_a_date_known_to_the_year_only_agrees_at_year_precision(left: str, right: str, level: str):
    """A bare year or an import's YYYY-01-01 placeholder is never an exact date, a typo of one
    or a swap: the same year is "within a year", nine years apart "within ten"."""
    assert levels_of(date_comparison("dob"), [(left, right)]) == [level]


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ("SW1A 1AA", "sw1a 1aa", "exact"),
        ("sy5 7nt", "sy5 7nu", "damerau_levenshtein<=1"),
        ("sy5 7nt", "sy5 7pq", "postcode_sector"),
        ("sy5 7nt", "sy5 1ab", "postcode_district"),
        ("sy5 7nt", "sy1 2ab", "postcode_area"),
        ("sy5 7nt", "tf11 8ed", "else"),
        ("94107", "94103", "damerau_levenshtein<=1"),
        ("94107", "94133", "postcode_district"),
        ("4223", "4261", "postcode_district"),
        ("4223", "4561", "postcode_area"),
    ],
)
def test_a_postcode_matches_by_prefix_of_its_parts(left: str, right: str, level: str):
    """UK postcodes compare by sector, district and area; numeric ones by leading digits."""
    assert levels_of(postcode_comparison("postcode"), [(left, right)]) == [level]


def test_an_email_matches_on_a_typo_or_its_user_name_but_not_on_other_digits():
    """One typo is a level, the same user name at another domain too; other numbers are not."""
    email = email_comparison("email")

    assert levels_of(
        email,
        [
            ("ann.lee@mail.com", "ann.lee@mail.com"),
            ("ann.lee@mail.com", "ann.le@mail.com"),
            ("ann.lee@mail.com", "ann.lee@outlook.com"),
            ("ann.lee82@mail.com", "ann.lee182@mail.com"),
            ("ann.lee@mail.com", "zed@corp.org"),
        ],
    ) == ["exact", "damerau_levenshtein<=1,same_digits", "same_username", "else", "else"]


def test_an_id_comparison_counts_typos():
    """Hand-typed ids: one or two edits, else different."""
    soc_sec_id = edit_distance_comparison("soc_sec_id", distances=(1, 2))

    assert levels_of(
        soc_sec_id, [("5304218", "5304281"), ("5304218", "5304228"), ("5304218", "5304999")]
    ) == ["damerau_levenshtein<=1", "damerau_levenshtein<=1", "else"]


def test_token_set_ignores_word_order_and_extra_words_but_not_numbers():
    """Full names and address lines agree however their words are ordered; house numbers
    must agree."""
    comparison = text_comparison("address_line", token_set=(0.9,))

    assert levels_of(
        comparison,
        [
            ("william whitehead watts", "watts william"),
            ("12 high street", "high street 12"),
            ("12 high street", "14 high street"),
            ("12 high street", "4 mill lane"),
        ],
    ) == ["token_set>=0.9,same_digits", "token_set>=0.9,same_digits", "else", "else"]


def test_levels_are_tested_once_per_distinct_pair_and_agree_with_each_other():
    """Many pairs repeating few values get the same levels as the pairs one by one."""
    comparison = name_comparison("first_name", nicknames=True)
    pairs = [("bill", "william"), ("clare", "claire"), ("bill", "william"), (None, "ann")] * 50

    assert levels_of(comparison, pairs) == [levels_of(comparison, [pair])[0] for pair in pairs]


def test_a_comparison_needs_a_level():
    """A comparison without levels could never tell pairs apart."""
    with pytest.raises(ValueError, match="at least one level"):
        Comparison("email", ())


_DATES = ["1860-06-07", "1860", "1860-01-01", "1861-01-01", "1860-07-06"]
_VALUES = st.one_of(
    st.none(),
    st.sampled_from(["bill", "william", "will", "smith", "smyth", "sy5 7nt", *_DATES]),
    st.text(alphabet="abcxyz 0123-", min_size=1, max_size=10),
)
_EVERY_LEVEL = Comparison(
    "field",
    (
        Exact(),
        Nickname(),
        JaroWinkler(0.9),
        Levenshtein(2, damerau=True),
        Phonetic("nysiis"),
        Phonetic("soundex"),
        Prefix(2),
        Postcode("district"),
        DateWithin(400),
        FullDates(Exact()),
        DateTransposed(),
        DateWithin(3653),
        TokenSet(0.8),
    ),
)


@settings(max_examples=200, deadline=None)
@given(_VALUES, _VALUES)
def test_every_level_is_symmetric(left: str | None, right: str | None):
    """Swapping the two values never changes their level."""
    assert levels_of(_EVERY_LEVEL, [(left, right)]) == levels_of(_EVERY_LEVEL, [(right, left)])
