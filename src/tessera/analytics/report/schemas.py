"""What the reports answer: plain pydantic shapes, money in minor units."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel


class Window(BaseModel):
    start: date
    end: date  # inclusive, in the workspace's zone
    time_zone: str
    as_of: datetime
    reason: str | None = None  # why the result is empty, when it is


class SegmentOut(BaseModel):
    segment: str
    customers: int
    orders: int
    revenue: int
    spend_per_customer: int
    orders_per_customer: float
    repeat_rate: float


class TrendPoint(BaseModel):
    month: str
    customers: int
    omnichannel_customers: int
    share: float


class OmnichannelReport(BaseModel):
    window: Window
    customers: int
    omnichannel_customers: int
    share: float
    segments: list[SegmentOut]
    trend: list[TrendPoint]


class CohortOut(BaseModel):
    cohort: str
    acquisition_channel: str | None = None
    size: int
    repeat_rate: float
    churn_rate: float
    retention: list[float]  # retention[k]: share of the cohort ordering k months after


class RetentionReport(BaseModel):
    window: Window
    group_by: str
    churn_days: int
    cohorts: list[CohortOut]


class CreditOut(BaseModel):
    channel: str
    conversions: Decimal
    value: int


class AttributionReport(BaseModel):
    window: Window
    group_by: str
    lookback_days: int
    conversions: int
    value: int
    models: dict[str, list[CreditOut]]


class ClvParameterOut(BaseModel):
    model: str  # bg_nbd or gamma_gamma
    name: str
    estimate: float
    standard_error: float | None  # None where the information matrix is not invertible


class ClvSegmentOut(BaseModel):
    dimension: str  # reach (omnichannel, single_channel) or acquisition_channel
    segment: str
    customers: int
    average_value: int  # minor units over the horizon, discounted
    total_value: int
    share_alive: float  # customers with P(alive) >= 0.5


class ClvCustomerOut(BaseModel):
    customer_id: str
    purchases: int
    probability_alive: float
    expected_purchases: float  # over the horizon
    value: int


class ClvReport(BaseModel):
    window: Window
    months: int
    monthly_discount_rate: float
    customers: int
    repeat_buyers: int
    parameters: list[ClvParameterOut] = []
    average_value: int = 0
    segments: list[ClvSegmentOut] = []
    top_customers: list[ClvCustomerOut] = []


class CustomerCountsReport(BaseModel):
    """The counts above the customers list, as of ``window.as_of``."""

    window: Window
    total: int
    omnichannel: int
    with_consent: int
    by_channel: dict[str, int]
