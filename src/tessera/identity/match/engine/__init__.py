"""Probabilistic record matching (Fellegi-Sunter) for people who share no identifier.

A POS guest known by name and postcode, an Amazon order with a name and an address: records
like these are matched to existing profiles by how much their fields agree, weighted by what the
brand's own data says agreement is worth. Pure and database-free: records in, scores out.

Batch, over a whole table::

    settings = MatchSettings(comparisons=(...), blocking=(block_on("surname", "dob"), ...))
    model = train(table, settings)                 # u from random pairs, m by EM
    pairs = predict(model, table)                  # blocked candidate pairs, scored
    labels = cluster(pairs, len(table), settings.thresholds.merge)

Incremental, one record at a time with stable profile ids::

    index = MatchIndex.build(model, records, profile_ids)
    result = index.match(new_record)               # candidates with per-field evidence
    index.add(new_record, result.best.profile_id if result.decision == "merge" else new_id)
"""

from tessera.identity.match.engine.blocking import (
    BlockingRule,
    BlockKey,
    CandidatePairs,
    block_on,
    candidate_pairs,
    prefix,
    transformed,
)
from tessera.identity.match.engine.clustering import cluster
from tessera.identity.match.engine.comparisons import (
    Comparison,
    clean_name,
    date_comparison,
    edit_distance_comparison,
    email_comparison,
    exact_comparison,
    name_comparison,
    phone_comparison,
    postcode_comparison,
    string_comparison,
    text_comparison,
)
from tessera.identity.match.engine.evaluation import (
    Scores,
    bcubed_scores,
    cluster_scores,
    pairwise_scores,
)
from tessera.identity.match.engine.index import Candidate, MatchIndex, MatchResult
from tessera.identity.match.engine.levels import (
    DateTransposed,
    DateWithin,
    EmailUser,
    Exact,
    FullDates,
    JaroWinkler,
    Level,
    Levenshtein,
    Nickname,
    Phonetic,
    Postcode,
    Prefix,
    TokenSet,
)
from tessera.identity.match.engine.model import (
    ComparisonParameters,
    FieldEvidence,
    MatchModel,
    PairScore,
    ScoredPairs,
    TrainingReport,
    predict,
    score_pair,
    score_pairs,
)
from tessera.identity.match.engine.records import Record, RecordTable
from tessera.identity.match.engine.settings import (
    Decision,
    MatchSettings,
    Thresholds,
    customer_settings,
)
from tessera.identity.match.engine.training import train

__all__ = [
    "BlockKey",
    "BlockingRule",
    "Candidate",
    "CandidatePairs",
    "Comparison",
    "ComparisonParameters",
    "DateTransposed",
    "DateWithin",
    "Decision",
    "EmailUser",
    "Exact",
    "FieldEvidence",
    "FullDates",
    "JaroWinkler",
    "Level",
    "Levenshtein",
    "MatchIndex",
    "MatchModel",
    "MatchResult",
    "MatchSettings",
    "Nickname",
    "PairScore",
    "Phonetic",
    "Postcode",
    "Prefix",
    "Record",
    "RecordTable",
    "ScoredPairs",
    "Scores",
    "Thresholds",
    "TokenSet",
    "TrainingReport",
    "bcubed_scores",
    "block_on",
    "candidate_pairs",
    "clean_name",
    "cluster",
    "cluster_scores",
    "customer_settings",
    "date_comparison",
    "edit_distance_comparison",
    "email_comparison",
    "exact_comparison",
    "name_comparison",
    "pairwise_scores",
    "phone_comparison",
    "postcode_comparison",
    "predict",
    "prefix",
    "score_pair",
    "score_pairs",
    "string_comparison",
    "text_comparison",
    "train",
    "transformed",
]
