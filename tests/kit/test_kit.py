"""ids, money and cursors."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.kit.errors import InvalidInput
from tessera.kit.ids import has_prefix, new_id
from tessera.kit.money import Money
from tessera.kit.pagination import decode_cursor, encode_cursor


def test_ids_carry_their_prefix_and_sort_by_creation() -> None:
    """Ids made later sort after ids made earlier, and say what they name."""
    ids = [new_id("cus") for _ in range(50)]

    assert ids == sorted(ids)
    assert all(has_prefix(i, "cus") for i in ids)
    assert not has_prefix(ids[0], "ord")


@pytest.mark.parametrize("prefix", ["", "C", "toolongprefix", "a1"])
def test_a_bad_id_prefix_is_refused(prefix: str) -> None:
    """Prefixes are 2 to 6 lowercase letters."""
    with pytest.raises(ValueError, match="prefix"):
        new_id(prefix)


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


@given(st.text(min_size=1, max_size=40).map(lambda s: "key_" + s))
def test_cursors_round_trip(last_id: str) -> None:
    """A cursor decodes to the id it was made from."""
    assert decode_cursor(encode_cursor(last_id)) == last_id


@pytest.mark.parametrize("cursor", ["%%%", "bm90LWFuLWlk", "////"])
def test_a_forged_cursor_is_invalid_input(cursor: str) -> None:
    """A cursor this API did not make is a 422 naming the cursor field."""
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(cursor)

    assert caught.value.extensions == {"field": "cursor"}
