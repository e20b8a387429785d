"""The pure math of unit economics: cost basis, figures at a grain, unit costs and margins, trends, correlation."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from outlay.unit_economics.correlation import correlate, linear_fit, pearson
from outlay.unit_economics.figures import By, CostCell, Grain, MetricPoint, at_grain, billed_else_estimated, combine
from outlay.unit_economics.render import figure, money, percent
from outlay.unit_economics.trends import trend
from outlay.unit_economics.unit_costs import LineKind, Shared, UnitCostInputs, unit_costs

D1, D2 = datetime(2026, 11, 1), datetime(2026, 11, 2)
NANO = 1_000_000_000


def cell(at: datetime, group: str | None, dollars: str, kind: str = "billed", currency: str = "USD") -> CostCell:
    return CostCell(at, group, currency, kind, int(Decimal(dollars) * NANO))


def point(name: str, at: datetime, value: str, grain: str = "day", dim: str | None = None, of: str | None = None,
          currency: str | None = None) -> MetricPoint:  # fmt: skip
    return MetricPoint(name, grain, at, Decimal(value), currency, dim, of)


def test_the_bill_replaces_the_estimate_per_period_and_they_are_never_added() -> None:
    costs = billed_else_estimated(
        [cell(D1, "acme", "10", "estimated"), cell(D1, "globex", "4", "billed"), cell(D1, "acme", "9", "billed"),
         cell(D2, "acme", "3", "estimated")]
    )  # fmt: skip
    assert costs == {
        (D1, "USD", "acme"): Decimal(9),
        (D1, "USD", "globex"): Decimal(4),
        (D2, "USD", "acme"): Decimal(3),  # no bill yet for D2: the estimate
    }


def test_a_day_takes_its_daily_figure_else_its_hours_summed_and_a_gauge_takes_its_largest_hour() -> None:
    points = [
        point("requests", D1, "1000"),
        *[point("requests", D1 + timedelta(hours=h), "10", "hour") for h in range(24)],  # D1 has a daily figure
        *[point("requests", D2 + timedelta(hours=h), "5", "hour") for h in range(24)],
        *[point("customers", D2 + timedelta(hours=h), str(h % 7), "hour") for h in range(24)],
    ]
    daily = at_grain(points, Grain.DAY)
    key = ("requests", None, None, None)
    assert daily[(key, D1)] == 1000 and daily[(key, D2)] == 120
    assert daily[(("customers", None, None, None), D2)] == 6
    hourly = at_grain(points, Grain.HOUR)
    assert hourly[(key, D1 + timedelta(hours=3))] == 10 and (key, D1) in hourly  # hours only, the day left out
    assert hourly[(key, D1)] == 10
    assert combine("customers", [Decimal(4), Decimal(6)]) == 5 and combine("requests", [Decimal(4), Decimal(6)]) == 10


def _inputs(by: By, metric: str = "requests", per: str = "1000") -> UnitCostInputs:
    costs = billed_else_estimated(
        [cell(D1, "acme", "30"), cell(D1, "globex", "10"), cell(D1, None, "20"),
         cell(D2, "acme", "60"), cell(D2, "globex", "10"), cell(D2, None, "20")]
    )  # fmt: skip
    figures = at_grain(
        [
            point("requests", D1, "100000", dim="customer", of="acme"),
            point("requests", D1, "50000", dim="customer", of="globex"),
            point("requests", D2, "100000", dim="customer", of="acme"),
            point("requests", D2, "50000", dim="customer", of="globex"),
            point("revenue", D1, "100", dim="customer", of="acme", currency="USD"),
            point("revenue", D2, "100", dim="customer", of="acme", currency="USD"),
            point("revenue", D1, "5", dim="customer", of="globex", currency="USD"),
        ],
        Grain.DAY,
    )
    return UnitCostInputs(metric, Decimal(per), by, [D1, D2], costs, figures)


def test_cost_per_1000_requests_per_customer_with_the_unallocated_line_and_the_total() -> None:
    lines = unit_costs(_inputs(By.CUSTOMER))
    assert [(line.kind, line.group) for line in lines] == [
        (LineKind.GROUP, "acme"), (LineKind.GROUP, "globex"), (LineKind.UNALLOCATED, None), (LineKind.TOTAL, None),
    ]  # fmt: skip
    acme, globex, shared, total = lines
    assert [c.unit_cost for c in acme.cells] == [Decimal("0.3"), Decimal("0.6")]  # 30 / 100k x 1000, then 60 / 100k
    assert acme.cost == 90 and acme.driver == 200000 and acme.unit_cost == Decimal("0.45")
    assert globex.unit_cost == Decimal("0.2")  # 20 / 100k x 1000
    # Shared cost against the whole business's requests (the customers' summed: no total was sent).
    assert shared.cost == 40 and shared.driver == 300000 and shared.unit_cost == Decimal(40) / 300
    assert total.cost == 150 and total.unit_cost == Decimal("0.5")
    # Gross margin: revenue − cost over the periods with revenue; none for shared cost.
    assert acme.revenue == 200 and acme.margin == 110 and acme.margin_pct == Decimal(55)
    assert globex.revenue == 5 and globex.margin == -5 and globex.margin_pct == -100  # only D1 has revenue
    assert shared.revenue is None and shared.margin is None
    assert total.revenue == 205 and total.margin == 55  # both days have revenue: 205 − 150, shared cost included


def test_shared_cost_split_by_usage_goes_to_the_customers_by_their_requests_to_the_nano() -> None:
    from dataclasses import replace

    lines = unit_costs(replace(_inputs(By.CUSTOMER), shared=Shared.BY_USAGE))
    acme, globex, shared, total = lines
    # 20 a day shared, acme 100k requests and globex 50k: two thirds and one third, each day, exactly.
    assert acme.shared_cost + globex.shared_cost == 40
    assert abs(acme.shared_cost - Decimal(80) / 3) < Decimal("1e-9")
    assert acme.cost == 90 + acme.shared_cost and globex.cost == 20 + globex.shared_cost
    assert [c.shared_cost for c in acme.cells] == [acme.shared_cost / 2] * 2
    assert shared.cost == 0 and shared.shared_cost == 0  # still listed, now empty
    assert total.cost == 150  # the split moves cost, it never adds any


def test_a_period_without_figures_keeps_its_shared_cost_and_says_so() -> None:
    from dataclasses import replace

    base = _inputs(By.CUSTOMER)
    d3 = datetime(2026, 11, 3)
    costs = {**base.costs, (d3, "USD", None): Decimal(7)}
    inputs = replace(base, periods=[D1, D2, d3], costs=costs, shared=Shared.BY_USAGE, notes=[])
    acme, globex, shared, total = unit_costs(inputs)
    assert shared.cost == 7 and acme.shared_cost + globex.shared_cost == 40
    assert total.cost == 157
    assert any("stays unallocated" in note and "2026-11-03" in note for note in inputs.notes)


def test_by_none_divides_the_total_and_a_missing_figure_leaves_the_ratio_null() -> None:
    inputs = _inputs(By.NONE)
    (total,) = unit_costs(inputs)
    assert total.kind is LineKind.TOTAL and total.unit_cost == Decimal("0.5")
    (orders,) = unit_costs(UnitCostInputs("orders", Decimal(1), By.NONE, inputs.periods, inputs.costs, inputs.figures))
    assert orders.unit_cost is None and orders.periods_without_driver == 2 and orders.cost == 150


def test_cost_per_customer_divides_by_the_mean_number_of_customers() -> None:
    costs = {(D1, "USD", None): Decimal(100), (D2, "USD", None): Decimal(300)}
    figures = at_grain([point("customers", D1, "10"), point("customers", D2, "30")], Grain.DAY)
    (total,) = unit_costs(UnitCostInputs("customers", Decimal(1), By.NONE, [D1, D2], costs, figures))
    assert [c.unit_cost for c in total.cells] == [10, 10]
    assert total.driver == 20 and total.unit_cost == 20  # 400 over the range / 20 customers on average


def test_currencies_are_separate_lines_and_revenue_counts_only_in_its_own_currency() -> None:
    costs = {(D1, "USD", "acme"): Decimal(10), (D1, "EUR", "acme"): Decimal(5)}
    figures = at_grain([point("revenue", D1, "20", dim="customer", of="acme", currency="EUR")], Grain.DAY)
    lines = unit_costs(UnitCostInputs("revenue", Decimal(1), By.CUSTOMER, [D1], costs, figures))
    eur = next(line for line in lines if line.currency == "EUR" and line.kind is LineKind.GROUP)
    usd = next(line for line in lines if line.currency == "USD" and line.kind is LineKind.GROUP)
    assert eur.margin == 15 and eur.unit_cost == Decimal("0.25")
    assert usd.revenue is None and usd.unit_cost is None


def test_trend_slope_and_half_on_half_change() -> None:
    days = [datetime(2026, 11, 1) + timedelta(days=i) for i in range(6)]
    found = trend([(d, Decimal(2 + i)) for i, d in enumerate(days)])
    assert found is not None and found.slope_per_period == pytest.approx(1.0)
    assert found.first_half_mean == 3 and found.second_half_mean == 6 and found.change_pct == pytest.approx(100.0)
    assert trend([(d, Decimal(1)) for d in days[:3]]) is None


def test_correlation_recovers_a_known_slope_intercept_and_elasticity() -> None:
    rnd = random.Random(3)
    revenue = [1000 + 40 * i + rnd.uniform(-30, 30) for i in range(60)]
    cost = [200 + 0.3 * r for r in revenue]  # 200 a day fixed, 30% of revenue variable
    found = correlate(cost, revenue, "revenue")
    assert found.fit is not None
    assert found.fit.intercept == pytest.approx(200, abs=1e-6) and found.fit.slope == pytest.approx(0.3)
    assert found.pearson == pytest.approx(1.0)
    mean_cost = sum(cost) / len(cost)
    assert found.fixed_cost_per_period == pytest.approx(200) and found.fixed_share == pytest.approx(200 / mean_cost)
    # With a fixed part cost grows slower than revenue: elasticity below 1, near the point elasticity at the mean
    # (slope x mean revenue / mean cost = 0.766; the log-log slope over the whole range is 0.738).
    assert found.elasticity == pytest.approx(0.3 * (sum(revenue) / 60) / mean_cost, rel=0.05)
    assert found.elasticity is not None and found.elasticity < 1
    assert "200.00 a day" in found.explanation


def test_pure_power_law_has_its_exponent_as_elasticity() -> None:
    usage = [100.0 * 1.05**i for i in range(30)]
    cost = [3.0 * u**0.8 for u in usage]
    assert correlate(cost, usage).elasticity == pytest.approx(0.8)


def test_the_fixed_part_is_clamped_and_explained() -> None:
    usage = [10.0, 20.0, 30.0, 40.0]
    faster = correlate([0.5 * u - 3 for u in usage], usage, "requests")  # intercept −3
    assert faster.fixed_cost_per_period == 0 and faster.fixed_share == 0 and "faster" in faster.explanation
    falling = correlate([100 - u for u in usage], usage, "requests")  # intercept 100 > mean
    assert falling.fixed_share == 1 and falling.fixed_cost_per_period == pytest.approx(75)
    assert "does not grow" in falling.explanation
    flat = correlate([1.0, 2.0, 3.0], [5.0, 5.0, 5.0], "orders")
    assert flat.fit is None and flat.pearson is None and "did not vary" in flat.explanation
    short = correlate([1.0, 2.0], [1.0, 2.0])
    assert short.pearson is None and "at least 3" in short.explanation


def test_pearson_and_fit_on_small_series() -> None:
    assert pearson([1, 2, 3], [2, 4, 7]) == pytest.approx(0.9933, abs=1e-4)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    fit = linear_fit([0, 1, 2], [1, 3, 5])
    assert fit is not None and (fit.intercept, fit.slope, fit.r_squared) == (1, 2, 1)
    assert math.isclose(linear_fit([1, 2], [1, 1]).slope, 0)  # type: ignore[union-attr]


def test_huge_figures_render_exactly_instead_of_failing() -> None:
    big = Decimal("999999999999999999999999.123456789")  # 33 digits: beyond the default decimal context
    assert money(big) == "999999999999999999999999.123456789" and figure(big) == "999999999999999999999999.123456789"
    assert percent(Decimal(1) / 3 * 100) == "33.33" and figure(Decimal("1000.000")) == "1000"
