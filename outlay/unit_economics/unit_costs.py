"""Unit costs: cost per customer, per feature, per 1,000 requests, and gross margin, per period and over a range.

Every line of the answer is one of: a group (a customer or feature, from the cost's `customer` / `feature` tag),
the unallocated cost (cost without that tag: shared resources, untagged ones; always shown, never spread out of
sight), and the total. A group line divides its own cost by its own figures (that customer's requests); the
unallocated and total lines divide by the whole business's figures. No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from outlay.unit_economics.figures import By, SeriesKey, combine
from outlay.unit_economics.trends import Trend, trend

REVENUE = "revenue"
# Dimensions tried, in order, for the whole business's figure when no total was sent (`by` first).
_DIMENSIONS = ("customer", "feature")


class LineKind(StrEnum):
    GROUP = "group"  # one customer or feature
    UNALLOCATED = "unallocated"  # cost without the tag: shared or untagged
    TOTAL = "total"


@dataclass(frozen=True)
class Cell:
    """One period of one line."""

    period_start: datetime
    cost: Decimal
    driver: Decimal | None  # the business figure the cost is divided by (None: none was sent)
    unit_cost: Decimal | None  # cost / driver x per (None without a positive driver)
    revenue: Decimal | None = None
    margin: Decimal | None = None  # revenue − cost
    margin_pct: Decimal | None = None  # margin / revenue x 100


@dataclass(frozen=True)
class Line:
    kind: LineKind
    group: str | None  # the customer or feature (GROUP lines only)
    currency: str
    cells: list[Cell]
    cost: Decimal  # over every period
    driver: Decimal | None  # over the periods with a figure: summed (a flow) or averaged (a gauge: customers)
    unit_cost: Decimal | None  # the cost of the periods with a figure / driver x per
    periods_without_driver: int
    revenue: Decimal | None
    margin: Decimal | None  # over the periods with revenue
    margin_pct: Decimal | None
    trend: Trend | None


@dataclass(frozen=True)
class UnitCostInputs:
    metric: str  # the business figure cost is divided by: requests, customers, orders, revenue, or a custom name
    per: Decimal  # cost per this many units (1,000 requests)
    by: By
    periods: Sequence[datetime]
    costs: Mapping[tuple[datetime, str, str | None], Decimal]  # (period, currency, group) -> cost
    figures: Mapping[tuple[SeriesKey, datetime], Decimal]  # `figures.at_grain`
    notes: list[str] = field(default_factory=list)


def _figure(inputs: UnitCostInputs, name: str, period: datetime, dim: str | None, value: str | None,
            currency: str) -> Decimal | None:  # fmt: skip
    """One series' figure in a period; a figure with a currency counts only against cost in that currency."""
    for cur in (None, currency):
        found = inputs.figures.get(((name, dim, value, cur), period))
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class _Sums:
    """Sums computed once per answer, so each period's lookup is a dict access (hourly answers have thousands)."""

    cost: dict[tuple[datetime, str], Decimal]  # (period, currency) -> every group's cost
    by_dimension: dict[tuple[str, str, str | None, datetime], Decimal]  # (name, dimension, currency, period)

    @classmethod
    def of(cls, inputs: UnitCostInputs) -> _Sums:
        cost: dict[tuple[datetime, str], Decimal] = {}
        for (period, currency, _group), value in inputs.costs.items():
            cost[(period, currency)] = cost.get((period, currency), Decimal(0)) + value
        dims: dict[tuple[str, str, str | None, datetime], Decimal] = {}
        for ((name, dim, _value, figure_currency), period), value in inputs.figures.items():
            if dim is not None:
                key = (name, dim, figure_currency, period)
                dims[key] = dims.get(key, Decimal(0)) + value
        return cls(cost, dims)


