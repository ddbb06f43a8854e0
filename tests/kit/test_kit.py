"""ids, money and cursors."""

from __future__ import annotations

import time
from decimal import Decimal
from unittest.mock import patch

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ulid import ULID

from tessera.kit.errors import InvalidInput
from tessera.kit.ids import has_prefix, new_id, new_ids
from tessera.kit.money import Money
from tessera.kit.pagination import decode_cursor, encode_cursor


def test_ids_carry_their_prefix_and_sort_by_creation() -> None:
    """Ids made later sort after ids made earlier, and say what they name."""
    ids = [new_id("cus") for _ in range(50)]

    assert ids == sorted(ids)
    assert all(has_prefix(i, "cus") for i in ids)
    assert not has_prefix(ids[0], "ord")


@given(start=st.integers(min_value=0, max_value=2**79 - 1), count=st.integers(0, 40))
def test_bulk_ids_are_ulids_counting_up_from_a_random_start(start: int, count: int) -> None:
    """new_ids: valid ULIDs of this millisecond, consecutive from the random start (also
    across the 2**20 boundary where the cached stem changes), sorted and unique."""
    with patch("tessera.kit.ids.secrets.randbits", return_value=start):
        before = int(time.time() * 1000)
        ids = new_ids("idn", count)
        after = int(time.time() * 1000)
    assert len(ids) == count and ids == sorted(ids) and len(set(ids)) == count
    for n, made in enumerate(ids):
        assert has_prefix(made, "idn")
        value = int(ULID.from_str(made.partition("_")[2]))
        assert value & (2**80 - 1) == start + n
        assert before <= value >> 80 <= after


def test_bulk_ids_cross_the_cached_stem() -> None:
    """A start just below a multiple of 2**20 carries into the cached first characters."""
    start = 7 * 2**20 - 2
    with patch("tessera.kit.ids.secrets.randbits", return_value=start):
        ids = new_ids("cus", 4)
    values = [int(ULID.from_str(i[4:])) & (2**80 - 1) for i in ids]
    assert values == [start, start + 1, start + 2, start + 3]
    assert ids[1][:-4] != ids[2][:-4]


@pytest.mark.parametrize("prefix", ["", "C", "toolongprefix", "a1"])
def test_a_bad_id_prefix_is_refused(prefix: str) -> None:
    """Prefixes are 2 to 6 lowercase letters."""
    with pytest.raises(ValueError, match="prefix"):
        new_id(prefix)
    with pytest.raises(ValueError, match="prefix"):
        new_ids(prefix, 1)


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [("19.99", "USD", 1999), ("500", "JPY", 500), ("1.2345", "KWD", 1234), ("0.005", "EUR", 0)],
)
def test_money_parses_major_units_into_minor_units(value: str, currency: str, minor: int) -> None:
    """Each currency's own exponent is used; halves round to even."""
    assert Money.parse(value, currency) == Money(minor, currency)


def test_money_refuses_floats_mixed_currencies_and_bad_codes() -> None:
    """Money is integer minor units of one ISO currency."""
    with pytest.raises(TypeError):
        Money(19.99, "USD")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="currency"):
        Money(1, "usd")
    with pytest.raises(ValueError, match="cannot add"):
        Money(1, "USD") + Money(1, "EUR")


@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(["USD", "JPY", "BHD"]))
def test_money_round_trips_through_its_decimal_form(amount: int, currency: str) -> None:
    """Printing and parsing money gives back the same amount."""
    money = Money(amount, currency)

    assert Money.parse(money.to_decimal(), currency) == money
    assert Decimal(str(money).split()[0]) == money.to_decimal()


# Ids are text a database keeps: no NUL character, no lone surrogate (decode_cursor refuses
# a cursor that decodes to such text, so it never reaches a query).
@given(
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40).map(
        lambda s: "key_" + s
    )
)
def test_cursors_round_trip(last_id: str) -> None:
    """A cursor decodes to the id it was made from."""
    assert decode_cursor(encode_cursor(last_id)) == last_id


def test_a_cursor_that_decodes_to_unstorable_text_is_invalid_input() -> None:
    """A cursor made from text with a NUL is refused before it reaches a query."""
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(encode_cursor("key_\x00"))

    assert caught.value.extensions == {"field": "cursor"}


@pytest.mark.parametrize("cursor", ["%%%", "bm90LWFuLWlk", "////"])
def test_a_forged_cursor_is_invalid_input(cursor: str) -> None:
    """A cursor this API did not make is a 422 naming the cursor field."""
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(cursor)

    assert caught.value.extensions == {"field": "cursor"}
