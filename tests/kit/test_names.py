"""Names as typed: one folded form, honorifics and suffixes left out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.kit.names import fold, is_honorific, name_words, without_honorifics


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("  Zoë  O'Brien-Smith ", ["zoe", "obrien", "smith"]),
        ("Sir John Smith, Bt.", ["john", "smith"]),
        ("Dr. Ravi Moreau Jr.", ["ravi", "moreau"]),
        ("william henry watts 1st baronet", ["william", "henry", "watts"]),
        ("jean (iv) morrow", ["jean", "morrow"]),
        ("MRS. ÉLODIE DUBOIS", ["elodie", "dubois"]),
        ("Straße", ["strasse"]),
        ("Mr", []),
        ("J. R. R. Tolkien III", ["j", "r", "r", "tolkien"]),
    ],
)
def test_a_name_becomes_its_folded_words_without_titles(typed: str, words: list[str]) -> None:
    """Accents, case and punctuation fold away; titles, generations and baronetcies go."""
    assert list(name_words(typed)) == words


def test_honorifics_are_recognised_with_their_punctuation() -> None:
    """ "Dr.", "(IV)", "3rd" are honorifics or suffixes; an initial or a name is not."""
    assert [is_honorific(w) for w in ("Dr.", "(IV)", "3rd", "bt.", "v", "drew", "ivy")] == [
        True, True, True, True, False, False, False,
    ]  # fmt: skip
    assert without_honorifics("sir john smith bt.") == "john smith"
    assert without_honorifics("sir") == ""


@given(st.text())
def test_folding_is_idempotent_and_leaves_no_double_space(text: str) -> None:
    """Folding a folded name changes nothing; words are single-spaced, never padded."""
    once = fold(text)

    assert fold(once) == once
    assert once == " ".join(once.split())
