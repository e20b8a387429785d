"""Request and response shapes of the unit-economics routes (`routes/unit_economics.py`), as OpenAPI documents them.
Money and business figures are exact decimal strings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from outlay.events.business_metric import MetricDimension, MetricGrain
from outlay.text import printable

MAX_BATCH = 5000


class MetricIn(BaseModel):
    """One figure as a sender writes it: `grain` or `period_end` gives the period."""

    model_config = ConfigDict(extra="forbid")

    # Printable text only: a lone surrogate could not even be encoded into the figure's id.
    name: Annotated[str, AfterValidator(printable)] = Field(
        description="customers | requests | orders | revenue, or a custom name"
    )
    period_start: datetime = Field(description="A whole UTC hour, or midnight UTC for a day (no offset: UTC)")
    grain: MetricGrain | None = Field(default=None, description="hour | day (or give period_end)")
    period_end: datetime | None = Field(default=None, description="Exclusive; period_start + 1 hour or + 1 day")
    value: Decimal = Field(description="A decimal (a string keeps it exact)")
    currency: str | None = Field(default=None, description="ISO 4217; required for revenue")
    dimension: MetricDimension | None = Field(default=None, description="customer | feature; absent: the total")
    dimension_value: Annotated[str, AfterValidator(printable)] | None = Field(
        default=None, description="Which customer or feature"
    )
    metric_id: str | None = Field(
        default=None,
        description="Refused when sent: the id is derived from the natural key (tenant, name, period, dimension), "
        "so a figure posted again replaces the one stored",
    )


class MetricsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metrics: list[MetricIn] = Field(min_length=1, max_length=MAX_BATCH)


class MetricsAccepted(BaseModel):
    accepted: int
    metric_ids: list[str] = Field(description="In the order sent: send one again with its id to replace it")
    topic: str


class UnitCostCellOut(BaseModel):
    period_start: str
    cost: str = Field(description="Exact decimal, nine places")
    driver: str | None = Field(description="The business figure of the period (null: none sent)")
    unit_cost: str | None = Field(description="cost / driver x per (null without a positive figure)")
    revenue: str | None
    gross_margin: str | None = Field(description="revenue - cost")
    gross_margin_pct: str | None = Field(description="gross_margin / revenue x 100, two places")
    shared_cost: str | None = Field(
        description="The part of cost split to this line from shared cost (shared=by_usage)"
    )


class TrendOut(BaseModel):
    points: int
    slope_per_period: float = Field(description="Change of the unit cost per period (least squares)")
    first_half_mean: float
    second_half_mean: float
    change_pct: float | None = Field(description="Second half's mean against the first's, in %")


class RatioAnomalyOut(BaseModel):
    period_start: str
    unit_cost: str
    expected_unit_cost: str
    likelihood: float
    direction: str = Field(description="spike | drop")
    severity: str = Field(description="low | medium | high | critical")


class UnitCostLineOut(BaseModel):
    kind: str = Field(description="group (a customer or feature) | unallocated (cost without the tag) | total")
    group: str | None
    currency: str
    cost: str
    driver: str | None = Field(description="Over the periods with a figure: summed, or the mean for customers")
    unit_cost: str | None = Field(description="Cost of the periods with a figure / driver x per")
    periods_without_driver: int
    shared_cost: str | None = Field(
        description="The part of cost split to this line from shared cost (shared=by_usage)"
    )
    revenue: str | None
    gross_margin: str | None
    gross_margin_pct: str | None
    trend: TrendOut | None = Field(description="Null with fewer than 4 periods with a unit cost")
    anomalies: list[RatioAnomalyOut]
    periods: list[UnitCostCellOut]


class UnitCostsOut(BaseModel):
    metric: str
    per: str
    by: str
    grain: str
    start: str
    end: str = Field(description="Exclusive")
    cost_metric: str
    cost_basis: str = Field(description="billed_else_estimated: the bill where a period has one, else the estimate")
    lines: list[UnitCostLineOut]
    notes: list[str]


class LinearFitOut(BaseModel):
    intercept: str | None = Field(description="Daily cost with no business at all, before clamping")
    slope: float | None = Field(description="Cost per unit of the driver")
    r_squared: float | None


class CorrelationPointOut(BaseModel):
    day: str
    cost: str
    driver: str


class CorrelationOut(BaseModel):
    driver: str
    start: str
    end: str = Field(description="Exclusive")
    currency: str | None
    cost_metric: str
    cost_basis: str
    days: int
    pearson: float | None
    elasticity: float | None = Field(description="Slope of log cost on log driver")
    elasticity_days: int
    fit: LinearFitOut | None
    fixed_cost_per_day: str | None = Field(description="The fit's intercept clamped into [0, mean daily cost]")
    fixed_share: float | None = Field(description="fixed_cost_per_day / mean_daily_cost")
    mean_daily_cost: str | None
    explanation: str
    points: list[CorrelationPointOut]
    other_currencies: list[str]
