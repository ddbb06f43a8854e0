"""Pure rules of the job system: backoff, what a failure leads to, periodic slots, error text.

No session and no clock: callers pass ``now`` and a random source, so every rule here is a
plain function of its arguments.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tessera.models.job import JobStatus

# A failed attempt n waits a random time in [0, min(CAP, BASE * 2**(n-1))) ("full jitter", from
# AWS's "Exponential Backoff and Jitter"): retries of many jobs that failed together spread out
# instead of hitting the recovering service in waves. With the default 8 attempts the ceilings
# are 15 s, 30 s, 1 min, 2 min, 4 min, 8 min, 16 min: a job gives up after at most ~47 minutes
# of waiting (about half that on average).
BACKOFF_BASE = timedelta(seconds=15)
BACKOFF_CAP = timedelta(hours=1)

ERROR_MAX_CHARS = 4000
TRACEBACK_FRAMES = 6
DEFAULT_PRIORITY = 100
PRIORITY_RANGE = range(0, 32768)
MAX_ATTEMPTS_RANGE = range(1, 101)
MIN_PERIOD = timedelta(seconds=1)

_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def is_valid_kind(kind: str) -> bool:
    """Kinds are dotted past tense, like events: ``inventory.feed_pushed``, ``job.pruned``."""
    return len(kind) <= 100 and _KIND.match(kind) is not None


def backoff_delay(
    attempts: int,
    random: Callable[[], float],
    base: timedelta = BACKOFF_BASE,
    cap: timedelta = BACKOFF_CAP,
) -> timedelta:
    """How long to wait after failed attempt number ``attempts`` (1 for the first failure).

    Exponential with full jitter: uniform in ``[0, min(cap, base * 2**(attempts - 1)))``.
    ``random`` returns a float in [0, 1), like ``random.Random().random``.
    """
    if attempts < 1:
        raise ValueError(f"attempts counts from 1, got {attempts}")
    ceiling = min(cap, base * (1 << min(attempts - 1, 40)))
    return ceiling * random()


@dataclass(frozen=True, slots=True)
class FailureDecision:
    """What a failed attempt leads to: another try at ``run_at``, or the dead letter state."""

    status: JobStatus  # QUEUED (retry later) or DEAD (no attempts left)
    run_at: datetime | None  # when the retry is due; None when dead


def decide_after_failure(
    attempts: int, max_attempts: int, now: datetime, random: Callable[[], float]
) -> FailureDecision:
    """Retry with backoff while attempts remain, else dead (the last error is kept)."""
    if attempts >= max_attempts:
        return FailureDecision(JobStatus.DEAD, None)
    return FailureDecision(JobStatus.QUEUED, now + backoff_delay(attempts, random))


def describe_error(error: BaseException) -> str:
    """The exception type, its message and the innermost frames of its traceback, bounded.

    Kept on the job as ``last_error`` so an operator can see why it failed without the logs.
    """
    name = type(error).__qualname__
    module = type(error).__module__
    if module not in ("builtins", "__main__"):
        name = f"{module}.{name}"
    message = str(error)
    head = f"{name}: {message}" if message else name
    frames = traceback.extract_tb(error.__traceback__)[-TRACEBACK_FRAMES:]
    trace = "".join(traceback.format_list(frames))
    text = f"{head}\n{trace}".rstrip()
    if len(text) > ERROR_MAX_CHARS:
        text = text[: ERROR_MAX_CHARS - 1] + "…"
    return text


def periodic_slot(now: datetime, every: timedelta) -> datetime:
    """The start of the slot ``now`` falls in; slots are multiples of ``every`` since 1970 UTC.

    Aligning slots to the epoch rather than to when a worker started means every worker, on
    any machine, computes the same slot for the same moment: "every hour" is on the hour.
    """
    if every < MIN_PERIOD:
        raise ValueError(f"a periodic job runs at most once a second, got every={every}")
    elapsed = (now - _EPOCH) // _MICROSECOND
    step = every // _MICROSECOND
    return _EPOCH + _MICROSECOND * (elapsed - elapsed % step)


def periodic_idempotency_key(name: str, slot: datetime) -> str:
    """The key that makes a periodic job's slot enqueue at most once."""
    return f"periodic:{name}:{slot.astimezone(UTC).isoformat()}"


@dataclass(frozen=True, slots=True)
class PeriodicSpec:
    """A job enqueued once per slot of ``every``, under the kind ``name``."""

    name: str
    every: timedelta
    priority: int = DEFAULT_PRIORITY


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """What a worker holds while it runs a job: enough to run it and to report back.

    ``attempts`` is the attempt this claim started (1 for the first run). Together with
    ``locked_by`` it fences every later update: a worker whose lease expired and whose job
    was claimed again can no longer complete, fail or release it.
    """

    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    workspace_id: str | None


def group_batches(
    jobs: Sequence[ClaimedJob], is_batchable: Callable[[str], bool]
) -> list[list[ClaimedJob]]:
    """Split claimed jobs (in run order) into what runs in one transaction each.

    Consecutive jobs of one batchable kind share a batch; every other job is a batch of one.
    Only neighbours are joined, so running the batches in order runs the jobs in the order
    they were claimed (priority, then ``run_at``).
    """
    batches: list[list[ClaimedJob]] = []
    for job in jobs:
        last = batches[-1] if batches else None
        if last is not None and last[-1].kind == job.kind and is_batchable(job.kind):
            last.append(job)
        else:
            batches.append([job])
    return batches


def next_claim_limit(
    limit: int,
    claimed: Sequence[ClaimedJob],
    batches: Sequence[Sequence[ClaimedJob]],
    base: int,
    most: int,
) -> int:
    """How many jobs the next claim asks for, after one that asked for ``limit``.

    A claim that came back full and made only batches of several jobs doubles the next, up to
    ``most``: the queue holds cheap batchable work, and a larger claim costs the same round
    trips. Anything else (a short claim, a job that runs alone) returns to ``base``, so a
    worker never takes more slow single jobs than it can start soon.
    """
    if len(claimed) == limit and all(len(batch) > 1 for batch in batches):
        return min(limit * 2, most)
    return base


FINISHED_STATUSES = (JobStatus.SUCCEEDED, JobStatus.DEAD)


@dataclass(frozen=True, slots=True)
class HourCount:
    """How many jobs ended in ``status`` during the clock hour starting at ``hour`` (UTC)."""

    hour: datetime
    status: JobStatus
    count: int


def hour_number(moment: datetime) -> int:
    """Whole hours since 1970 UTC: the key hourly counts are grouped by."""
    return int((moment - _EPOCH).total_seconds()) // 3600


def hourly_counts(
    now: datetime, hours: int, counted: dict[tuple[int, JobStatus], int]
) -> list[HourCount]:
    """One count per clock hour of the last ``hours`` (oldest first) and per finished status,
    zeros included, so a chart's axis always spans the whole window."""
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    buckets = []
    for offset in range(hours):
        hour = first + timedelta(hours=offset)
        for status in FINISHED_STATUSES:
            buckets.append(HourCount(hour, status, counted.get((hour_number(hour), status), 0)))
    return buckets
