"""Unit costs: cost per customer, per feature, per 1,000 requests, and gross margin, per period and over a range.

Every line of the answer is one of: a group (a customer or feature, from the cost's `customer` / `feature` tag),
the unallocated cost (cost without that tag: shared resources, untagged ones; always shown, never spread out of
sight), and the total. A group line divides its own cost by its own figures (that customer's requests); the
unallocated and total lines divide by the whole business's figures. No I/O.

Shared cost can instead be split by usage (`Shared.BY_USAGE`): in each period, the unallocated cost goes to the
customers or features in proportion to their own figure of the metric (their requests), exactly to the nano-unit
(`outlay.allocation.split`); each line then says how much of its cost came from the split. A period in which no
group has a positive figure keeps its cost unallocated (nothing says who used it), and the answer notes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from outlay.allocation.split import split_by_weights
from outlay.money import from_nanos, to_nanos
from outlay.unit_economics.figures import By, SeriesKey, combine
from outlay.unit_economics.trends import Trend, trend

REVENUE = "revenue"
# Dimensions tried, in order, for the whole business's figure when no total was sent (`by` first).
_DIMENSIONS = ("customer", "feature")


class Shared(StrEnum):
    KEEP = "keep"  # shared and untagged cost stays on its own line
    BY_USAGE = "by_usage"  # split across the groups by their figure of the metric, period by period


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
    shared_cost: Decimal = Decimal(0)  # the part of `cost` that came from splitting shared cost by usage


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
    shared_cost: Decimal = Decimal(0)


@dataclass(frozen=True)
class UnitCostInputs:
    metric: str  # the business figure cost is divided by: requests, customers, orders, revenue, or a custom name
    per: Decimal  # cost per this many units (1,000 requests)
    by: By
    periods: Sequence[datetime]
    costs: Mapping[tuple[datetime, str, str | None], Decimal]  # (period, currency, group) -> cost
    figures: Mapping[tuple[SeriesKey, datetime], Decimal]  # `figures.at_grain`
    notes: list[str] = field(default_factory=list)
    shared: Shared = Shared.KEEP


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


_USAGE_SCALE = 10**9  # figures carry at most nine decimals: scaled, they are exact integer weights


def split_shared_by_usage(inputs: UnitCostInputs) -> tuple[dict[tuple[datetime, str, str | None], Decimal],
                                                           dict[tuple[datetime, str, str], Decimal], list[datetime]]:  # fmt: skip
    """The costs with each period's unallocated cost split across the groups by their figure of the metric; the
    part each group received; and the periods whose shared cost stayed unallocated (no group had a figure)."""
    costs = dict(inputs.costs)
    received: dict[tuple[datetime, str, str], Decimal] = {}
    kept: list[datetime] = []
    usage: dict[datetime, list[tuple[str, str | None, Decimal]]] = {}  # period -> (group, currency, figure)
    for ((name, dim, value, cur), at), figure in inputs.figures.items():
        if name == inputs.metric and dim == inputs.by.value and value is not None and figure > 0:
            usage.setdefault(at, []).append((value, cur, figure))
    for (period, currency, group), shared in inputs.costs.items():
        if group is not None or shared == 0:
            continue
        weights: dict[str, int] = {}
        for value, cur, figure in usage.get(period, []):
            if cur in (None, currency):
                weights[value] = weights.get(value, 0) + int(figure * _USAGE_SCALE)
        if not weights:
            kept.append(period)
            continue
        costs[(period, currency, None)] = Decimal(0)
        for value, part in split_by_weights(to_nanos(shared), weights).items():
            amount = from_nanos(part)
            costs[(period, currency, value)] = costs.get((period, currency, value), Decimal(0)) + amount
            received[(period, currency, value)] = amount
    return costs, received, sorted(set(kept))


def _line(inputs: UnitCostInputs, sums: _Sums, kind: LineKind, group: str | None, currency: str,
          received: Mapping[tuple[datetime, str, str], Decimal]) -> Line:  # fmt: skip
    cells: list[Cell] = []
    for period in inputs.periods:
        shared = received.get((period, currency, group), Decimal(0)) if group is not None else Decimal(0)
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
        cells.append(Cell(period, cost, driver, _divide(cost, driver, inputs.per), revenue, margin, pct, shared))
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
        shared_cost=sum((c.shared_cost for c in cells), Decimal(0)),
    )  # fmt: skip


def unit_costs(inputs: UnitCostInputs) -> list[Line]:
    """Every line: the groups by cost (largest first), then the unallocated cost, then the total; per currency
    (amounts in two currencies are never added). With `Shared.BY_USAGE` (and a grouping), shared cost is split
    first; periods it could not be split in are added to `inputs.notes`."""
    received: dict[tuple[datetime, str, str], Decimal] = {}
    if inputs.shared is Shared.BY_USAGE and inputs.by is not By.NONE:
        costs, received, kept = split_shared_by_usage(inputs)
        if kept:
            inputs.notes.append(
                f"shared cost of {len(kept)} period(s) stays unallocated: no {inputs.by.value} had a figure of "
                f"{inputs.metric} then (first {kept[0].isoformat()})"
            )
        inputs = replace(inputs, costs=costs)
    currencies = sorted({c for (_p, c, _g) in inputs.costs})
    sums = _Sums.of(inputs)
    lines: list[Line] = []
    for currency in currencies:
        groups = {g for (_p, c, g) in inputs.costs if c == currency}
        if inputs.by is not By.NONE:
            named = [_line(inputs, sums, LineKind.GROUP, g, currency, received) for g in groups if g is not None]
            lines.extend(sorted(named, key=lambda line: (-line.cost, line.group or "")))
            # Shown even at zero: an answer without the line would hide that everything was allocated, or not.
            lines.append(_line(inputs, sums, LineKind.UNALLOCATED, None, currency, received))
        lines.append(_line(inputs, sums, LineKind.TOTAL, None, currency, received))
    return lines
