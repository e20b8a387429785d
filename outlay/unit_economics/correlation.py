"""How cost moves with the business: from daily (cost, driver) pairs, where the driver is revenue or a usage figure
such as requests. No I/O.

- Pearson correlation of daily cost and driver: do they move together at all.
- Elasticity: the slope of log cost on log driver. 1 means cost grows in proportion (10% more requests, 10% more
  cost); 0.3 that it grows far slower (economies of scale, or a large fixed part); above 1 that it grows faster.
- The part that does not scale: a straight line fitted to daily cost against the driver, cost = fixed + rate x
  driver; its intercept is the cost a day would have with no business at all (idle capacity, shared platforms,
  minimum commitments). A fit can put it below zero (cost grows faster than the business) or above the average
  cost (cost falls as the business grows): it is then clamped into [0, mean daily cost] and the answer says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_POINTS = 3  # a line through two points always fits; three is the least that says anything


@dataclass(frozen=True)
class LinearFit:
    intercept: float
    slope: float
    r_squared: float | None  # None when cost does not vary


@dataclass(frozen=True)
class Correlation:
    points: int
    pearson: float | None  # None when either series is constant
    elasticity: float | None  # None without 3 days where both are positive, or a constant driver there
    elasticity_points: int  # days used for it (cost and driver both > 0)
    fit: LinearFit | None
    fixed_cost_per_period: float | None  # the fit's intercept, clamped into [0, mean cost]
    fixed_share: float | None  # fixed_cost_per_period / mean cost (0..1)
    mean_cost: float | None
    explanation: str


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> LinearFit | None:
    """Ordinary least squares y = intercept + slope x; None when x does not vary."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx <= 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = my - slope * mx
    syy = sum((y - my) ** 2 for y in ys)
    residual = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
    return LinearFit(intercept, slope, 1.0 - residual / syy if syy > 0 else None)


def correlate(costs: Sequence[float], drivers: Sequence[float], driver_name: str = "the driver") -> Correlation:
    """The correlation of daily `costs` with daily `drivers` (same days, same order)."""
    n = len(costs)
    if n < MIN_POINTS:
        return Correlation(n, None, None, 0, None, None, None, None,
                           f"needs at least {MIN_POINTS} days with both cost and {driver_name} (got {n})")  # fmt: skip
    positive = [(math.log(c), math.log(d)) for c, d in zip(costs, drivers, strict=True) if c > 0 and d > 0]
    log_fit = linear_fit([d for _, d in positive], [c for c, _ in positive]) if len(positive) >= MIN_POINTS else None
    fit = linear_fit(drivers, costs)
    mean_cost = sum(costs) / n
    fixed, share, why = _fixed_part(fit, mean_cost, driver_name)
    return Correlation(
        points=n, pearson=pearson(drivers, costs), elasticity=None if log_fit is None else log_fit.slope,
        elasticity_points=len(positive), fit=fit, fixed_cost_per_period=fixed, fixed_share=share, mean_cost=mean_cost,
        explanation=why,
    )  # fmt: skip


def _fixed_part(fit: LinearFit | None, mean_cost: float, driver: str) -> tuple[float | None, float | None, str]:
    if fit is None:
        return None, None, f"{driver} did not vary over the range, so how cost moves with it cannot be measured"
    if mean_cost <= 0:
        return None, None, "there was no cost over the range"
    fitted = f"a straight line fitted to daily cost against daily {driver} (r² {_r2(fit)})"
    if fit.intercept < 0:
        return (
            0.0,
            0.0,
            (
                f"no part of cost stands still: {fitted} crosses zero cost above zero {driver} "
                f"(intercept {fit.intercept:.2f}, shown as 0): cost grows faster than {driver}"
            ),
        )
    if fit.intercept > mean_cost:
        return (
            mean_cost,
            1.0,
            (
                f"cost does not grow with {driver}: {fitted} slopes down (intercept {fit.intercept:.2f} above the mean "
                f"daily cost {mean_cost:.2f}, shown as the whole mean)"
            ),
        )
    share = fit.intercept / mean_cost
    return (
        fit.intercept,
        share,
        (
            f"about {fit.intercept:.2f} a day ({share:.0%} of the mean daily cost of {mean_cost:.2f}) does not move with "
            f"{driver}: the intercept of {fitted}; each further unit of {driver} adds {fit.slope:.6g}"
        ),
    )


def _r2(fit: LinearFit) -> str:
    return "n/a" if fit.r_squared is None else f"{fit.r_squared:.2f}"
