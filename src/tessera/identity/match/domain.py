"""Pure rules of matching in production: what a profile is matched on, its blocking keys, the
default model a workspace uses until it trains its own, and evidence as JSON.

No session and no clock. ``match.service`` loads, calls these, and writes; the shapes it
answers with (``ProfileMatch``, ``MatchOutcome``, ``ModelSummary``, ``ReviewSide``) are here too.

Blocking keys the database can index (one column each in ``identity_match_record``), chosen so
that every pair they find is also found by one of ``customer_settings()``'s in-memory rules, and
so that a block stays small in a brand with millions of profiles:

- ``key_email``: the normalised email (rule ``email``);
- ``key_phone``: the phone's digits (rule ``phone``);
- ``key_name``: the given name's formal form ("liz" -> "elizabeth") and the family name (rule
  ``nickname(first_name), last_name``): finds a customer who moved;
- ``key_postcode``: the postcode without spaces and the family name's Metaphone code (a subset
  of rule ``metaphone(last_name), postcode[:3]``): finds a guest known by name and postcode, or
  by name and address, with a typo in the family name. A postcode alone would make blocks of
  thousands in a brand whose shoppers live in a few ZIP codes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tessera.identity.match.engine import (
    ComparisonParameters,
    FieldEvidence,
    MatchModel,
    MatchSettings,
    Thresholds,
    customer_settings,
)
from tessera.identity.match.engine.comparisons import clean_name
from tessera.identity.match.engine.features import canonical_name, letters, phonetic
from tessera.identity.match.engine.records import normalise
from tessera.kit.names import without_honorifics

MATCH_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "postcode",
    "city",
    "address_line",
)

# Where each field may be found in a profile's traits (Segment's reserved traits and the
# snake_case spellings connectors use), first hit wins. ``address`` may also be a nested object.
_TRAIT_NAMES: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name", "firstName", "given_name"),
    "last_name": ("last_name", "lastName", "family_name", "surname"),
    "email": ("email",),
    "phone": ("phone", "phone_number"),
    "postcode": ("postcode", "postal_code", "postalCode", "zip", "zip_code"),
    "city": ("city",),
    "address_line": ("address_line", "address1", "address_1", "street", "line1"),
}
_ADDRESS_NAMES: dict[str, tuple[str, ...]] = {
    "postcode": ("postal_code", "postalCode", "postcode", "zip"),
    "city": ("city",),
    "address_line": ("street", "address1", "address_1", "line1", "address_line"),
}
_MAX_FIELD = 200


def _text(value: object) -> str | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    text = " ".join(str(value).split())
    return text[:_MAX_FIELD] or None


def fields_from_traits(
    traits: Mapping[str, Any],
    identifiers: Mapping[str, str] | None = None,
    is_relay: Callable[[str], bool] | None = None,
) -> dict[str, str | None]:
    """The seven matched fields of a profile, from its traits (then its identifiers).

    A full ``name`` trait fills first and last name when those are absent, its honorifics
    left out ("Dr. Ravi Moreau Jr." is Ravi Moreau). ``identifiers`` (type -> raw value)
    supply the email and phone when the traits do not hold them. An email ``is_relay`` says
    a platform issued (``Rules.is_relay``) is no email here: it says nothing about the
    person, and two buyers' relay addresses must not count for or against them.
    """
    found: dict[str, str | None] = dict.fromkeys(MATCH_FIELDS)
    address = traits.get("address")
    for field_name, names in _TRAIT_NAMES.items():
        for name in names:
            value = _text(traits.get(name))
            if value:
                found[field_name] = value
                break
        if found[field_name] is None and isinstance(address, Mapping):
            for name in _ADDRESS_NAMES.get(field_name, ()):
                nested = _text(address.get(name))
                if nested:
                    found[field_name] = nested
                    break
    full_name = without_honorifics(_text(traits.get("name")) or "")
    if full_name and found["first_name"] is None and found["last_name"] is None:
        first, _, last = full_name.partition(" ")
        found["first_name"] = first or None
        found["last_name"] = last or None
    if found["phone"] is None and identifiers and identifiers.get("phone"):
        found["phone"] = _text(identifiers["phone"])
    emails = (found["email"], _text((identifiers or {}).get("email")))
    found["email"] = next(
        (e for e in emails if e is not None and not (is_relay is not None and is_relay(e))), None
    )
    return found


@dataclass(frozen=True, slots=True)
class BlockingKeys:
    name: str | None
    postcode: str | None
    email: str | None
    phone: str | None

    def as_values(self) -> dict[str, str | None]:
        return {
            "key_name": self.name,
            "key_postcode": self.postcode,
            "key_email": self.email,
            "key_phone": self.phone,
        }


def _name(value: str | None) -> str | None:
    """A name as the matcher compares it: normalised, without honorifics (``clean_name``)."""
    normalised = normalise(value)
    return clean_name(normalised) if normalised else None


def blocking_keys(fields: Mapping[str, str | None]) -> BlockingKeys:
    """The four indexed keys of a profile's fields (see the module docstring); None if unknown."""
    first = _name(fields.get("first_name"))
    last = _name(fields.get("last_name"))
    email = normalise(fields.get("email"))
    phone_digits = "".join(ch for ch in fields.get("phone") or "" if ch.isdigit())
    postcode = normalise(fields.get("postcode"))
    postcode_key = postcode.replace(" ", "").replace("-", "") if postcode else None
    last_sound = phonetic(last, "metaphone") if last else None
    name_key = f"{canonical_name(first)} {letters(last) or last}"[:80] if first and last else None
    return BlockingKeys(
        name=name_key,
        postcode=f"{postcode_key}:{last_sound}"[:80] if postcode_key and last_sound else None,
        email=email[:200] if email and "@" in email else None,
        phone=phone_digits[-15:] if len(phone_digits) >= 7 else None,
    )


