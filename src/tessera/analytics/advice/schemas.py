"""What channel advice answers: sentences with the figures behind them."""

from __future__ import annotations

from pydantic import BaseModel

from tessera.analytics.report.schemas import Window


class Figure(BaseModel):
    name: str
    value: float


class Advice(BaseModel):
    kind: str  # omnichannel_value, strongest_pair, single_channel_base, add_channel, no_add
    channel: str | None  # the channel the sentence is about, when one
    text: str
    figures: list[Figure]
    would_change: str  # what in the data would change this advice


class PairOut(BaseModel):
    channels: list[str]
    customers: int
    spend_per_customer: int


class SingleOut(BaseModel):
    channel: str
    customers: int
    spend_per_customer: int


class MediumOut(BaseModel):
    medium: str
    touches: int
    share: float


class AdviceReport(BaseModel):
    window: Window
    channels: list[str]  # the channels the brand sells on in the window
    customers: int
    omnichannel_share: float
    advice: list[Advice]
    pairs: list[PairOut]
    single_channel: list[SingleOut]
    media: list[MediumOut]
