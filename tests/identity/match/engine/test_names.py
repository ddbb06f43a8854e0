"""Honorifics and suffixes are not names: the matcher cleans them away before it blocks,
compares or counts a name, however the records reach it."""

from __future__ import annotations

import numpy as np
import pytest

from tessera.identity.match.domain import blocking_keys, fields_from_traits
from tessera.identity.match.engine import (
    Comparison,
    Exact,
    MatchIndex,
    MatchSettings,
    Record,
    RecordTable,
    block_on,
    clean_name,
    customer_settings,
    name_comparison,
    predict,
    score_pair,
)
from tests.identity.match.engine.factories import chosen_model, customer

ELIZABETH = customer("k1", first_name="Elizabeth", last_name="Okafor", postcode="10012")
ELIZABETH_TOO = customer("k2", first_name="Elizabeth", last_name="Okafor", postcode="10012")


def test_a_name_loses_titles_and_suffixes_and_a_title_alone_is_no_name() -> None:
    """ "sir john smith bt." is "john smith"; "dr." and "1st baronet" are nothing."""
    assert [clean_name(v) for v in ("sir john smith bt.", "dr.", "1st baronet", "ivy")] == [
        "john smith", None, None, "ivy",
    ]  # fmt: skip


def test_a_table_is_cleaned_once_before_blocking_and_scoring() -> None:
    """Predicting cleans the name column in place: "Sir" is missing, "sir john" is "john",
    and the two Johns block and agree exactly."""
    settings = MatchSettings(
        comparisons=(name_comparison("first_name"),), blocking=(block_on("first_name"),)
    )
    table = RecordTable(["a", "b", "c"], {"first_name": ["Sir", "sir John", "JOHN JR"]})

    pairs = predict(chosen_model(settings), table)

    column = table.columns["first_name"]
    assert [column.value_at(row) for row in range(3)] == [None, "john", "john"]
    assert (pairs.left.tolist(), pairs.right.tolist(), pairs.levels[:, 0].tolist()) == (
        [1], [2], [0],
    )  # fmt: skip


def test_a_titled_record_scores_as_the_plain_one() -> None:
    """ "Dr. Elizabeth Okafor Jr." against "Elizabeth Okafor": both names agree exactly."""
    model = chosen_model(customer_settings())
    titled = Record("t1", {"first_name": "Dr. Elizabeth", "last_name": "Okafor Jr.",
                           "postcode": "10012"})  # fmt: skip

    score = score_pair(model, titled, ELIZABETH)

    levels = {item.field: item.level for item in score.evidence}
    assert (levels["first_name"], levels["last_name"]) == ("exact", "exact")
    assert score.match_weight == pytest.approx(
        score_pair(model, ELIZABETH, ELIZABETH_TOO).match_weight
    )


def test_the_index_finds_a_profile_for_a_titled_guest_and_keys_agree() -> None:
    """A guest "Mrs Elizabeth Okafor" at the till finds Elizabeth's profile through the
    index; the database's blocking keys of both are the same."""
    index = MatchIndex.build(chosen_model(customer_settings()), [ELIZABETH], ["cus_k"])
    guest = customer("g1", first_name="Mrs Elizabeth", last_name="Okafor", postcode="10012")

    result = index.match(guest)

    assert result.best is not None and result.best.profile_id == "cus_k"
    assert {e.field: e.level for e in result.best.evidence}["first_name"] == "exact"
    assert blocking_keys(guest.fields) == blocking_keys(ELIZABETH.fields)


def test_one_field_is_cleaned_one_way() -> None:
    """Settings whose comparisons clean a field two ways, or a table cleaned once and asked
    to be cleaned another way, are refused."""
    other = Comparison("first_name", (Exact(),), name="initial", clean=str.upper)

    with pytest.raises(ValueError, match="clean 'first_name' differently"):
        MatchSettings(
            comparisons=(name_comparison("first_name"), other), blocking=(block_on("first_name"),)
        )
    table = RecordTable(["a"], {"first_name": ["sir john"]})
    table.clean({"first_name": clean_name})
    with pytest.raises(ValueError, match="cleaned another way"):
        table.clean({"first_name": str.upper})
    assert np.asarray(table.columns["first_name"].codes).tolist() == [0]


def test_a_full_name_trait_splits_after_its_titles_are_gone() -> None:
    """A profile known by ``name`` "Dr. Ravi Moreau Jr." is first name Ravi, last Moreau."""
    fields = fields_from_traits({"name": "Dr. Ravi Moreau Jr."})

    assert (fields["first_name"], fields["last_name"]) == ("Ravi", "Moreau")
