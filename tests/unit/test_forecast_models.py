"""The forecasting domain without I/O: candidates, month-start charges, intervals, awkward histories."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from services.forecast.evaluation import datasets
from services.forecast.evaluation.backtest import outlay_method, rolling_origin, seasonal_naive_method
from services.forecast.evaluation.metrics import coverage, mase, smape, total_error
from services.forecast.models.forecaster import CHUNK, NO_HISTORY, ForecastError, forecast
from services.forecast.models.history import SeriesBatch, Step, daily_batch
from services.forecast.models.month_start import month_start_charges

START = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday, and a month start


def batch(*rows: list[float] | np.ndarray, start: datetime = START) -> SeriesBatch:
    values = np.array([np.asarray(r, dtype=np.float64) for r in rows])
    return SeriesBatch([f"s{i}" for i in range(len(rows))], values, start, Step.DAY)


def weekly(days: int, level: float = 100.0, amplitude: float = 30.0) -> np.ndarray:
    return level + amplitude * np.sin(2 * np.pi * np.arange(days) / 7)


def test_a_repeating_week_is_forecast_as_that_week() -> None:
    f = forecast(batch(weekly(84)), 14)
    expected = weekly(98)[84:]
    assert np.allclose(f.point[0], expected, atol=1.0)
    lower, upper = f.bounds(0.8)
    assert np.all(lower[0] <= expected + 1e-6) and np.all(expected - 1e-6 <= upper[0])
    assert not f.short_history[0]


def test_month_start_charges_land_on_the_first_of_each_month_ahead() -> None:
    days = 120  # 2026-01-01 .. 2026-04-30
    rng = np.random.default_rng(3)
    y = 100 + rng.normal(0, 2, days)
    firsts = [d for d in range(days) if (START + timedelta(days=d)).day == 1]
    y[firsts] += 500
    history = batch(y)
    charges = month_start_charges(history)
    assert charges.ahead[0] == pytest.approx(500, abs=15)
    assert np.count_nonzero(charges.excess[0]) == len(firsts)
    f = forecast(history, 40)  # 2026-05-01 .. 2026-06-09
    may_first, june_first = 0, 31
    assert f.point[0, may_first] == pytest.approx(600, abs=25)
    assert f.point[0, june_first] == pytest.approx(600, abs=25)
    others = np.delete(f.point[0], [may_first, june_first])
    assert np.all(np.abs(others - 100) < 10), "the charge must not spill into ordinary days"


def test_a_level_shift_is_followed() -> None:
    y = np.concatenate([np.full(60, 200.0), np.full(21, 50.0)]) + np.random.default_rng(1).normal(0, 1, 81)
    f = forecast(batch(y), 30)
    assert np.all(np.abs(f.point[0] - 50) < 5)


def test_a_single_day_is_forecast_with_a_wide_flagged_interval() -> None:
    f = forecast(batch([80.0]), 30)
    assert f.short_history[0]
    assert f.point[0, 0] == pytest.approx(80.0)
    lower, upper = f.bounds(0.8)
    assert upper[0, 0] - lower[0, 0] >= 0.2 * 80  # at least ±10% a day
    assert upper[0, -1] - lower[0, -1] > upper[0, 0] - lower[0, 0]  # and wider further out
    point, low, high = f.running_total(0.8, 30)
    assert low[0] < point[0] < high[0]


def test_zeros_gaps_and_credits() -> None:
    zeros = np.zeros(40)
    gaps = weekly(40)
    gaps[[10, 11, 25]] = np.nan  # missing values inside the history
    credits = np.concatenate([weekly(30), np.full(10, -20.0)])  # a refund period
    f = forecast(batch(zeros, gaps, credits), 14)
    assert np.all(np.isfinite(f.point))
    assert np.allclose(f.point[0], 0.0) and np.all(f.bounds(0.95)[0][0] == 0.0)
    assert np.allclose(f.point[1], weekly(54)[40:], atol=8)
    assert f.non_negative.tolist() == [True, True, False]
    assert f.bounds(0.8)[0][2].min() < 0  # a series that has been negative may be again


def test_a_series_without_values_is_named_and_the_others_still_forecast() -> None:
    f = forecast(batch(weekly(30), np.full(30, np.nan)), 7)
    assert f.model[1] == NO_HISTORY and np.all(np.isnan(f.point[1]))
    assert np.all(np.isfinite(f.point[0])) and f.model[0] != NO_HISTORY


@pytest.mark.parametrize("horizon", [0, -3, 91])
def test_an_impossible_horizon_is_refused_naming_the_field(horizon: int) -> None:
    with pytest.raises(ForecastError, match="horizon"):
        forecast(batch(weekly(30)), horizon)


def test_hourly_histories_may_reach_ninety_days_of_hours() -> None:
    hourly = SeriesBatch(["h"], np.array([weekly(24 * 14)]), START, Step.HOUR)
    assert forecast(hourly, 24 * 90).point.shape == (1, 24 * 90)
    with pytest.raises(ForecastError, match="horizon"):
        forecast(hourly, 24 * 90 + 1)


def test_intervals_cover_about_their_level_on_noisy_random_walks() -> None:
    rng = np.random.default_rng(11)
    n, days, horizon = 400, 120, 30
    walks = 500 + np.cumsum(rng.normal(0, 5, (n, days + horizon)), axis=1) + rng.normal(0, 5, (n, days + horizon))
    history = SeriesBatch([str(i) for i in range(n)], walks[:, :days], START, Step.DAY)
    f = forecast(history, horizon)
    lower, upper = f.bounds(0.8)
    actual = walks[:, days:]
    covered = np.mean((actual >= lower) & (actual <= upper))
    assert 0.7 <= covered <= 0.9, covered
    point, low, high = f.running_total(0.8, horizon)
    totals = actual.sum(axis=1)
    assert 0.75 <= np.mean((totals >= low) & (totals <= high)) <= 1.0  # totals err on the wide side


def test_chunks_do_not_change_a_series_forecast() -> None:
    rng = np.random.default_rng(5)
    values = 100 + rng.normal(0, 10, (CHUNK + 7, 60))
    big = SeriesBatch([str(i) for i in range(CHUNK + 7)], values, START, Step.DAY)
    small = SeriesBatch([str(i) for i in range(CHUNK, CHUNK + 7)], values[CHUNK:], START, Step.DAY)
    assert np.array_equal(forecast(big, 10).point[CHUNK:], forecast(small, 10).point)


def test_daily_batch_fills_days_without_usage_with_zero_and_pads_before_a_series_starts() -> None:
    b = daily_batch({"a": {date(2026, 1, 1): 5.0, date(2026, 1, 4): 7.0}, "b": {date(2026, 1, 3): 1.0}})
    assert b.periods == 4 and b.start == START
    assert b.values[0].tolist() == [5.0, 0.0, 0.0, 7.0]
    assert np.isnan(b.values[1, :2]).all() and b.values[1, 2:].tolist() == [1.0, 0.0]


def test_metrics_on_known_values() -> None:
    f = np.array([[10.0, 10.0, 0.0]])
    a = np.array([[12.0, 8.0, 0.0]])
    assert mase(f, a, np.array([2.0]))[0] == pytest.approx((2 + 2 + 0) / 3 / 2)
    assert smape(f, a)[0] == pytest.approx(100 * (2 * 2 / 22 + 2 * 2 / 18 + 0) / 3)
    assert total_error(f, a)[0] == pytest.approx(0.0)
    assert coverage(np.array([[9.0, 9.0, -1.0]]), np.array([[13.0, 11.0, 1.0]]), a)[0] == pytest.approx(2 / 3)


def test_on_the_real_bill_outlay_beats_seasonal_naive_a_week_ahead(shared_data: Path) -> None:
    for history in (datasets.workshop_total(shared_data), datasets.workshop_services(shared_data)):
        scores = rolling_origin(history, 7, {"outlay": outlay_method, "snaive": seasonal_naive_method}, 28, stride=3)
        assert scores["outlay"].mean_mase() < 0.95 * scores["snaive"].mean_mase()
        assert 0.7 <= scores["outlay"].mean_coverage80() <= 0.95
