"""API shapes of journeys. A definition travels as the JSON document ``definition.parse``
checks (its fields are documented on ``Definition``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tessera.models.journey import JourneyStatus

DEFINITION_EXAMPLE: dict[str, Any] = {
    "name": "Abandoned cart",
    "entry": {"kind": "event", "event": "Checkout Started", "key": "properties.cart_id"},
    "reentry": {"mode": "after_exit", "cooldown": "P1D"},
    "exits": [{"kind": "ordered"}],
    "start": "wait_order",
    "steps": [
        {
            "id": "wait_order",
            "type": "wait_for",
            "event": "Order Completed",
            "key": "properties.checkout_id",
            "timeout": "PT2H",
            "on_event": "done",
            "on_timeout": "sms",
        },
        {"id": "sms", "type": "send_sms", "template": "cart_sms", "next": "done"},
        {"id": "done", "type": "exit"},
    ],
}


class JourneyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    status: JourneyStatus
    live_version: int | None = Field(description="The version people enter; None until published")
    latest_version: int = Field(description="The newest saved version")
    created_at: datetime
    updated_at: datetime


class JourneyListItem(JourneyOut):
    inside: int = Field(description="People inside the journey now, on any version")


class JourneyPage(BaseModel):
    items: list[JourneyListItem]
    next_cursor: str | None


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    created_by: str
    created_at: datetime
    published_at: datetime | None = Field(description="When it was first published, if ever")


class VersionDetail(VersionOut):
    definition: dict[str, Any]


class StepCountOut(BaseModel):
    step: str
    entered: int = Field(description="Visits of the step begun, over every version")
    waiting: int = Field(description="People at the step now")
    exited: dict[str, int] = Field(description="People who left at the step, by reason")


class JourneyDetail(JourneyOut):
    versions: list[VersionOut] = Field(description="Every version, newest first")
    definition: dict[str, Any] = Field(description="The newest version's definition")
    steps: list[StepCountOut]


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1, description="Default: the newest version")


class InstanceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    journey_id: str
    version: int
    profile_id: str
    entry_key: str = Field(description="The key the person entered with; empty when not keyed")
    current_step: str
    visit: int = Field(description="How many step visits so far, this one included")
    awaiting_event: str | None
    awaiting_key: str | None
    wake_at: datetime | None = Field(description="When the current step's job is due")
    is_parked: bool = Field(description="Held because the journey is paused")
    is_holdout: bool
    entered_at: datetime
    left_at: datetime | None
    exit_reason: str | None


class InstancePage(BaseModel):
    items: list[InstanceOut]
    next_cursor: str | None


class ConversionOut(BaseModel):
    people: int = Field(description="Instances in the group")
    converted: int = Field(description="Of them, those with an order within the window")
    rate: float = Field(description="converted / people (0 when nobody)")
    revenue: dict[str, int] = Field(
        description="Converting orders' totals net of refunds, in minor units per currency"
    )


class StepMetricsOut(BaseModel):
    step: str
    entered: int = Field(description="Visits of the step begun, over every version")
    waiting: int = Field(description="People at the step now")
    exited: dict[str, int] = Field(description="People who left at the step, by reason")
    queued: int = Field(description="Messages the step queued")
    sent: int = Field(description="Of them, handed to the provider")
    delivered: int = Field(description="Of them, reported delivered")
    clicked: int = Field(description="Of them, with a tracked link clicked")


class SplitMetricsOut(BaseModel):
    step: str = Field(description="A random split with a holdout branch")
    holdout: ConversionOut
    treatment: ConversionOut = Field(description="Everyone who took another branch")
    lift: float = Field(description="The treatment's conversion rate minus the holdout's")


class MetricsOut(BaseModel):
    journey_id: str
    window_days: int = Field(description="An order within this many days of entry converts")
    entered: int
    inside: int = Field(description="People inside now (waiting at a step)")
    exited: dict[str, int] = Field(description="People who left, by reason")
    sent: int
    delivered: int
    clicked: int
    conversion: ConversionOut
    steps: list[StepMetricsOut]
    splits: list[SplitMetricsOut]


class ShippedJourneyOut(BaseModel):
    name: str = Field(description="What to install it by: abandoned_cart")
    title: str
    description: str
    entry_event: str | None = Field(description="The event people enter on")
    templates: list[str] = Field(description="The templates it sends, installed when missing")
    definition: dict[str, Any]


class InstalledOut(BaseModel):
    journey: JourneyOut = Field(description="The new draft journey (publish it to start)")
    created_templates: list[str]
    kept_templates: list[str] = Field(description="Templates the workspace had already, kept")
