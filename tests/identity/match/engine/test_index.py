"""Incremental matching: one new record against existing profiles, with stable profile ids."""

from __future__ import annotations

import pytest

from tessera.identity.match.engine import (
    Decision,
    MatchIndex,
    MatchModel,
    RecordTable,
    customer_settings,
    score_pair,
)
from tests.identity.match.engine.factories import chosen_model, customer, weight

ANNA = customer(
    "a1",
    first_name="Margaret",
    last_name="Lee",
    email="maggie.lee@example.com",
    phone="+447700900001",
    postcode="SW1A 1AA",
    city="London",
    address_line="10 Downing Street",
)
WILLIAM = customer(
    "w1",
    first_name="William",
    last_name="Smith",
    email="will.smith@example.com",
    phone="+447700900002",
    postcode="M1 1AE",
    city="Manchester",
    address_line="1 Piccadilly",
)
OTHER_WILLIAM = customer(
    "w2",
    first_name="William",
    last_name="Smith",
    email="bill1972@example.org",
    phone="+447700900003",
    postcode="LS1 4AP",
    city="Leeds",
    address_line="5 Park Row",
)


@pytest.fixture
def model() -> MatchModel:
    return chosen_model(customer_settings())


@pytest.fixture
def index(model: MatchModel) -> MatchIndex:
    return MatchIndex.build(model, [ANNA, WILLIAM, OTHER_WILLIAM], ["cus_a", "cus_w", "cus_o"])


def test_a_pos_guest_with_only_name_and_postcode_finds_the_profile_with_evidence(
    index: MatchIndex,
):
    """Bill Smith of M1 1AE is the Manchester William: nickname, surname and postcode agree."""
    guest = customer("pos1", first_name="Bill", last_name="smith", postcode="m1 1ae")

    result = index.match(guest)

    assert result.best is not None
    assert result.best.profile_id == "cus_w"
    assert result.best.record_id == "w1"
    assert result.decision == Decision.MERGE
    assert [(e.comparison, e.left, e.right, e.level) for e in result.best.evidence] == [
        ("first_name", "bill", "william", "nickname"),
        ("last_name", "smith", "smith", "exact"),
        ("email", None, "will.smith@example.com", "missing"),
        ("phone", None, "+447700900002", "missing"),
        ("postcode", "m1 1ae", "m1 1ae", "exact"),
        ("city", None, "manchester", "missing"),
        ("address_line", None, "1 piccadilly", "missing"),
    ]
    expected = weight(1e-3, 1 - 1e-3) + weight(0.15 / 4, 0.01) + weight(0.8, 0.001) * 2
    assert result.best.match_weight == pytest.approx(expected)
    assert [e.weight for e in result.best.evidence] == pytest.approx(
        [weight(0.15 / 4, 0.01), weight(0.8, 0.001), 0, 0, weight(0.8, 0.001), 0, 0]
    )


def test_the_other_profile_of_the_same_name_ranks_below(index: MatchIndex):
    """The Leeds William shares the name but not the postcode: a candidate, not a merge."""
    guest = customer("pos1", first_name="Bill", last_name="smith", postcode="m1 1ae")

    result = index.match(guest)

    assert [(c.profile_id, c.decision) for c in result.candidates] == [
        ("cus_w", Decision.MERGE),
        ("cus_o", Decision.DISTINCT),
    ]
    assert result.compared == 2


def test_a_record_added_to_a_profile_keeps_its_id_and_is_found_through_it(index: MatchIndex):
    """The guest joins cus_w; a later order carrying only the guest's new email finds cus_w."""
    guest = customer(
        "pos1", first_name="Bill", last_name="Smith", postcode="M1 1AE", email="bs@shop.example"
    )
    index.add(guest, index.match(guest).best.profile_id)  # type: ignore[union-attr]
    order = customer("amz1", first_name="B", last_name="Smith", email="bs@shop.example")

    result = index.match(order)

    assert index.records_of("cus_w") == ("w1", "pos1")
    assert index.profile_of("pos1") == "cus_w"
    assert result.best is not None
    assert (result.best.profile_id, result.best.record_id) == ("cus_w", "pos1")


def test_a_stranger_matches_no_one(index: MatchIndex):
    """A record sharing no blocking key with anyone is compared with no one."""
    result = index.match(customer("new", first_name="Zed", last_name="Quinn", postcode="ZE1 0AA"))

    assert result.candidates == ()
    assert result.compared == 0
    assert result.decision == Decision.DISTINCT


def test_matching_changes_nothing_in_the_index(index: MatchIndex):
    """match() is a read: sizes and profiles are the same afterwards."""
    index.match(customer("pos1", first_name="Bill", last_name="Smith", postcode="M1 1AE"))

    assert len(index) == 3
    assert "pos1" not in index
    assert index.records_of("cus_w") == ("w1",)


def test_a_removed_record_is_never_matched_again(index: MatchIndex):
    """After erasure the record is gone from matching, and its profile lookups refuse it."""
    index.remove("w1")

    result = index.match(customer("pos1", first_name="Bill", last_name="Smith", postcode="M1 1AE"))

    assert [c.profile_id for c in result.candidates] == ["cus_o"]
    assert len(index) == 2
    with pytest.raises(KeyError, match="removed"):
        index.profile_of("w1")


def test_profiles_merged_or_split_elsewhere_are_mirrored(index: MatchIndex):
    """merge_profiles moves every record; assign moves one back (an undone merge)."""
    index.merge_profiles("cus_o", "cus_w")

    assert index.records_of("cus_w") == ("w1", "w2")
    assert index.records_of("cus_o") == ()

    index.assign("w2", "cus_o")

    assert index.records_of("cus_w") == ("w1",)
    assert index.profile_of("w2") == "cus_o"


def test_the_index_scores_as_a_direct_comparison_does(index: MatchIndex, model: MatchModel):
    """The incremental path and score_pair agree on weight, probability and evidence."""
    guest = customer("pos1", first_name="Wiliam", last_name="Smyth", postcode="LS1 4AQ")

    best = index.match(guest).best
    direct = score_pair(model, guest, OTHER_WILLIAM)

    assert best is not None
    assert best.record_id == "w2"
    assert best.match_weight == pytest.approx(direct.match_weight)
    assert best.probability == pytest.approx(direct.probability)
    assert best.evidence == direct.evidence


def test_an_index_refuses_duplicate_ids_mismatched_profiles_and_sources(model: MatchModel):
    """Every record once, one profile id per record, and one set of profiles (no sources)."""
    index = MatchIndex.build(model, [ANNA], ["cus_a"])

    with pytest.raises(ValueError, match="twice"):
        index.add(ANNA, "cus_a")
    with pytest.raises(ValueError, match="2 profile ids for 1 records"):
        MatchIndex.build(model, [ANNA], ["cus_a", "cus_b"])
    with pytest.raises(ValueError, match="no sources"):
        MatchIndex(
            model,
            RecordTable.from_records([ANNA], model.settings.fields, sources=["web"]),
            ["cus_a"],
        )
