"""How a unit cost moves over a range: a least-squares slope per period and the change from the first half of the
range to the second (halves, not the end points: one odd day should not make the trend). No I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

MIN_POINTS = 4  # fewer points say nothing about a direction


@dataclass(frozen=True)
class Trend:
    points: int
    slope_per_period: float  # change of the unit cost per period of the answer's grain
    first_half_mean: float
    second_half_mean: float
    change_pct: float | None  # (second − first) / first x 100; None when the first half is 0


def trend(points: Sequence[tuple[datetime, Decimal]]) -> Trend | None:
    """The trend of (period, value) points in time order, each period one step; None with fewer than 4."""
    if len(points) < MIN_POINTS:
        return None
    ys = [float(v) for _, v in points]
    n = len(ys)
    xs = list(range(n))  # the answer's periods are evenly spaced; a missing period only shortens the series
    mean_x, mean_y = (n - 1) / 2, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    half = n // 2
    first, second = sum(ys[:half]) / half, sum(ys[n - half :]) / half
    change = (second - first) / first * 100 if first else None
    return Trend(n, slope, first, second, change)
