"""Scopes without I/O: names, the billed-else-estimated rule, currencies kept apart, month-end arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from outlay.events import CostKind
from outlay.scopes import parse_scope, scope_name
from services.forecast.scopes import DailyCost, ScopeHistory, build_forecasts, hourly_forecasts


def cost(
    day: date, amount: str, kind: CostKind = CostKind.BILLED, currency: str = "USD", team: str | None = "web"
) -> DailyCost:
    return DailyCost(day, kind.value, currency, "111", "AmazonEC2", {"team": team}, Decimal(amount))


@pytest.mark.parametrize("scope", ["", "service", "service=", "colour=blue", "tag:=x", "billing_account_id"])
def test_a_malformed_scope_is_refused_naming_the_field(scope: str) -> None:
    with pytest.raises(ValueError, match="^scope: "):
        parse_scope(scope)


def test_scope_names_round_trip() -> None:
    for dims in ({}, {"service": "AmazonEC2"}, {"tag:team": "web=blue"}, {"billing_account_id": "111"}):
        assert parse_scope(scope_name(dims)) == dims


def test_a_day_holds_its_bill_where_it_has_one_else_the_estimate() -> None:
    history = ScopeHistory()
    history.add(cost(date(2026, 1, 1), "10"))
    history.add(cost(date(2026, 1, 1), "99", CostKind.ESTIMATED))
    history.add(cost(date(2026, 1, 2), "12", CostKind.ESTIMATED))
    history.add(cost(date(2026, 1, 2), "5", currency="EUR"))
    series = history.series(through=date(2026, 1, 2))
    assert series[("total", "USD")] == {date(2026, 1, 1): 10.0, date(2026, 1, 2): 12.0}
    assert series[("total", "EUR")] == {date(2026, 1, 2): 5.0}
    assert series[("tag:team=web", "USD")] == series[("service=AmazonEC2", "USD")] == series[("total", "USD")]
    assert history.series(through=date(2026, 1, 1))[("total", "USD")] == {date(2026, 1, 1): 10.0}


def test_untagged_cost_counts_in_the_total_but_in_no_tag_scope() -> None:
    history = ScopeHistory()
    history.add(cost(date(2026, 1, 1), "10", team=None))
    assert not any(scope.startswith("tag:") for scope, _ in history.series(through=date(2026, 1, 1)))


def test_month_end_adds_the_month_so_far_to_the_forecast_of_its_rest() -> None:
    history = ScopeHistory()
    for d in range(1, 60):
        history.add(cost(date(2026, 1, 1) + timedelta(days=d - 1), "10"))
    as_of = date(2026, 2, 11)  # history to 10 February
    [total, *_] = build_forecasts(history, as_of, 7, only={"total"}, generated_at=datetime(2026, 2, 11, tzinfo=UTC))
    assert total.history_end == date(2026, 2, 10) and total.days[0].day == as_of and len(total.days) == 7
    assert total.month_end.actual_to_date == Decimal(100)
    assert total.month_end.last_day == date(2026, 2, 28)
    assert total.month_end.expected == pytest.approx(Decimal(280), abs=Decimal("0.5"))
    assert total.next_30_days.first_day == as_of and total.next_30_days.last_day == as_of + timedelta(days=29)
    assert total.next_30_days.expected == pytest.approx(Decimal(300), abs=Decimal("0.5"))
    again = build_forecasts(history, as_of, 7, only={"total"})[0]
    assert again.forecast_id == total.forecast_id  # the same data and horizon: the same id


def test_nothing_to_forecast_gives_no_forecasts() -> None:
    assert build_forecasts(ScopeHistory(), date(2026, 1, 1)) == []


def test_hourly_forecasts_for_scopes_whose_hours_vary_and_none_for_daily_lines() -> None:
    history = ScopeHistory()
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for h in range(24 * 14):
        at = start + timedelta(hours=h)
        busy = Decimal(3) if 9 <= at.hour < 18 else Decimal(1)  # office hours cost more
        history.add(DailyCost(at, "estimated", "USD", "111", "AWSLambda", {"team": "data"}, busy))
        history.add(DailyCost(at, "billed", "USD", "111", "AmazonS3", {"team": "web"}, Decimal("0.5")))  # a spread day
    now = start + timedelta(days=14, minutes=20)  # 15 March 00:20: the last complete hour is 14 March 23:00
    hourly = hourly_forecasts(history, now)
    assert ("service=AmazonS3", "USD") not in hourly and ("tag:team=web", "USD") not in hourly
    lam = hourly[("service=AWSLambda", "USD")]
    assert len(lam) == 48 and lam[0].hour == datetime(2026, 3, 15, tzinfo=UTC)
    for entry in lam:
        assert entry.expected == pytest.approx(Decimal(3 if 9 <= entry.hour.hour < 18 else 1), abs=Decimal("0.2"))
    assert ("total", "USD") in hourly  # the total's hours vary too


def test_the_bill_replaces_only_its_own_services_estimate() -> None:
    history = ScopeHistory()
    day = date(2026, 1, 1)
    history.add(DailyCost(day, "billed", "USD", "111", "AmazonEC2", {"team": "web"}, Decimal(10)))
    history.add(DailyCost(day, "estimated", "USD", "111", "AmazonEC2", {"team": "web"}, Decimal(99)))
    history.add(DailyCost(day, "estimated", "USD", "111", "AWSLambda", {"team": "web"}, Decimal(3)))
    series = history.series(through=day)
    assert series[("total", "USD")] == {day: 13.0} == series[("tag:team=web", "USD")]
    assert series[("service=AWSLambda", "USD")] == {day: 3.0}


def test_a_young_fast_growing_scope_beside_an_old_flat_one_is_forecast_with_ordered_bounds() -> None:
    history = ScopeHistory()
    for d in range(200):
        history.add(
            DailyCost(date(2026, 1, 1) + timedelta(days=d), "billed", "USD", "111", "AmazonS3", {}, Decimal(50))
        )
    for d in range(12):  # a new account whose spend grows half again every day
        day = date(2026, 7, 8) + timedelta(days=d)
        history.add(
            DailyCost(day, "billed", "USD", "222", "AmazonEC2", {}, Decimal(100 * 1.47**d).quantize(Decimal(1)))
        )
    forecasts = {f.scope: f for f in build_forecasts(history, date(2026, 7, 20), 30)}
    young = forecasts["billing_account_id=222"]
    assert all(d.lower95 <= d.lower80 <= d.expected <= d.upper80 <= d.upper95 for d in young.days)


def test_office_hours_with_no_rows_at_night_still_get_an_hourly_forecast() -> None:
    history = ScopeHistory()
    start = datetime(2026, 3, 2, tzinfo=UTC)
    for h in range(24 * 14):
        at = start + timedelta(hours=h)
        if 9 <= at.hour < 18:  # the ledger writes no row for an hour without usage
            history.add(DailyCost(at, "estimated", "USD", "111", "AWSLambda", {}, Decimal(3)))
    hourly = hourly_forecasts(history, start + timedelta(days=14, minutes=5))
    lam = hourly[("service=AWSLambda", "USD")]
    assert lam[3].expected < 1 < lam[12].expected  # 03:00 quiet, 12:00 busy
