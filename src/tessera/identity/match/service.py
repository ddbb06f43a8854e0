"""Probabilistic matching in production: match records, candidates by indexed keys, scores by
the workspace's model, automatic merges above one threshold and a review queue below it.

The identity graph joins profiles that share an identifier. What is left are people who share
none: a POS guest known by name and postcode, an Amazon order with a name and an address. For
each profile the stitcher created or changed, ``MatchService.match``:

1. refreshes its ``identity_match_record`` from its traits (and its email and phone
   identifiers), with four blocking keys that each have an index (see ``domain``);
2. fetches the active profiles sharing a key through those indexes (a key shared by more
   than 100 profiles is skipped, as a common name says little), so the work per profile
   depends on its block, not on how many profiles the workspace holds;
3. scores them with the workspace's model (``identity_config.match_model``, trained by
   ``train``; a default built from ``customer_settings()`` until then), the best-scoring first;
4. drops pairs a person ruled out (a rejected review, a split rule from an unmerge);
5. at or above the merge threshold, merges through the identity service with
   ``cause_kind="match"``, ``cause_ref`` the score id and the per-field evidence; between the
   thresholds, adds an ``identity_review`` row holding both sides' fields and the evidence.

A merge a guard-rail refuses (a 409 Problem from the identity service) is not an error of the
match job: the pair goes to the review queue instead, with the refusal in its evidence.

The service never commits: the job, request or command around it does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from tessera.identity.errors import MergeRefused, NotEnoughRecords, ReviewDecided, ReviewNotFound
from tessera.identity.graph.service import IdentityService
from tessera.identity.match.domain import (
    MATCH_FIELDS,
    MatchOutcome,
    ModelSummary,
    ProfileMatch,
    ReviewSide,
    blocking_keys,
    default_model,
    evidence_json,
    fields_from_traits,
    level_weights,
    ordered_pair,
    workspace_settings,
)
from tessera.identity.match.engine import (
    Candidate,
    Decision,
    MatchIndex,
    MatchModel,
    Record,
    RecordTable,
    train,
)
from tessera.identity.match.repository import MatchRepository
from tessera.job.service import JobService
from tessera.kit.errors import Problem
from tessera.kit.ids import new_id
from tessera.kit.pagination import Page, page_from
from tessera.kit.process import PROCESS
from tessera.kit.time import utcnow
from tessera.models.identity import (
    ConflictStatus,
    IdentityConflict,
    IdentityReview,
    ProfileStatus,
    ReviewStatus,
)
from tessera.models.job import Job

# A blocking key shared by more profiles than this is skipped for the match (a common name
# reaches thousands in a large brand and says little; the other keys still find the person).
# At 1M profiles, 100 instead of 200 cost 2 of 804 known people found (bench_identity).
BLOCK_LIMIT = 100
# Profiles scored with evidence per match, best first (evidence is the costly part; the rest
# score lower and would be proposed after these, if at all).
CANDIDATE_LIMIT = 20
# Records a model is trained on at most (the newest profiles), and at least.
TRAINING_LIMIT = 200_000
TRAINING_MINIMUM = 50
DEFAULT_MODEL = "default"
TRAIN_JOB = "identity.model_trained"


# Loaded models by workspace and the digest of what they were loaded from (a retrained model
# has another digest, so it is never served stale); the age bound only returns the memory.
_models = PROCESS.ttl_cache("identity.match_models", maxsize=64, ttl=3600)


def _model_cache_key(stored: dict[str, Any] | None, merge: float, review: float) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([merge, review, stored is not None], sort_keys=True).encode())
    if stored is not None:
        digest.update(str(stored.get("trained_at")).encode())
        digest.update(str(stored.get("prior")).encode())
        digest.update(json.dumps(stored.get("comparisons"), sort_keys=True).encode())
    return digest.hexdigest()


class MatchService:
    """Keeps match records current, matches profiles, trains models, decides reviews."""

    def __init__(self, session: Session, *, block_limit: int = BLOCK_LIMIT) -> None:
        self.session = session
        self.block_limit = block_limit
        self.repository = MatchRepository(session)
        self.identity = IdentityService(session)

    # ----------------------------------------------------------------- model

    def model(self, workspace_id: str) -> MatchModel:
        """The workspace's trained model with its thresholds, else the default model."""
        return self._load(workspace_id)[0]

    def _load(self, workspace_id: str) -> tuple[MatchModel, bool]:
        config = self.repository.config(workspace_id)
        stored = config.match_model if config is not None else None
        merge = config.merge_threshold if config is not None else None
        review = config.review_threshold if config is not None else None
        settings = workspace_settings(merge, review)
        thresholds = settings.thresholds
        key = (workspace_id, _model_cache_key(stored, thresholds.merge, thresholds.review))
        cached: tuple[MatchModel, bool] | None = _models.get(key)
        if cached is not None:
            return cached
        loaded = (default_model(settings), False)
        if stored is not None:
            # Trained for other comparisons (an older release): the default until retrained.
            with contextlib.suppress(KeyError, ValueError, TypeError):
                loaded = (MatchModel.from_dict(settings, stored), True)
        _models[key] = loaded
        return loaded

    def model_summary(self, workspace_id: str) -> ModelSummary:
        """The model ``match`` uses for this workspace, with each level's m, u and weight."""
        config = self.repository.config(workspace_id)
        stored = config.match_model if config is not None else None
        model, trained = self._load(workspace_id)
        comparisons = tuple(
            {
                "name": comparison.label,
                "field": comparison.field,
                "levels": [
                    {"level": label, "m": m, "u": u, "weight": round(weight, 4)}
                    for label, m, u, weight in zip(
                        comparison.level_labels,
                        parameters.m,
                        parameters.u,
                        parameters.weights,
                        strict=True,
                    )
                ],
            }
            for comparison, parameters in zip(
                model.settings.comparisons, model.parameters, strict=True
            )
        )
        return ModelSummary(
            workspace_id=workspace_id,
            source="trained" if trained else DEFAULT_MODEL,
            trained_at=config.trained_at if config is not None and trained else None,
            merge_threshold=model.settings.thresholds.merge,
            review_threshold=model.settings.thresholds.review,
            prior=model.prior,
            comparisons=comparisons,
            records=int(stored["records"]) if trained and stored and "records" in stored else None,
            report=dict(stored.get("report") or {}) if trained and stored else {},
        )

    def train(self, workspace_id: str) -> ModelSummary:
        """Fit m, u and the prior on the workspace's profiles and store the model.

        Trains on the match records of up to 200,000 active profiles (the newest). Refuses a
        workspace with fewer than 50 (409 not-enough-records): EM on a handful of records
        estimates noise, and the default model is the better guess.
        """
        rows = self.repository.training_records(workspace_id, TRAINING_LIMIT)
        if len(rows) < TRAINING_MINIMUM:
            raise NotEnoughRecords(
                f"the workspace has {len(rows)} profiles with names or contact details; "
                f"training needs at least {TRAINING_MINIMUM}",
                records=len(rows),
            )
        config = self.repository.ensure_config(workspace_id, utcnow())
        settings = workspace_settings(config.merge_threshold, config.review_threshold)
        table = RecordTable(
            [profile_id for profile_id, _ in rows],
            {name: [fields.get(name) for _, fields in rows] for name in MATCH_FIELDS},
        )
        model = train(
            table, settings, random_pair_count=min(1_000_000, max(100_000, 20 * len(rows)))
        )
        now = utcnow()
        stored = model.to_dict()
        stored["records"] = len(rows)
        stored["trained_at"] = now.isoformat()
        report = model.report
        if report is not None:
            stored["report"] = {
                "random_pairs": report.random_pairs,
                "candidate_pairs": report.candidate_pairs,
                "sessions": [
                    {
                        "rule": s.rule,
                        "pairs": s.pairs,
                        "iterations": s.iterations,
                        "estimated": list(s.estimated),
                    }
                    for s in report.sessions
                ],
                "untrained": list(report.untrained),
            }
        self.repository.store_model(workspace_id, stored, now)
        self.session.expire(config)
        return self.model_summary(workspace_id)

    def request_training(self, workspace_id: str) -> Job:
        """Queue a training of the workspace's model (``identity.model_trained``) and return the
        job: on a large brand it takes a minute or two, longer than a request should.

        Refuses at once a workspace with fewer than 50 profiles to train on (409), as ``train``
        would.
        """
        held = self.repository.count_records(workspace_id, TRAINING_MINIMUM)
        if held < TRAINING_MINIMUM:
            raise NotEnoughRecords(
                f"the workspace has {held} profiles with names or contact details; "
                f"training needs at least {TRAINING_MINIMUM}",
                records=held,
            )
        return JobService(self.session).enqueue(
            TRAIN_JOB, {"workspace_id": workspace_id}, workspace_id=workspace_id, priority=200
        )

    # ----------------------------------------------------------------- match records

    def refresh(
        self, workspace_id: str, profile_ids: Iterable[str]
    ) -> dict[str, dict[str, str | None]]:
        """Rewrite the match records of these profiles from their traits; returns the fields
        (never a relay address as the email: ``fields_from_traits``).

        Merged profiles lose their record (the survivor's holds what matters); unknown ids are
        skipped.
        """
        ids = list(dict.fromkeys(profile_ids))
        profiles = self.repository.profiles(workspace_id, ids)
        active = [p for p in profiles.values() if p.status is ProfileStatus.ACTIVE]
        self.repository.delete_match_records(
            [p.id for p in profiles.values() if p.status is not ProfileStatus.ACTIVE]
        )
        contacts = self.repository.contact_identifiers(workspace_id, [p.id for p in active])
        is_relay = self.identity.rules(workspace_id).is_relay
        now = utcnow()
        found: dict[str, dict[str, str | None]] = {}
        for profile in active:
            fields = fields_from_traits(profile.traits or {}, contacts.get(profile.id), is_relay)
            self.repository.save_match_record(
                workspace_id, profile.id, fields, blocking_keys(fields), now
            )
            found[profile.id] = fields
        return found

    # ----------------------------------------------------------------- matching

    def match(
        self, workspace_id: str, profile_ids: Sequence[str], *, actor: str | None = None
    ) -> MatchOutcome:
        """Match each profile against the workspace's others; merge or queue for review.

        Profiles already merged are matched as their survivor; unknown ids are skipped. Pairs a
        person rejected or split are never proposed again. Safe to run twice: a pair already
        merged is one profile, a pair already in review is not added again.
        """
        model, trained = self._load(workspace_id)
        source = "trained" if trained else DEFAULT_MODEL
        resolved: list[str] = []
        for profile_id in dict.fromkeys(profile_ids):
            profile = self.repository.resolve(workspace_id, profile_id)
            if profile is not None and profile.id not in resolved:
                resolved.append(profile.id)
        fields_of = self.refresh(workspace_id, resolved)
        outcomes = []
        for profile_id in resolved:
            current = self.repository.resolve(workspace_id, profile_id)
            if current is None or current.id != profile_id or profile_id not in fields_of:
                continue  # merged into another profile earlier in this call
            outcomes.append(
                self._match_one(
                    workspace_id, profile_id, fields_of[profile_id], model, source, actor
                )
            )
        return MatchOutcome(tuple(outcomes))

    def score(
        self, workspace_id: str, profile_id: str, fields: dict[str, str | None], model: MatchModel
    ) -> tuple[list[Candidate], int]:
        """The candidate profiles for these fields, best first (at most 20), and how many were
        compared. Those at or above the review threshold are active profiles."""
        keys = blocking_keys(fields)
        rows, _skipped = self.repository.candidates(
            workspace_id, profile_id, keys, self.block_limit
        )
        if not rows:
            return [], 0
        table = RecordTable(
            [candidate_id for candidate_id, _ in rows],
            {name: [values.get(name) for _, values in rows] for name in MATCH_FIELDS},
        )
        index = MatchIndex(model, table, [candidate_id for candidate_id, _ in rows])
        result = index.match(Record(profile_id, fields), limit=CANDIDATE_LIMIT)
        # Only pairs worth proposing are checked (records of profiles merged away linger until
        # those are matched again); lower scores are returned as found, for the record.
        proposed = [c.profile_id for c in result.candidates if c.decision is not Decision.DISTINCT]
        active = self.repository.active_among(workspace_id, proposed)
        return [
            c
            for c in result.candidates
            if c.decision is Decision.DISTINCT or c.profile_id in active
        ], result.compared

    def _match_one(
        self,
        workspace_id: str,
        profile_id: str,
        fields: dict[str, str | None],
        model: MatchModel,
        source: str,
        actor: str | None,
    ) -> ProfileMatch:
        candidates, compared = self.score(workspace_id, profile_id, fields, model)
        wanted = [c for c in candidates if c.decision is not Decision.DISTINCT]
        others = [c.profile_id for c in wanted]
        ruled_out = self.repository.ruled_out(workspace_id, profile_id, others)
        merged: list[str] = []
        reviews: list[str] = []
        refused: list[str] = []
        survivor_id = profile_id
        ladder = level_weights(model)
        for candidate in wanted:
            if candidate.profile_id in ruled_out:
                continue
            score_id = new_id("msc")
            evidence = evidence_json(
                score_id,
                candidate.match_weight,
                candidate.probability,
                candidate.evidence,
                model=source,
                levels=ladder,
            )
            if candidate.decision is Decision.MERGE:
                other = self.repository.resolve(workspace_id, candidate.profile_id)
                if other is None or other.id == survivor_id:
                    continue
                keep, absorb = ordered_pair(survivor_id, other.id)
                try:
                    with self.session.begin_nested():
                        self.identity.merge_profiles(
                            workspace_id,
                            keep,
                            absorb,
                            cause_kind="match",
                            cause_ref=score_id,
                            evidence=evidence,
                            actor=actor,
                        )
                except Problem as refusal:
                    refused.append(candidate.profile_id)
                    evidence["refused"] = {"type": refusal.slug, "detail": refusal.detail}
                    review_id = self._add_review(
                        workspace_id, survivor_id, other.id, candidate, evidence, fields
                    )
                    if review_id:
                        reviews.append(review_id)
                    continue
                merged.append(other.id)
                survivor_id = keep
                # The merged profile holds the other's identifiers too: its split rules count.
                ruled_out |= self.repository.ruled_out(workspace_id, survivor_id, others)
            else:
                review_id = self._add_review(
                    workspace_id, survivor_id, candidate.profile_id, candidate, evidence, fields
                )
                if review_id:
                    reviews.append(review_id)
        if merged:
            self.refresh(workspace_id, [survivor_id, profile_id, *merged])
        return ProfileMatch(
            profile_id=profile_id,
            compared=compared,
            merged_with=tuple(merged),
            reviews=tuple(reviews),
            refused=tuple(refused),
            ruled_out=tuple(sorted(ruled_out)),
        )

    def _add_review(
        self,
        workspace_id: str,
        profile_id: str,
        candidate_id: str,
        candidate: Candidate,
        evidence: dict[str, Any],
        fields: dict[str, str | None],
    ) -> str | None:
        if self.repository.open_review_between(workspace_id, profile_id, candidate_id) is not None:
            return None
        other = self.repository.match_record(candidate_id)
        evidence = {
            **evidence,
            "sides": {
                "profile": fields,
                "candidate": dict(other.fields) if other is not None else {},
            },
        }
        return self.repository.add_review(
            {
                "id": new_id("rev"),
                "workspace_id": workspace_id,
                "profile_id": profile_id,
                "candidate_profile_id": candidate_id,
                "score": candidate.match_weight,
                "probability": candidate.probability,
                "evidence": evidence,
                "status": ReviewStatus.OPEN,
                "created_at": utcnow(),
            }
        )

    # ----------------------------------------------------------------- reviews

    def list_reviews(
        self,
        workspace_id: str,
        status: ReviewStatus | None,
        cursor_after: str | None,
        limit: int,
    ) -> Page[IdentityReview]:
        """Reviews oldest first (the queue order), optionally of one status."""
        rows = self.repository.list_reviews(workspace_id, status, cursor_after, limit + 1)
        return page_from(rows, limit)

    def review_counts(self, workspace_id: str) -> dict[str, int]:
        """How many reviews the workspace has in each status (every status, zeros included)."""
        counts = self.repository.review_counts(workspace_id)
        return {status.value: counts.get(status.value, 0) for status in ReviewStatus}

    def get_review(self, workspace_id: str, review_id: str) -> IdentityReview:
        """One review of this workspace; 404 for another workspace's or an unknown id."""
        review = self.repository.review(workspace_id, review_id)
        if review is None:
            raise ReviewNotFound(f"no review {review_id} in this workspace")
        return review

    def review_sides(
        self, workspace_id: str, review: IdentityReview
    ) -> tuple[ReviewSide, ReviewSide]:
        """Both profiles of a review as they are now (their fields as matched)."""
        return self.sides_of(workspace_id, [review])[review.id]

    def sides_of(
        self, workspace_id: str, reviews: Sequence[IdentityReview]
    ) -> dict[str, tuple[ReviewSide, ReviewSide]]:
        """Both sides of each review, in two statements for the lot.

        A side merged away since has no match record; its fields are those kept with the
        review when it was made.
        """
        ids = {p for r in reviews for p in (r.profile_id, r.candidate_profile_id)}
        profiles = self.repository.profiles(workspace_id, ids)
        records = self.repository.match_records(ids)
        found: dict[str, tuple[ReviewSide, ReviewSide]] = {}
        for review in reviews:
            stored = (review.evidence or {}).get("sides", {})
            sides = []
            for profile_id, name in (
                (review.profile_id, "profile"),
                (review.candidate_profile_id, "candidate"),
            ):
                profile = profiles.get(profile_id)
                fields = records.get(profile_id) or dict(stored.get(name) or {})
                sides.append(
                    ReviewSide(
                        profile_id=profile_id,
                        fields={f: fields.get(f) for f in MATCH_FIELDS},
                        status=profile.status.value if profile is not None else "gone",
                    )
                )
            found[review.id] = (sides[0], sides[1])
        return found

    def accept(self, workspace_id: str, review_id: str, actor: str) -> IdentityReview:
        """A person says the two profiles are one: merge them, cause the review.

        Refuses a review already decided (409 review-decided) and a merge a guard-rail forbids
        (the identity service's 409); either way nothing changes. Profiles merged since the
        review was made are followed to their survivors.
        """
        review = self._open_review(workspace_id, review_id)
        left = self.repository.resolve(workspace_id, review.profile_id)
        right = self.repository.resolve(workspace_id, review.candidate_profile_id)
        if left is None or right is None:
            raise MergeRefused("one of the two profiles no longer exists (erased)")
        if left.id != right.id:
            keep, absorb = ordered_pair(left.id, right.id)
            evidence = {**(review.evidence or {}), "review_id": review.id}
            self.identity.merge_profiles(
                workspace_id,
                keep,
                absorb,
                cause_kind="match",
                cause_ref=review.id,
                evidence=evidence,
                actor=actor,
            )
            self.refresh(workspace_id, [keep, absorb])
        if not self.repository.decide_review(review.id, ReviewStatus.MERGED, actor, utcnow()):
            raise ReviewDecided(f"review {review_id} was decided meanwhile")
        self.session.refresh(review)
        return review

    def reject(self, workspace_id: str, review_id: str, actor: str) -> IdentityReview:
        """A person says the two profiles are different people: never propose them again.

        Refuses a review already decided (409 review-decided).
        """
        review = self._open_review(workspace_id, review_id)
        if not self.repository.decide_review(review.id, ReviewStatus.REJECTED, actor, utcnow()):
            raise ReviewDecided(f"review {review_id} was decided meanwhile")
        self.session.refresh(review)
        return review

    def _open_review(self, workspace_id: str, review_id: str) -> IdentityReview:
        review = self.repository.review(workspace_id, review_id, lock=True)
        if review is None:
            raise ReviewNotFound(f"no review {review_id} in this workspace")
        if review.status is not ReviewStatus.OPEN:
            raise ReviewDecided(
                f"review {review_id} was already decided: {review.status.value}",
                status_now=review.status.value,
            )
        return review

    # ----------------------------------------------------------------- conflicts

    def list_conflicts(
        self,
        workspace_id: str,
        status: ConflictStatus | None,
        cursor_after: str | None,
        limit: int,
    ) -> Page[IdentityConflict]:
        """Merges a guard-rail stopped, oldest first, with their evidence."""
        rows = self.repository.list_conflicts(workspace_id, status, cursor_after, limit + 1)
        return page_from(rows, limit)

    def conflict_counts(self, workspace_id: str) -> dict[str, int]:
        """How many conflicts the workspace has in each status (every status, zeros included)."""
        counts = self.repository.conflict_counts(workspace_id)
        return {status.value: counts.get(status.value, 0) for status in ConflictStatus}