def _business_figure(inputs: UnitCostInputs, sums: _Sums, name: str, period: datetime, currency: str) -> Decimal | None:
    """The whole business's figure in a period: its total when sent, else the sum over one dimension's values."""
    total = _figure(inputs, name, period, None, None, currency)
    if total is not None:
        return total
    dims = ([inputs.by.value] if inputs.by is not By.NONE else []) + [d for d in _DIMENSIONS if d != inputs.by.value]
    for dim in dims:
        parts = [sums.by_dimension.get((name, dim, cur, period)) for cur in (None, currency)]
        found = [p for p in parts if p is not None]
        if found:
            return sum(found, Decimal(0))
    return None


def _divide(cost: Decimal, driver: Decimal | None, per: Decimal) -> Decimal | None:
    return cost / driver * per if driver is not None and driver > 0 else None


def _margin(revenue: Decimal | None, cost: Decimal) -> tuple[Decimal | None, Decimal | None]:
    if revenue is None:
        return None, None
    margin = revenue - cost
    return margin, (margin / revenue * 100 if revenue != 0 else None)


def _line(inputs: UnitCostInputs, sums: _Sums, kind: LineKind, group: str | None, currency: str) -> Line:
    cells: list[Cell] = []
    for period in inputs.periods:
        if kind is LineKind.TOTAL:
            cost = sums.cost.get((period, currency), Decimal(0))
        else:
            cost = inputs.costs.get((period, currency, group), Decimal(0))
        if kind is LineKind.GROUP:
            driver = _figure(inputs, inputs.metric, period, inputs.by.value, group, currency)
            revenue = _figure(inputs, REVENUE, period, inputs.by.value, group, currency)
        else:
            driver = _business_figure(inputs, sums, inputs.metric, period, currency)
            # Revenue belongs to customers and features, never to shared cost: the unallocated line has no margin.
            revenue = _business_figure(inputs, sums, REVENUE, period, currency) if kind is LineKind.TOTAL else None
        margin, pct = _margin(revenue, cost)
        cells.append(Cell(period, cost, driver, _divide(cost, driver, inputs.per), revenue, margin, pct))
    with_driver = [c for c in cells if c.driver is not None]
    driver_total = combine(inputs.metric, [c.driver for c in with_driver if c.driver is not None])
    covered_cost = sum((c.cost for c in with_driver), Decimal(0))
    with_revenue = [c for c in cells if c.revenue is not None]
    revenue_total = (
        sum((c.revenue for c in with_revenue if c.revenue is not None), Decimal(0)) if with_revenue else None
    )
    margin, pct = _margin(revenue_total, sum((c.cost for c in with_revenue), Decimal(0)))
    return Line(
        kind=kind, group=group, currency=currency, cells=cells, cost=sum((c.cost for c in cells), Decimal(0)),
        driver=driver_total, unit_cost=_divide(covered_cost, driver_total, inputs.per),
        periods_without_driver=len(cells) - len(with_driver), revenue=revenue_total, margin=margin, margin_pct=pct,
        trend=trend([(c.period_start, c.unit_cost) for c in cells if c.unit_cost is not None]),
    )  # fmt: skip


def unit_costs(inputs: UnitCostInputs) -> list[Line]:
    """Every line: the groups by cost (largest first), then the unallocated cost, then the total; per currency
    (amounts in two currencies are never added)."""
    currencies = sorted({c for (_p, c, _g) in inputs.costs})
    sums = _Sums.of(inputs)
    lines: list[Line] = []
    for currency in currencies:
        groups = {g for (_p, c, g) in inputs.costs if c == currency}
        if inputs.by is not By.NONE:
            named = [_line(inputs, sums, LineKind.GROUP, g, currency) for g in groups if g is not None]
            lines.extend(sorted(named, key=lambda line: (-line.cost, line.group or "")))
            # Shown even at zero: an answer without the line would hide that everything was allocated, or not.
            lines.append(_line(inputs, sums, LineKind.UNALLOCATED, None, currency))
        lines.append(_line(inputs, sums, LineKind.TOTAL, None, currency))
    return lines
