"""Budgets without I/O: definitions refused with the field named, status arithmetic, threshold states and
crossing days, and which alerts a run publishes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from outlay.budgets import Budget, BudgetIn, ThresholdBasis, ThresholdState
from services.forecast.budget_status import AlertTracker, budget_statuses
from services.forecast.scopes import DailyCost, ScopeHistory

CREATED = datetime(2026, 11, 1, tzinfo=UTC)


def budget(**fields: Any) -> Budget:
    values: dict[str, Any] = {"budget_id": "b1", "name": "web", "scope": "tag:team=web", "amount": Decimal(3000)}
    return Budget(**(values | fields), created_at=CREATED)


def steady(per_day: str, first: date, days: int, team: str = "web") -> ScopeHistory:
    history = ScopeHistory()
    for i in range(days):
        history.add(
            DailyCost(first + timedelta(days=i), "billed", "USD", "111", "AmazonEC2", {"team": team}, Decimal(per_day))
        )
    return history


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"scope": "colour=blue"}, "scope"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"period": "weekly"}, "period"),
        ({"thresholds": [{"basis": "actual", "percent": "0"}]}, "thresholds"),
        ({"thresholds": [{"basis": "hope", "percent": "80"}]}, "thresholds"),
        ({"name": ""}, "name"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_a_bad_budget_is_refused_naming_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        BudgetIn.model_validate({"name": "web", "scope": "total", "amount": "100"} | fields)
    assert field in {str(e["loc"][0]) for e in refused.value.errors()}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"period": "custom"}, "needs both start and end"),
        ({"period": "custom", "start": "2026-02-01", "end": "2026-01-01"}, "end must not be before start"),
        ({"period": "custom", "start": "2026-01-01", "end": "2027-06-01"}, "at most 366 days"),
        ({"start": "2026-01-01"}, "custom periods only"),
    ],
)
def test_a_bad_period_is_refused_saying_why(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BudgetIn.model_validate({"name": "web", "scope": "total", "amount": "100"} | fields)


def test_a_monthly_budget_forecast_to_exceed_says_by_how_much_and_when() -> None:
    history = steady("100", date(2026, 10, 1), 50)  # to 19 November
    [status] = budget_statuses(history, [budget()], date(2026, 11, 20))
    assert (status.period_start, status.period_end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert status.actual_to_date == Decimal(1900)
    assert status.forecast_total == pytest.approx(Decimal(3000), abs=Decimal(1))
    assert status.forecast_lower80 is not None and status.forecast_upper80 is not None
    assert status.forecast_lower80 <= status.forecast_total <= status.forecast_upper80

    over = budget(
        amount=Decimal(2700),
        thresholds=[
            {"basis": "actual", "percent": 60},
            {"basis": "actual", "percent": 100},
            {"basis": "forecast", "percent": 100},
        ],
    )
    [status] = budget_statuses(history, [over], date(2026, 11, 20))
    sixty, hundred, forecast = status.thresholds
    assert sixty.state is ThresholdState.BREACHED and sixty.crossing_day == date(2026, 11, 17)  # 1,700 ≥ 1,620
    assert hundred.state is ThresholdState.FORECAST_TO_BREACH and hundred.crossing_day == date(2026, 11, 27)
    assert forecast.state is ThresholdState.BREACHED and forecast.basis is ThresholdBasis.FORECAST
    assert status.variance == pytest.approx(Decimal(300), abs=Decimal(1))
    assert status.summary == "forecast to exceed the budget by 11% on 2026-11-27"


def test_spend_over_the_budget_is_said_so() -> None:
    [status] = budget_statuses(steady("100", date(2026, 10, 1), 50), [budget(amount=Decimal(1500))], date(2026, 11, 20))
    assert status.summary.startswith("over budget: spent 1900.00 USD")
    assert status.thresholds[0].state is ThresholdState.BREACHED and status.thresholds[0].crossing_day == date(
        2026, 11, 15
    )


def test_a_custom_period_beyond_the_forecast_reach_has_no_forecast_total() -> None:
    far = budget(period="custom", start=date(2026, 11, 1), end=date(2027, 6, 30))
    near = budget(budget_id="b2", period="custom", start=date(2026, 11, 1), end=date(2026, 12, 15))
    history = steady("100", date(2026, 10, 1), 50)
    far_status, near_status = budget_statuses(history, [far, near], date(2026, 11, 20))
    assert far_status.forecast_total is None and "no forecast" in far_status.summary
    assert near_status.forecast_total == pytest.approx(Decimal(100 * 45), abs=Decimal(5))
    assert near_status.period_end == date(2026, 12, 15)


def test_a_scope_without_cost_spends_nothing_and_says_so() -> None:
    [status] = budget_statuses(
        steady("100", date(2026, 10, 1), 50), [budget(scope="service=AmazonRDS")], date(2026, 11, 20)
    )
    assert status.actual_to_date == 0 and status.forecast_total is None
    assert all(t.state is ThresholdState.OK for t in status.thresholds)


def test_alerts_are_published_on_change_only() -> None:
    tracker = AlertTracker()
    history = steady("100", date(2026, 10, 1), 50)
    at = datetime(2026, 11, 20, tzinfo=UTC)
    calm = tracker.changes(budget_statuses(history, [budget(amount=Decimal(10_000))], date(2026, 11, 20)), at)
    assert calm == []  # nothing crossed: nothing to say
    tight = budget(amount=Decimal(2500))
    first = tracker.changes(budget_statuses(history, [tight], date(2026, 11, 20)), at)
    assert {(a.basis, a.state) for a in first} == {
        (ThresholdBasis.ACTUAL, ThresholdState.FORECAST_TO_BREACH),
        (ThresholdBasis.FORECAST, ThresholdState.BREACHED),
    }
    assert tracker.changes(budget_statuses(history, [tight], date(2026, 11, 20)), at) == []  # unchanged
    relaxed = tracker.changes(budget_statuses(history, [budget(amount=Decimal(10_000))], date(2026, 11, 20)), at)
    assert {a.state for a in relaxed} == {ThresholdState.OK} and len(relaxed) == 2
    assert {a.alert_id for a in relaxed} == {a.alert_id for a in first}


@pytest.mark.parametrize("amount", ["0.0000000001", "10000000000"])
def test_an_amount_the_store_cannot_hold_is_refused(amount: str) -> None:
    with pytest.raises(ValidationError, match="amount"):
        BudgetIn.model_validate({"name": "x", "scope": "total", "amount": amount})


def test_spend_past_a_forecast_threshold_breaches_it_without_a_forecast_total() -> None:
    far = budget(period="custom", start=date(2026, 11, 1), end=date(2027, 6, 30), amount=Decimal(1000))
    [status] = budget_statuses(steady("100", date(2026, 10, 1), 50), [far], date(2026, 11, 20))
    assert status.forecast_total is None and status.actual_to_date == Decimal(1900)
    assert {t.basis: t.state for t in status.thresholds} == {
        ThresholdBasis.ACTUAL: ThresholdState.BREACHED,
        ThresholdBasis.FORECAST: ThresholdState.BREACHED,
    }
