"""`outlay.business_metrics.v1`: one business figure of one tenant for one hour or one day.

Cost only means something against the business: customers, requests, orders, revenue (or a name the tenant
chooses) per hour or day, for the whole business or for one customer or feature. The unit-economics layer
(`outlay.unit_economics`) divides cost by these. The key is the series (tenant, name, dimension), so one series
keeps its order on one partition and a later correction of the same period is applied after the first value.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from outlay.events.currencies import currency_code
from outlay.events.usage import stable_record_id
from outlay.tenancy import DEFAULT_TENANT, TenantId

# The names every tenant shares; any other name matching METRIC_NAME is the tenant's own (custom) metric.
KNOWN_METRICS = ("customers", "requests", "orders", "revenue")
REVENUE = "revenue"
METRIC_NAME = r"^[a-z][a-z0-9_.-]{0,62}$"
_METRIC_NAME = re.compile(METRIC_NAME)
# Counts cannot be negative; revenue can (refunds) and so can a custom metric (whatever it measures).
COUNT_METRICS = frozenset({"customers", "requests", "orders"})
MAX_DIMENSION_VALUE = 256
# Far beyond any real figure, and the store's NUMERIC(38, 9) holds 29 digits before the point.
MAX_ABS_VALUE = Decimal("1e24")

# Exact on the wire (a JSON string, never a float), as every amount in Outlay's events.
Amount = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")]


class MetricGrain(StrEnum):
    HOUR = "hour"
    DAY = "day"


GRAIN_LENGTH = {MetricGrain.HOUR: timedelta(hours=1), MetricGrain.DAY: timedelta(days=1)}


class MetricDimension(StrEnum):
    CUSTOMER = "customer"
    FEATURE = "feature"


class BusinessMetric(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    metric_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[0-9A-Za-z_.:-]+$",
        description="Stable id within the tenant: a figure sent again with the same id replaces the first "
        "(the API derives it from the natural key when the sender gives none: `business_metric_id`).",
    )
    tenant_id: TenantId = DEFAULT_TENANT
    name: str = Field(description="customers | requests | orders | revenue, or a custom name (a-z, 0-9, _ . -)")
    period_start: datetime = Field(description="UTC; a whole hour (grain hour) or midnight (grain day)")
    period_end: datetime = Field(description="Exclusive: period_start plus one hour or one day")
    value: Amount
    currency: str | None = Field(default=None, description="ISO 4217; required for revenue, else absent")
    dimension: MetricDimension | None = Field(default=None, description="customer | feature; absent: the total")
    dimension_value: str | None = Field(default=None, description="Which customer or feature (with dimension)")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if _METRIC_NAME.fullmatch(value) is None:
            raise ValueError(
                f"{value!r} is not a metric name: 1-63 of a-z, 0-9, '_', '.', '-', starting with a letter "
                f"(known: {', '.join(KNOWN_METRICS)})"
            )
        return value

    @field_validator("period_start", "period_end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("value")
    @classmethod
    def _finite(cls, value: Decimal) -> Decimal:
        if not value.is_finite():
            raise ValueError("must be a finite number")
        if abs(value) >= MAX_ABS_VALUE:
            raise ValueError(f"must be below {MAX_ABS_VALUE:,.0f} in size")
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -9:  # 1e-999999999 would be a billion digits written out
            raise ValueError("must have at most 9 decimal places")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return None if value is None else currency_code(value)

    @field_validator("dimension_value")
    @classmethod
    def _dimension_value(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip() or len(value) > MAX_DIMENSION_VALUE or "\x00" in value:
            raise ValueError(f"must be 1-{MAX_DIMENSION_VALUE} characters, not blank, without NUL")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> BusinessMetric:
        problem = period_problem(self.period_start, self.period_end)
        if problem is not None:
            raise ValueError(problem)
        if self.name == REVENUE and self.currency is None:
            raise ValueError("currency: revenue needs its currency (ISO 4217)")
        if self.name != REVENUE and self.currency is not None and self.name in COUNT_METRICS:
            raise ValueError(f"currency: {self.name} is a count, it has no currency")
        if self.name in COUNT_METRICS and self.value < 0:
            raise ValueError(f"value: {self.name} cannot be negative")
        if (self.dimension is None) != (self.dimension_value is None):
            raise ValueError("dimension_value: give dimension and dimension_value together, or neither")
        return self

    @property
    def grain(self) -> MetricGrain:
        return (
            MetricGrain.HOUR
            if self.period_end - self.period_start == GRAIN_LENGTH[MetricGrain.HOUR]
            else MetricGrain.DAY
        )

    @property
    def key(self) -> bytes:
        """Kafka key: the series, so its corrections stay in order on one partition."""
        return f"{self.tenant_id}|{self.name}|{self.dimension or ''}={self.dimension_value or ''}".encode()


def period_problem(start: datetime, end: datetime) -> str | None:
    """What is wrong with a metric's period, or None: one whole UTC hour, or one whole UTC day."""
    length = end - start
    if length == GRAIN_LENGTH[MetricGrain.HOUR]:
        if start.minute or start.second or start.microsecond:
            return "period_start: an hourly figure starts on a whole hour"
        return None
    if length == GRAIN_LENGTH[MetricGrain.DAY]:
        if start.hour or start.minute or start.second or start.microsecond:
            return "period_start: a daily figure starts at midnight UTC"
        return None
    return "period_end: the period is one hour or one day (period_end = period_start + 1 hour or + 1 day)"


def business_metric_id(
    tenant_id: str,
    name: str,
    period_start: datetime,
    period_end: datetime,
    dimension: str | None,
    dimension_value: str | None,
) -> str:
    """The id of a figure from its natural key: sending the same period's figure again replaces it."""
    return stable_record_id(
        "business-metric", tenant_id, name, period_start.astimezone(UTC).isoformat(),
        period_end.astimezone(UTC).isoformat(), dimension or "", dimension_value or "",
    )  # fmt: skip
