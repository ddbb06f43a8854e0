"""What a brand's matcher compares, how it blocks, and where it draws its two lines."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tessera.identity.match.engine.blocking import BlockingRule, block_on, prefix, transformed
from tessera.identity.match.engine.comparisons import (
    Comparison,
    email_comparison,
    name_comparison,
    phone_comparison,
    postcode_comparison,
    string_comparison,
    text_comparison,
)
from tessera.identity.match.engine.records import Cleaner


class Decision(StrEnum):
    """What to do with a scored pair."""

    MERGE = "merge"  # at or above the upper threshold: merge automatically
    REVIEW = "review"  # between the thresholds: a person looks at both sides and the evidence
    DISTINCT = "distinct"  # below the lower threshold: different people


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Match probabilities at which pairs merge automatically (``merge``) or go to review."""

    merge: float = 0.99
    review: float = 0.8

    def __post_init__(self) -> None:
        if not 0.0 < self.review <= self.merge < 1.0:
            raise ValueError("thresholds need 0 < review <= merge < 1")

    def decide(self, probability: float) -> Decision:
        """Merge at or above ``merge``, review at or above ``review``, else distinct."""
        if probability >= self.merge:
            return Decision.MERGE
        if probability >= self.review:
            return Decision.REVIEW
        return Decision.DISTINCT


@dataclass(frozen=True, slots=True)
class MatchSettings:
    """A matcher for one record schema: comparisons by field name, blocking rules, thresholds.

    ``training_blocking`` are the rules whose pairs train the m probabilities (one EM session
    each); empty means the prediction rules. ``min_linkage`` guards clustering against chains:
    two groups joined by one strong pair are merged only if the mean match probability of all
    their compared pairs reaches it (None turns the guard off).
    """

    comparisons: tuple[Comparison, ...]
    blocking: tuple[BlockingRule, ...]
    thresholds: Thresholds = Thresholds()
    training_blocking: tuple[BlockingRule, ...] = ()
    link_only: bool = False
    max_block_size: int = 5_000
    min_linkage: float | None = 0.5

    def __post_init__(self) -> None:
        if not self.comparisons:
            raise ValueError("settings need at least one comparison")
        if not self.blocking:
            raise ValueError("settings need at least one blocking rule")
        labels = [c.label for c in self.comparisons]
        if len(set(labels)) != len(labels):
            raise ValueError("two comparisons share a name; give one a name=")
        if len(self.blocking) > 127 or len(self.training_blocking) > 127:
            raise ValueError("at most 127 blocking rules")
        if self.max_block_size < 2:
            raise ValueError("max_block_size must be at least 2")
        cleaners: dict[str, Cleaner] = {}
        for comparison in self.comparisons:
            clean = comparison.clean
            if clean is not None and cleaners.setdefault(comparison.field, clean) is not clean:
                raise ValueError(f"two comparisons clean {comparison.field!r} differently")

    @property
    def cleaners(self) -> dict[str, Cleaner]:
        """How each field's values are cleaned before they are read, by the comparisons that
        say so (a name loses its honorifics)."""
        return {c.field: c.clean for c in self.comparisons if c.clean is not None}

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field a comparison or blocking rule reads, in first-use order."""
        seen: dict[str, None] = {}
        for comparison in self.comparisons:
            seen.setdefault(comparison.field)
        for rule in (*self.blocking, *self.training_blocking):
            for key in rule.keys:
                seen.setdefault(key.field)
        return tuple(seen)

    @property
    def training_rules(self) -> tuple[BlockingRule, ...]:
        """The rules whose pairs train m: ``training_blocking``, else ``blocking``."""
        return self.training_blocking or self.blocking


def customer_settings(thresholds: Thresholds | None = None) -> MatchSettings:
    """Settings for Tessera's customer records (the fields of a canonical order's customer).

    Fields: first_name, last_name, email, phone, postcode, city, address_line. Emails and phones
    that agree exactly are stitched deterministically by the identity graph before matching
    runs; here they are evidence among others, for records that share no identifier.

    Blocks of more than 1,000 records are skipped: a common name alone ("john smith") reaches
    thousands of profiles in a large brand and says little; the postcode rules still find them.
    """
    return MatchSettings(
        comparisons=(
            name_comparison("first_name", nicknames=True),
            name_comparison("last_name"),
            email_comparison("email"),
            phone_comparison("phone"),
            postcode_comparison("postcode"),
            string_comparison("city", term_frequency=True),
            text_comparison("address_line"),
        ),
        blocking=(
            block_on("email"),
            block_on("phone"),
            block_on("last_name", "postcode"),
            block_on(transformed("first_name", "nickname"), "postcode"),
            block_on(transformed("first_name", "nickname"), "last_name"),
            block_on(transformed("last_name", "metaphone"), prefix("postcode", 3)),
            block_on("address_line", "postcode"),
        ),
        thresholds=thresholds or Thresholds(),
        max_block_size=1_000,
    )
