"""The job system's pure rules: backoff with full jitter, failure outcomes, periodic slots,
batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tessera.job.domain import (
    ClaimedJob,
    FailureDecision,
    backoff_delay,
    decide_after_failure,
    describe_error,
    group_batches,
    is_valid_kind,
    next_claim_limit,
    periodic_idempotency_key,
    periodic_slot,
)
from tessera.models.job import JobStatus

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempts", "ceiling_seconds"),
    [(1, 15), (2, 30), (3, 60), (4, 120), (7, 960), (8, 1920), (9, 3600), (60, 3600)],
)
def test_the_backoff_ceiling_doubles_per_attempt_up_to_an_hour(
    attempts: int, ceiling_seconds: int
) -> None:
    """With the random source at its top, the delay is the ceiling: 15 s doubling, capped at 1 h."""
    delay = backoff_delay(attempts, lambda: 1.0)

    assert delay == timedelta(seconds=ceiling_seconds)


def test_full_jitter_scales_the_ceiling_by_the_random_draw() -> None:
    """The delay is the ceiling times the draw: anywhere from zero up to the ceiling."""
    assert backoff_delay(3, lambda: 0.0) == timedelta(0)
    assert backoff_delay(3, lambda: 0.25) == timedelta(seconds=15)
    assert backoff_delay(3, lambda: 0.5) == timedelta(seconds=30)


def test_backoff_refuses_attempt_zero() -> None:
    """Attempts count from one: a delay 'after attempt 0' is a caller's bug."""
    with pytest.raises(ValueError, match="attempts counts from 1"):
        backoff_delay(0, lambda: 0.5)


def test_a_failure_with_attempts_left_is_retried_after_the_backoff() -> None:
    """Attempt 2 of 5 failed: queued again, due 30 s * draw from now."""
    decision = decide_after_failure(2, 5, NOW, lambda: 0.5)

    assert decision == FailureDecision(JobStatus.QUEUED, NOW + timedelta(seconds=15))


def test_the_last_failed_attempt_is_dead() -> None:
    """Attempt 5 of 5 failed: dead, with no retry time."""
    assert decide_after_failure(5, 5, NOW, lambda: 0.5) == FailureDecision(JobStatus.DEAD, None)


def test_the_error_description_names_type_message_and_where() -> None:
    """The text kept on a failed job has the exception's type, message and the raising line."""

    def fails() -> None:
        raise KeyError("sku-42")

    try:
        fails()
    except KeyError as exc:
        text = describe_error(exc)

    first, *trace = text.splitlines()
    assert first == "KeyError: 'sku-42'"
    assert any("in fails" in line for line in trace)
    assert 'raise KeyError("sku-42")' in text


def test_a_long_error_is_cut_to_4000_characters() -> None:
    """A huge message cannot bloat the job row."""
    text = describe_error(ValueError("x" * 10_000))

    assert len(text) == 4000
    assert text.startswith("ValueError: xxx")
    assert text.endswith("…")


@pytest.mark.parametrize(
    ("now", "every", "slot"),
    [
        (NOW + timedelta(minutes=59), timedelta(hours=1), NOW),
        (NOW, timedelta(hours=1), NOW),
        (NOW + timedelta(seconds=7.5), timedelta(seconds=5), NOW + timedelta(seconds=5)),
        (NOW + timedelta(hours=13), timedelta(days=1), NOW + timedelta(hours=12)),
    ],
)
def test_periodic_slots_are_aligned_to_the_epoch(
    now: datetime, every: timedelta, slot: datetime
) -> None:
    """Every worker computes the same slot for the same moment: hourly is on the hour."""
    assert periodic_slot(now, every) == slot


def test_a_periodic_cadence_under_a_second_is_refused() -> None:
    """Sub-second periodic jobs would be a busy loop on the database."""
    with pytest.raises(ValueError, match="at most once a second"):
        periodic_slot(NOW, timedelta(milliseconds=500))


def test_the_periodic_key_names_the_job_and_its_slot() -> None:
    """One key per name and slot, in UTC."""
    assert (
        periodic_idempotency_key("job.pruned", NOW)
        == "periodic:job.pruned:2026-11-25T12:00:00+00:00"
    )


@pytest.mark.parametrize(
    ("kind", "valid"),
    [
        ("order.placed", True),
        ("inventory.feed_pushed", True),
        ("job.pruned", True),
        ("placed", False),
        ("Order.placed", False),
        ("order..placed", False),
        ("order.placed!", False),
        ("a." + "b" * 99, False),
    ],
)
def test_job_kinds_are_dotted_lowercase(kind: str, valid: bool) -> None:
    """Kinds read like events: lowercase words joined by dots, at most 100 characters."""
    assert is_valid_kind(kind) is valid


def claimed(job_id: str, kind: str) -> ClaimedJob:
    return ClaimedJob(job_id, kind, {}, 1, 8, None)


def test_neighbouring_jobs_of_a_batchable_kind_share_a_batch_and_keep_their_order() -> None:
    """Only consecutive jobs of one batchable kind are joined, so the batches run the jobs in
    the order they were claimed; every other job runs alone."""
    jobs = [
        claimed("j1", "feed.pushed"),
        claimed("j2", "feed.pushed"),
        claimed("j3", "order.placed"),
        claimed("j4", "order.placed"),
        claimed("j5", "feed.pushed"),
        claimed("j6", "feed.pushed"),
    ]

    batches = group_batches(jobs, lambda kind: kind == "feed.pushed")

    assert [[job.id for job in batch] for batch in batches] == [
        ["j1", "j2"],
        ["j3"],
        ["j4"],
        ["j5", "j6"],
    ]


def test_claims_grow_while_they_come_back_full_of_batches_and_reset_otherwise() -> None:
    """A full claim made only of batches doubles the next claim up to the cap; a short claim,
    or one holding a job that runs alone, brings it back to the base."""
    full = [claimed(f"j{n}", "feed.pushed") for n in range(40)]
    alone = [*full[:39], claimed("j39", "order.placed")]

    grown = next_claim_limit(40, full, [full], base=20, most=200)
    capped = next_claim_limit(160, full * 4, [full * 4], base=20, most=200)
    short = next_claim_limit(80, full, [full], base=20, most=200)
    mixed = next_claim_limit(40, alone, [alone[:39], alone[39:]], base=20, most=200)

    assert (grown, capped, short, mixed) == (80, 200, 20, 20)
