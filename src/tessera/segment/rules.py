"""A segment's rule: conditions on traits, events, orders and channels joined by all/any/not.

A rule is JSON, checked whole when a segment is saved or previewed; every fault is named by its
path (``rule.rules.1.within_days``) so the API answers 422 problem+json naming the field and
the CLI prints it. A channel names one channel or its family (``store`` is every
``store:<key>``). Bounds keep a rule cheap and meaningful: windows of 1 to 3,650 days, at most
50 conditions, nested at most 5 deep, and no empty ``all``/``any``.

    {"kind": "all", "rules": [
        {"kind": "orders", "min_spent": 50000, "currency": "USD"},
        {"kind": "not", "rule": {"kind": "channel", "channel": "store"}}]}
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tessera.kit.errors import InvalidInput

MAX_WINDOW_DAYS = 3650
MAX_CONDITIONS = 50
MAX_DEPTH = 5
NAME = Field(min_length=1, max_length=200)
Window = Annotated[int | None, Field(default=None, ge=1, le=MAX_WINDOW_DAYS)]


class InvalidRule(InvalidInput):
    slug = "invalid-segment-rule"
    title = "The segment rule is not valid"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class TraitRule(_Strict):
    """A profile trait compared with a value (a string, number or true/false)."""

    kind: Literal["trait"] = "trait"
    trait: str = NAME
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte", "contains", "exists", "not_exists"]
    value: str | int | float | bool | None = None

    @model_validator(mode="after")
    def _value_fits(self) -> TraitRule:
        if self.op in ("exists", "not_exists"):
            if self.value is not None:
                raise ValueError(f"value must be left out with op {self.op!r}")
        elif self.value is None:
            raise ValueError(f"value is required with op {self.op!r}")
        elif self.op in ("gt", "gte", "lt", "lte") and isinstance(self.value, bool):
            raise ValueError(f"value must be a number, a date or a string with op {self.op!r}")
        return self


class EventRule(_Strict):
    """Did (``did``: true) or did not do ``event`` at least ``min_count`` times, on any
    channel or ``channel``, within the last ``within_days`` days (or ever)."""

    kind: Literal["event"] = "event"
    event: str = NAME
    did: bool = True
    min_count: int = Field(default=1, ge=1, le=100_000)
    channel: str | None = Field(default=None, min_length=1, max_length=80)
    within_days: Window = None


class OrdersRule(_Strict):
    """Orders on any channel or ``channel`` within the last ``within_days`` days (or ever):
    at least ``min_count`` / at most ``max_count`` of them, and at least ``min_spent`` in
    minor units of ``currency`` (refunds taken off, cancelled orders left out)."""

    kind: Literal["orders"] = "orders"
    channel: str | None = Field(default=None, min_length=1, max_length=80)
    within_days: Window = None
    min_count: int | None = Field(default=None, ge=0, le=100_000)
    max_count: int | None = Field(default=None, ge=0, le=100_000)
    min_spent: int | None = Field(default=None, ge=0, le=10**12)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")

    @model_validator(mode="after")
    def _something_asked(self) -> OrdersRule:
        if self.min_count is None and self.max_count is None and self.min_spent is None:
            raise ValueError("one of min_count, max_count or min_spent is required")
        if (self.min_spent is None) != (self.currency is None):
            raise ValueError("min_spent and currency go together")
        if (
            self.min_count is not None
            and self.max_count is not None
            and self.min_count > self.max_count
        ):
            raise ValueError("min_count must not exceed max_count")
        return self


class ChannelRule(_Strict):
    """Has used ``channel`` (an event from it, or an order on it), ever."""

    kind: Literal["channel"] = "channel"
    channel: str = Field(min_length=1, max_length=80)


class AllRule(_Strict):
    kind: Literal["all"] = "all"
    rules: list[Rule] = Field(min_length=1, max_length=MAX_CONDITIONS)


class AnyRule(_Strict):
    kind: Literal["any"] = "any"
    rules: list[Rule] = Field(min_length=1, max_length=MAX_CONDITIONS)


class NotRule(_Strict):
    kind: Literal["not"] = "not"
    rule: Rule


Rule = Annotated[
    TraitRule | EventRule | OrdersRule | ChannelRule | AllRule | AnyRule | NotRule,
    Field(discriminator="kind"),
]
for _model in (AllRule, AnyRule, NotRule):
    _model.model_rebuild()


class _Document(_Strict):
    rule: Rule


def leaves(rule: Rule) -> list[Rule]:
    """The rule's conditions, ``all``/``any``/``not`` opened up."""
    match rule:
        case AllRule() | AnyRule():
            return [leaf for inner in rule.rules for leaf in leaves(inner)]
        case NotRule():
            return leaves(rule.rule)
    return [rule]


def depth(rule: Rule) -> int:
    match rule:
        case AllRule() | AnyRule():
            return 1 + max(depth(inner) for inner in rule.rules)
        case NotRule():
            return 1 + depth(rule.rule)
    return 1


def parse_rule(document: Any, where: str = "rule") -> Rule:
    """The rule ``document`` describes; refuses it (422) naming the first faulty field."""
    try:
        rule = _Document.model_validate({"rule": document}).rule
    except ValidationError as exc:
        errors = [
            {
                "field": ".".join([where, *(str(p) for p in e["loc"][1:])]),
                "message": e["msg"].removeprefix("Value error, "),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise InvalidRule(detail, errors=errors) from None
    if depth(rule) > MAX_DEPTH:
        raise InvalidRule(
            f"{where}: nested {depth(rule)} deep, at most {MAX_DEPTH}",
            errors=[{"field": where, "message": f"at most {MAX_DEPTH} deep"}],
        )
    count = len(leaves(rule))
    if count > MAX_CONDITIONS:
        raise InvalidRule(
            f"{where}: {count} conditions, at most {MAX_CONDITIONS}",
            errors=[{"field": where, "message": f"at most {MAX_CONDITIONS} conditions"}],
        )
    return rule


def dump_rule(rule: Rule) -> dict[str, Any]:
    """The rule as stored: JSON without the defaults left unset."""
    dumped: dict[str, Any] = _Document(rule=rule).model_dump(mode="json", exclude_none=True)
    return dumped["rule"]  # type: ignore[no-any-return]


def has_window(rule: Rule) -> bool:
    """Whether time alone can change the answer (a window moves on with the clock)."""
    return any(
        isinstance(leaf, EventRule | OrdersRule) and leaf.within_days is not None
        for leaf in leaves(rule)
    )
