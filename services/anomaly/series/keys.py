"""Which series a usage record feeds, at which granularity, and how it splits for root cause.

Series: the total, each (account, service), each value of the configured tag keys (team, project), and each
resource that is a top spender of its (account, service) (`top_spenders`).
A series' granularity follows its data: minute lines (live metering) feed minute series, hourly export
lines hourly series, daily lines daily series; the granularity is part of the series identity, so live
estimates and billed exports of the same service never mix. Lines longer than a day (monthly fees,
yearly commitments) are one-off charges, not a rate, and feed no series.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from outlay.events.usage import Money, UsageRecord
from services.anomaly.series.top_spenders import TopSpenders

GRANULARITIES: tuple[tuple[timedelta, str], ...] = (
    (timedelta(minutes=1), "minute"),
    (timedelta(hours=1), "hour"),
    (timedelta(days=1), "day"),
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SeriesSettings:
    tag_keys: tuple[str, ...] = ("team", "project")
    # Dimensions whose values can explain an anomaly (tags are added as `tag:<key>`).
    cause_dimensions: tuple[str, ...] = ("service", "region", "billing_account_id", "usage_type", "resource_id")


class SeriesContribution(BaseModel):
    """What one batch of usage adds to one bucket of one series: the message between the worker's two stages."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    series: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    granularity_s: int
    bucket: datetime
    amount: Money
    currency: str = "USD"
    record_ids: list[str] = Field(description="The usage lines summed in, so a replayed line is not counted twice.")
    breakdown: dict[str, Money] = Field(default_factory=dict, description="'dimension=value' → amount")


def granularity_of(record: UsageRecord) -> tuple[timedelta, str] | None:
    length = record.charge_period_end - record.charge_period_start
    for step, name in GRANULARITIES:
        if length <= step:
            return step, name
    return None


def bucket_of(at: datetime, step: timedelta) -> datetime:
    return at - (at - _EPOCH) % step


def series_of(
    record: UsageRecord, settings: SeriesSettings, own_series: bool = False
) -> list[tuple[str, dict[str, str]]]:
    """The series (identity, dimensions) this record feeds, granularity not included; `own_series`: its
    resource is a top spender and has a series of its own."""
    series: list[tuple[str, dict[str, str]]] = [("total", {})]
    dims = {"billing_account_id": record.billing_account_id, "service": record.service}
    series.append((_identity(dims), dims))
    for key in settings.tag_keys:
        value = record.tags.get(key)
        if value:
            tag = {f"tag:{key}": value}
            series.append((_identity(tag), tag))
    if own_series and record.resource_id:
        resource = {"resource_id": record.resource_id}
        series.append((_identity(resource), resource))
    return series


def causes_of(record: UsageRecord, settings: SeriesSettings) -> dict[str, str]:
    values = {d: getattr(record, d) for d in settings.cause_dimensions}
    values.update({f"tag:{k}": record.tags.get(k) for k in settings.tag_keys})
    return {d: v for d, v in values.items() if v}


def _identity(dims: dict[str, str]) -> str:
    return "|".join(f"{k}={v}" for k, v in dims.items())


@dataclass
class _Partial:
    dimensions: dict[str, str]
    currency: str
    amount: Decimal = Decimal(0)
    record_ids: list[str] = field(default_factory=list)
    breakdown: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


def contributions(
    records: Iterable[UsageRecord], settings: SeriesSettings, top: TopSpenders | None = None
) -> list[SeriesContribution]:
    """Sum a batch of records into one contribution per (series, bucket). Records must be checked first
    (`usage_problem`). With `top`, the batch first updates the ranking, then top spenders get their series."""
    records = list(records)
    if top is not None:
        top.observe(records)
    partials: dict[tuple[str, int, datetime], _Partial] = {}
    for record in records:
        granularity = granularity_of(record)
        if granularity is None:
            continue
        step, name = granularity
        bucket = bucket_of(record.charge_period_start, step)
        causes = causes_of(record, settings)
        for identity, dims in series_of(record, settings, top is not None and top.is_top(record)):
            series = f"{name}|{identity}"
            key = (series, int(step.total_seconds()), bucket)
            partial = partials.get(key)
            if partial is None:
                partial = partials[key] = _Partial(dims, record.currency)
            partial.amount += record.effective_cost
            partial.record_ids.append(record.record_id)
            for dim, value in causes.items():
                if dim not in dims:
                    partial.breakdown[f"{dim}={value}"] += record.effective_cost
    return [
        SeriesContribution(
            series=series,
            dimensions=p.dimensions,
            granularity_s=seconds,
            bucket=bucket,
            amount=p.amount,
            currency=p.currency,
            record_ids=p.record_ids,
            breakdown=dict(p.breakdown),
        )
        for (series, seconds, bucket), p in partials.items()
    ]


def usage_problem(record: UsageRecord) -> tuple[str, str] | None:
    """(field, reason) when a record must not be learnt: a detector fed a NaN or a negative cost
    (credits, refunds) would learn a baseline that is not spend."""
    cost = record.effective_cost
    if cost.is_nan():
        return "effective_cost", "is NaN"
    if cost < 0:
        return "effective_cost", f"is negative ({cost}): credits and refunds are not learnt as spend"
    return None
