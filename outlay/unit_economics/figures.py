"""The two inputs of unit economics, as plain values: cost per period (and group) and business figures per period,
and how each is brought to one grain and one cost basis. No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from outlay.events.anomaly import AnomalyDirection, Severity

NANOS = Decimal(1_000_000_000)
# Figures that say how many there are at a time (a stock), not how many happened (a flow): their hours make a day
# by the largest hour, and a range's figure is their mean; every other figure adds up.
GAUGE_METRICS = frozenset({"customers"})


class Grain(StrEnum):
    HOUR = "hour"
    DAY = "day"


class By(StrEnum):
    CUSTOMER = "customer"
    FEATURE = "feature"
    NONE = "none"


STEP = {Grain.HOUR: timedelta(hours=1), Grain.DAY: timedelta(days=1)}


@dataclass(frozen=True)
class MetricPoint:
    """One stored business figure (`BusinessMetric` as the store returns it; naive UTC)."""

    name: str
    grain: str  # hour | day
    period_start: datetime
    value: Decimal
    currency: str | None = None
    dimension: str | None = None  # customer | feature; None: the whole business
    dimension_value: str | None = None


@dataclass(frozen=True)
class CostCell:
    """Cost of one period, group (a tag value; None when the cost carries no such tag) and currency, one cost kind."""

    period_start: datetime
    group: str | None
    currency: str
    cost_kind: str  # billed | estimated
    nanos: int


def billed_else_estimated(cells: Iterable[CostCell]) -> dict[tuple[datetime, str, str | None], Decimal]:
    """Cost per (period, currency, group): the bill where a period has one, else the live estimate.

    Chosen per (period, currency) over all groups, not per group: a customer whose bill has arrived must not be
    compared with another's estimate in the same period, and the two are never added (they price the same usage).
    """
    cells = list(cells)
    billed = {(c.period_start, c.currency) for c in cells if c.cost_kind == "billed" and c.nanos}
    out: dict[tuple[datetime, str, str | None], Decimal] = {}
    for c in cells:
        use = "billed" if (c.period_start, c.currency) in billed else "estimated"
        if c.cost_kind != use:
            continue
        key = (c.period_start, c.currency, c.group)
        out[key] = out.get(key, Decimal(0)) + Decimal(c.nanos) / NANOS
    return out


def _floor(at: datetime, grain: Grain) -> datetime:
    return (
        at.replace(minute=0, second=0, microsecond=0)
        if grain is Grain.HOUR
        else at.replace(hour=0, minute=0, second=0, microsecond=0)
    )


SeriesKey = tuple[str, str | None, str | None, str | None]  # (name, dimension, dimension value, currency)


def at_grain(points: Sequence[MetricPoint], grain: Grain) -> dict[tuple[SeriesKey, datetime], Decimal]:
    """Each series' figure per period of `grain`.

    Daily answers take a day's own daily figure when one was sent, else its hourly figures (summed; the largest for
    a gauge such as customers): a sender that sends both must not be counted twice. Hourly answers use hourly figures
    only: a daily figure says nothing about how the day's hours differed.
    """
    daily: dict[tuple[SeriesKey, datetime], Decimal] = {}
    hourly: dict[tuple[SeriesKey, datetime], list[Decimal]] = {}
    for p in points:
        series: SeriesKey = (p.name, p.dimension, p.dimension_value, p.currency)
        if p.grain == Grain.DAY.value:
            if grain is Grain.DAY:
                daily[(series, p.period_start)] = Decimal(p.value)
            continue
        hourly.setdefault((series, _floor(p.period_start, grain)), []).append(Decimal(p.value))
    out = dict(daily)
    for key, values in hourly.items():
        if key in out:
            continue
        out[key] = max(values) if key[0][0] in GAUGE_METRICS else sum(values, Decimal(0))
    return out


def combine(name: str, values: Sequence[Decimal]) -> Decimal | None:
    """A figure over several periods: the sum of a flow, the mean of a gauge (None without values)."""
    if not values:
        return None
    total = sum(values, Decimal(0))
    return total / len(values) if name in GAUGE_METRICS else total


@dataclass(frozen=True)
class RatioAnomaly:
    """A point of a unit-cost series where the anomaly service's detector opens an anomaly
    (`services.anomaly.detection.ratios`)."""

    period_start: datetime
    actual: Decimal
    expected: Decimal
    likelihood: float
    direction: AnomalyDirection
    severity: Severity
