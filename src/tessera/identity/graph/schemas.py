"""API shapes of the merge log, manual merges and unmerges, and the workspace's identity rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from tessera.models.identity import IdentityMerge


class MergeOut(BaseModel):
    id: str
    survivor_profile_id: str
    absorbed_profile_id: str
    cause_kind: str = Field(description="event, match or manual")
    cause_ref: str = Field(description="The message id, review id or person that caused it")
    evidence: dict[str, Any]
    actor: str | None
    created_at: datetime
    undone_at: datetime | None
    undone_by: str | None

    @classmethod
    def of(cls, row: IdentityMerge) -> MergeOut:
        return cls.model_validate(row, from_attributes=True)


class MergeIn(BaseModel):
    profile_ids: list[str] = Field(min_length=2, max_length=2, description="The two profiles")
    reason: str = Field(default="", max_length=500)


class UnmergeIn(BaseModel):
    reason: str = Field(default="", max_length=500)


class UnmergeOut(BaseModel):
    merge_id: str
    split_id: str = Field(description="The rule that keeps the two sides apart from now on")
    profile_ids: list[str]


class RulesOut(BaseModel):
    blocked_values: list[str] = Field(description="Values that never link (besides defaults)")
    limits: dict[str, int] = Field(description="Most identifiers of a type on one profile")
    priorities: list[str]
    default_region: str
    relay_domains: list[str] = Field(
        default_factory=list,
        description="Domains of addresses a platform issues in a buyer's place (besides "
        "default_relay_domains): kept as relay_email, never the profile's email, never a link",
    )
    default_relay_domains: list[str] = Field(default_factory=list)


class RulesIn(BaseModel):
    blocked_values: list[str] | None = Field(default=None, max_length=1000)
    limits: dict[str, int] | None = None
    relay_domains: list[str] | None = Field(default=None, max_length=200)
