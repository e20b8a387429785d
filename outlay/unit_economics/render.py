"""Unit-economics answers as JSON: money as exact decimal strings (nine places, as every cost Outlay serves),
statistics as numbers. No I/O."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

from outlay.unit_economics.correlation import Correlation
from outlay.unit_economics.figures import RatioAnomaly
from outlay.unit_economics.trends import Trend
from outlay.unit_economics.unit_costs import Cell, Line

_NINE = Decimal("1e-9")
_TWO = Decimal("0.01")
# Nine places of a figure up to 1e24 (the event's bound) take 33 digits: more than the default context's 28.
_PRECISION = 80


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def money(value: Decimal | None) -> str | None:
    if value is None:
        return None
    with localcontext(prec=_PRECISION):
        return format(value.quantize(_NINE), "f")


def percent(value: Decimal | None) -> str | None:
    if value is None:
        return None
    with localcontext(prec=_PRECISION):
        return format(value.quantize(_TWO), "f")


def figure(value: Decimal | None) -> str | None:
    """A business figure as sent (no trailing zeros; a mean of a gauge to nine places)."""
    if value is None:
        return None
    with localcontext(prec=_PRECISION):
        return format(value.quantize(_NINE).normalize(), "f")


def _cell(cell: Cell) -> dict[str, Any]:
    return {
        "period_start": iso(cell.period_start),
        "cost": money(cell.cost),
        "driver": figure(cell.driver),
        "unit_cost": money(cell.unit_cost),
        "revenue": money(cell.revenue),
        "gross_margin": money(cell.margin),
        "gross_margin_pct": percent(cell.margin_pct),
        "shared_cost": money(cell.shared_cost),
    }


def _trend(trend: Trend | None) -> dict[str, Any] | None:
    if trend is None:
        return None
    return {
        "points": trend.points,
        "slope_per_period": round(trend.slope_per_period, 9),
        "first_half_mean": round(trend.first_half_mean, 9),
        "second_half_mean": round(trend.second_half_mean, 9),
        "change_pct": None if trend.change_pct is None else round(trend.change_pct, 2),
    }


def _anomaly(anomaly: RatioAnomaly) -> dict[str, Any]:
    return {
        "period_start": iso(anomaly.period_start),
        "unit_cost": money(anomaly.actual),
        "expected_unit_cost": money(anomaly.expected),
        "likelihood": round(anomaly.likelihood, 6),
        "direction": anomaly.direction.value,
        "severity": anomaly.severity.value,
    }


def line_json(line: Line, anomalies: list[RatioAnomaly]) -> dict[str, Any]:
    return {
        "kind": line.kind.value,
        "group": line.group,
        "currency": line.currency,
        "cost": money(line.cost),
        "driver": figure(line.driver),
        "unit_cost": money(line.unit_cost),
        "periods_without_driver": line.periods_without_driver,
        "shared_cost": money(line.shared_cost),
        "revenue": money(line.revenue),
        "gross_margin": money(line.margin),
        "gross_margin_pct": percent(line.margin_pct),
        "trend": _trend(line.trend),
        "anomalies": [_anomaly(a) for a in anomalies],
        "periods": [_cell(c) for c in line.cells],
    }


def _float(value: float | None, places: int) -> float | None:
    return None if value is None else round(value, places)


def _amount(value: float | None) -> str | None:
    return None if value is None else money(Decimal(repr(value)))


def correlation_json(result: Correlation) -> dict[str, Any]:
    fit = result.fit
    return {
        "days": result.points,
        "pearson": _float(result.pearson, 6),
        "elasticity": _float(result.elasticity, 6),
        "elasticity_days": result.elasticity_points,
        "fit": None
        if fit is None
        else {
            "intercept": _amount(fit.intercept),
            "slope": _float(fit.slope, 12),
            "r_squared": _float(fit.r_squared, 6),
        },
        "fixed_cost_per_day": _amount(result.fixed_cost_per_period),
        "fixed_share": _float(result.fixed_share, 6),
        "mean_daily_cost": _amount(result.mean_cost),
        "explanation": result.explanation,
    }
