"""Blocking: which pairs of records are compared at all."""

from __future__ import annotations

import pytest

from tessera.identity.match.engine import (
    RecordTable,
    block_on,
    candidate_pairs,
    prefix,
    transformed,
)


def _pairs(table: RecordTable, *rules, **options) -> set[tuple[str, str]]:
    found = candidate_pairs(table, rules, **options)
    return {(table.ids[a], table.ids[b]) for a, b in zip(found.left, found.right, strict=True)}


PEOPLE = RecordTable(
    ["a", "b", "c", "d", "e", "f"],
    {
        "first_name": ["william", "bill", "william", "mary", None, "mary"],
        "surname": ["watts", "watts", "wats", "smith", "watts", "smith"],
        "postcode": ["sy5 7nt", "sy5 7nt", "sy5 1ab", "m1 1ae", "sy5 7nt", None],
    },
)


def test_a_rule_pairs_records_agreeing_on_every_key_part():
    """Only records equal on every part are paired; a missing part never blocks."""
    assert _pairs(PEOPLE, block_on("first_name", "surname")) == {("d", "f")}
    assert _pairs(PEOPLE, block_on("postcode")) == {("a", "b"), ("a", "e"), ("b", "e")}


def test_rules_are_or_ed_and_each_pair_is_found_once():
    """The union of the rules' pairs, each pair once, labelled by the first rule that found it."""
    rules = (block_on("postcode"), block_on("surname"))

    found = candidate_pairs(PEOPLE, rules)

    assert [
        (PEOPLE.ids[a], PEOPLE.ids[b], int(rule))
        for a, b, rule in zip(found.left, found.right, found.rule, strict=True)
    ] == [
        ("a", "b", 0),
        ("a", "e", 0),
        ("b", "e", 0),
        ("d", "f", 1),
    ]


def test_transformed_keys_block_nicknames_sounds_and_prefixes():
    """Nickname, phonetic and prefix keys reach pairs that exact keys miss."""
    assert _pairs(PEOPLE, block_on(transformed("first_name", "nickname"), "surname")) == {
        ("a", "b"),
        ("d", "f"),
    }
    assert _pairs(PEOPLE, block_on(transformed("surname", "metaphone"), "first_name")) == {
        ("a", "c"),
        ("d", "f"),
    }
    assert _pairs(PEOPLE, block_on(prefix("postcode", 3), "first_name")) == {("a", "c")}


def test_link_only_pairs_records_from_different_sources():
    """Linking two files compares across them, never within one."""
    table = RecordTable(
        ["a1", "a2", "b1", "b2"],
        {"surname": ["watts", "watts", "watts", "smith"]},
        sources=["a", "a", "b", "b"],
    )

    assert _pairs(table, block_on("surname"), link_only=True) == {("a1", "b1"), ("a2", "b1")}
    assert _pairs(table, block_on("surname")) == {("a1", "a2"), ("a1", "b1"), ("a2", "b1")}


def test_a_block_larger_than_the_limit_is_skipped_and_counted():
    """A key shared by too many records (a store's own postcode) yields no pairs."""
    table = RecordTable(
        [f"r{i}" for i in range(7)],
        {"postcode": ["sw1a 1aa"] * 5 + ["m1 1ae"] * 2},
    )

    found = candidate_pairs(table, [block_on("postcode")], max_block_size=4)

    assert [(table.ids[a], table.ids[b]) for a, b in zip(found.left, found.right, strict=True)] == [
        ("r5", "r6")
    ]
    assert found.skipped_blocks == (1,)


def test_cost_grows_with_block_sizes_not_with_all_pairs():
    """Ten thousand records in blocks of two make five thousand pairs, not fifty million."""
    table = RecordTable(
        [f"r{i}" for i in range(10_000)], {"email": [f"p{i // 2}@x.com" for i in range(10_000)]}
    )

    found = candidate_pairs(table, [block_on("email")])

    assert len(found) == 5_000
    assert set((found.right - found.left).tolist()) == {1}


def test_link_only_needs_sources():
    """Without sources there is nothing to link across."""
    with pytest.raises(ValueError, match="sources"):
        candidate_pairs(PEOPLE, [block_on("surname")], link_only=True)
