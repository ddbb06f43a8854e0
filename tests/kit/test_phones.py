"""A phone's national digits: what every way of writing one number shares."""

from __future__ import annotations

import pytest

from tessera.kit.phones import looks_like_phone, national_digits


@pytest.mark.parametrize(
    ("typed", "region", "digits"),
    [
        ("+44 20 7946 0958", "US", "2079460958"),
        ("020 7946 0958", "GB", "2079460958"),
        ("020 7946 0958", "US", "2079460958"),
        ("0207-946-0958", "GB", "2079460958"),
        ("0044 20 7946 0958", "GB", "2079460958"),
        ("+44 (0)20 7946 0958", "GB", "2079460958"),
        ("(415) 555-0134", "US", "4155550134"),
        ("1-415-555-0134", "US", "4155550134"),
        ("011 44 20 7946 0958", "US", "2079460958"),
        ("+1 415 555 0134", "GB", "4155550134"),
        ("+39 06 6982 1234", "IT", "669821234"),
        ("06 6982 1234", "IT", "669821234"),
        ("", "US", ""),
    ],
)
def test_every_way_of_writing_a_number_gives_its_national_digits(
    typed: str, region: str, digits: str
) -> None:
    """International, national with its trunk zero, dashed, 00 and 011 prefixes, a North
    American 1 in front: one set of digits per number."""
    assert national_digits(typed, region) == digits


def test_only_digits_and_phone_punctuation_look_like_a_phone() -> None:
    """ "+44 (0)20 7946-0958" does; a name, an email or nothing does not."""
    assert [looks_like_phone(t) for t in ("+44 (0)20 7946-0958", "415.555.0134", "ana", "",
                                          "a@b.co", "12 main st")] == [
        True, True, False, False, False, False,
    ]  # fmt: skip
