"""Properties every score must have, checked on generated records."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.identity.match.engine import (
    MatchIndex,
    Record,
    RecordTable,
    customer_settings,
    score_pair,
    score_pairs,
)
from tests.identity.match.engine.factories import chosen_model

MODEL = replace(
    chosen_model(customer_settings()),
    term_frequencies={
        "first_name": {"william": 0.2, "bill": 0.01, "margaret": 0.05},
        "last_name": {"smith": 0.3, "lee": 0.02},
        "city": {"london": 0.5, "leeds": 0.1},
    },
)
FIELDS = MODEL.settings.fields


def _value(choices: list[str]) -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(), st.sampled_from(choices), st.text(alphabet="abeilmnorst", max_size=8)
    )


_FIRST = _value(["william", "bill", "will", "margaret", "peggy", "mary", "maria"])
_LAST = _value(["smith", "smyth", "smithe", "lee", "leigh", "jones"])
_EMAIL = _value(["b@x.com", "bb@x.com", "m.lee@y.org", "mlee@y.org"])
_PHONE = _value(["+447700900001", "+447700900010", "+447700900002"])
_POSTCODE = _value(["m1 1ae", "m1 1af", "m1 2zz", "ls1 4ap", "sw1a 1aa"])
_CITY = _value(["london", "leeds", "manchester", "manchster"])
_ADDRESS = _value(["1 high street", "high street 1", "2 mill lane"])


@st.composite
def customers(draw: st.DrawFn, record_id: str) -> Record:
    return Record(
        record_id,
        {
            "first_name": draw(_FIRST),
            "last_name": draw(_LAST),
            "email": draw(_EMAIL),
            "phone": draw(_PHONE),
            "postcode": draw(_POSTCODE),
            "city": draw(_CITY),
            "address_line": draw(_ADDRESS),
        },
    )


@settings(max_examples=150, deadline=None)
@given(customers("a"), customers("b"))
def test_scores_are_symmetric(left: Record, right: Record):
    """Scoring a against b gives what b against a gives, field by field."""
    forward = score_pair(MODEL, left, right)
    backward = score_pair(MODEL, right, left)

    assert forward.match_weight == pytest.approx(backward.match_weight)
    assert [(e.level, e.weight) for e in forward.evidence] == [
        (e.level, e.weight) for e in backward.evidence
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(customers("x"), min_size=2, max_size=12))
def test_batch_scores_equal_one_pair_at_a_time(records: list[Record]):
    """Vectorised scoring of all pairs equals scoring each pair on its own."""
    rows = [Record(f"r{i}", r.fields) for i, r in enumerate(records)]
    table = RecordTable.from_records(rows, FIELDS)
    left, right = np.triu_indices(len(rows), 1)

    batch = score_pairs(MODEL, table, left.astype(np.int64), right.astype(np.int64))

    one_by_one = [
        score_pair(MODEL, rows[a], rows[b]).match_weight for a, b in zip(left, right, strict=True)
    ]
    assert batch.match_weight.tolist() == pytest.approx(one_by_one)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(customers("old"), st.lists(customers("x"), max_size=8), customers("new"))
def test_adding_unrelated_records_never_changes_an_existing_pairs_score(
    existing: Record, others: list[Record], new: Record
):
    """The new record's score against the existing profile is the same before and after
    other profiles join the index (and equals the direct score)."""
    new = Record("new", {**new.fields, "email": "shared@x.com"})
    existing = Record("old", {**existing.fields, "email": "shared@x.com"})
    index = MatchIndex.build(MODEL, [existing], ["cus_old"])
    before = index.match(new).best

    for number, other in enumerate(others):
        index.add(Record(f"x{number}", other.fields), f"cus_x{number}")
    after = {c.profile_id: c for c in index.match(new, limit=100).candidates}["cus_old"]

    assert before is not None
    assert after.match_weight == before.match_weight
    assert after.evidence == before.evidence
    assert after.match_weight == pytest.approx(score_pair(MODEL, new, existing).match_weight)