# m and u per level of customer_settings()'s comparisons, before a workspace trains its own:
# round figures of what training on synthetic customers (bench/eval_matching.py) estimates,
# with u for a brand of about 100,000 customers. Strong levels first, "else" last.
_DEFAULT_PARAMETERS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "first_name": (
        (0.80, 0.06, 0.04, 0.02, 0.03, 0.05),
        (0.02, 0.002, 0.003, 0.005, 0.03, 0.94),
    ),
    "last_name": ((0.85, 0.06, 0.02, 0.03, 0.04), (0.005, 0.002, 0.003, 0.02, 0.97)),
    "email": ((0.80, 0.08, 0.04, 0.08), (1e-5, 1e-5, 2e-4, 0.99978)),
    "phone": ((0.80, 0.05, 0.03, 0.12), (1e-5, 1e-5, 1e-4, 0.99988)),
    "postcode": (
        (0.75, 0.05, 0.05, 0.05, 0.04, 0.06),
        (0.001, 0.001, 0.005, 0.02, 0.05, 0.923),
    ),
    "city": ((0.80, 0.05, 0.05, 0.10), (0.05, 0.01, 0.02, 0.92)),
    "address_line": ((0.60, 0.15, 0.10, 0.15), (1e-4, 2e-4, 1e-3, 0.9987)),
}
DEFAULT_PRIOR = 1e-5


def workspace_settings(merge: float | None, review: float | None) -> MatchSettings:
    """``customer_settings()`` with the workspace's thresholds where it set them."""
    default = Thresholds()
    return customer_settings(
        Thresholds(
            merge=merge if merge is not None else default.merge,
            review=review if review is not None else default.review,
        )
    )


def default_model(settings: MatchSettings) -> MatchModel:
    """The model a workspace matches with until it trains one on its own profiles."""
    parameters = []
    for comparison in settings.comparisons:
        m, u = _DEFAULT_PARAMETERS[comparison.label]
        parameters.append(ComparisonParameters(m, u))
    return MatchModel(settings=settings, prior=DEFAULT_PRIOR, parameters=tuple(parameters))


def level_weights(model: MatchModel) -> dict[str, list[dict[str, Any]]]:
    """Each comparison's levels with their weights, closest first (never rising: training
    keeps them monotone), the scale a field's evidence is read on."""
    return {
        comparison.label: [
            {"level": label, "weight": round(weight, 4)}
            for label, weight in zip(comparison.level_labels, parameters.weights, strict=True)
        ]
        for comparison, parameters in zip(model.settings.comparisons, model.parameters, strict=True)
    }


def evidence_json(
    score_id: str,
    match_weight: float,
    probability: float,
    evidence: Sequence[FieldEvidence],
    *,
    model: str,
    levels: Mapping[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """A match's evidence as stored on a merge or a review: score, probability, each field
    with the level its values fell in, its weight, and every level's weight (``levels``, from
    ``level_weights``) so a reviewer sees where the level stands between agreeing exactly and
    not at all."""
    return {
        "score_id": score_id,
        "score": round(match_weight, 4),
        "probability": probability,
        "model": model,
        "fields": [
            {
                "comparison": item.comparison,
                "field": item.field,
                "left": item.left,
                "right": item.right,
                "level": item.level,
                "weight": round(item.weight, 4),
                "levels": levels.get(item.comparison, []),
            }
            for item in evidence
        ],
    }


def ordered_pair(left: str, right: str) -> tuple[str, str]:
    """A pair of profile ids in one order, so (a, b) and (b, a) are one pair."""
    return (left, right) if left <= right else (right, left)


@dataclass(frozen=True, slots=True)
class ProfileMatch:
    """What matching one profile did."""

    profile_id: str
    compared: int
    merged_with: tuple[str, ...] = ()
    reviews: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()  # candidates a guard-rail kept apart (sent to review)
    ruled_out: tuple[str, ...] = ()  # candidates a person had rejected or split


@dataclass(frozen=True, slots=True)
class MatchOutcome:
    """What one ``match`` call did, profile by profile."""

    profiles: tuple[ProfileMatch, ...] = ()

    @property
    def merges(self) -> int:
        return sum(len(p.merged_with) for p in self.profiles)

    @property
    def reviews(self) -> int:
        return sum(len(p.reviews) for p in self.profiles)


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """A workspace's match model: where it came from, its thresholds and its parameters."""

    workspace_id: str
    source: str  # "trained" | "default"
    trained_at: datetime | None
    merge_threshold: float
    review_threshold: float
    prior: float
    comparisons: tuple[dict[str, Any], ...]
    records: int | None = None
    report: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReviewSide:
    profile_id: str
    fields: dict[str, str | None]
    status: str  # the profile's status now: active, merged
