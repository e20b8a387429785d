"""Outlay's forecaster: per series, the candidate with the lowest rolling-origin error, with intervals from
that candidate's own errors.

1. Month-start charges are taken out of the history (`month_start`) and put back on the month starts ahead.
2. Candidates, all backtested from the same last origins:
   - exponential smoothing, the grid configuration with the lowest error (`smoothing`);
   - seasonal naive;
   - their mean (an ensemble: it wins where each alone errs in opposite directions).
3. Per series the candidate with the lowest mean absolute error over those origins; its errors give the
   intervals (`intervals`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from services.forecast.models import smoothing
from services.forecast.models.history import SeriesBatch, Values
from services.forecast.models.intervals import Widths, interval_widths
from services.forecast.models.month_start import month_start_charges
from services.forecast.models.seasonal_naive import seasonal_naive, seasonal_naive_errors

MAX_HORIZON_DAYS = 90  # how far ahead a forecast may reach
SEASONS_BACKTESTED = 4  # backtest origins: the last four seasons (four weeks of days, four days of hours)
CANDIDATES = ("smoothing", "seasonal naive", "ensemble")
NO_HISTORY = "no history"
CHUNK = 1000  # series forecast together


class ForecastError(ValueError):
    """A request the forecaster cannot answer; the message names the field and the problem."""


@dataclass(frozen=True)
class Forecasts:
    history: SeriesBatch
    horizon: int
    point: Values  # (series, horizon)
    widths: dict[float, Widths]  # coverage level -> half-widths
    model: list[str]  # per series, the chosen candidate in words
    short_history: npt.NDArray[np.bool_]  # per series: too little history to rank its errors; wide intervals
    non_negative: npt.NDArray[np.bool_] = field(repr=False)  # per series: history never negative, so neither is this

    def bounds(self, level: float) -> tuple[Values, Values]:
        """(lower, upper) per series and step at `level` (0.8 or 0.95)."""
        half = self.widths[level].step
        lower = self.point - half
        return np.where(self.non_negative[:, None], np.maximum(lower, 0.0), lower), self.point + half

    def running_total(self, level: float, through: int) -> tuple[Values, Values, Values]:
        """(point, lower, upper) per series of the total of the first `through` periods ahead."""
        if not 1 <= through <= self.horizon:
            raise ForecastError(f"through: must be between 1 and the horizon {self.horizon}, got {through}")
        point = self.point[:, :through].sum(axis=1)
        half = self.widths[level].total[:, through - 1]
        lower = point - half
        return point, np.where(self.non_negative, np.maximum(lower, 0.0), lower), point + half


def forecast(batch: SeriesBatch, horizon: int, origins: int | None = None) -> Forecasts:
    longest = MAX_HORIZON_DAYS * batch.step.per_day
    if not 1 <= horizon <= longest:
        raise ForecastError(f"horizon: must be between 1 and {longest} periods of a {batch.step}, got {horizon}")
    if batch.periods == 0:
        raise ForecastError("history: no periods to learn from")
    origins = origins or SEASONS_BACKTESTED * batch.step.season
    if len(batch.ids) <= CHUNK:
        return _forecast(batch, horizon, origins)
    # The backtest holds (series x configurations x horizon) arrays: chunks bound the memory, not the speed.
    parts = [
        _forecast(
            SeriesBatch(batch.ids[i : i + CHUNK], batch.values[i : i + CHUNK], batch.start, batch.step),
            horizon,
            origins,
        )
        for i in range(0, len(batch.ids), CHUNK)
    ]
    return Forecasts(
        batch,
        horizon,
        np.concatenate([p.point for p in parts]),
        {
            level: Widths(
                np.concatenate([p.widths[level].step for p in parts]),
                np.concatenate([p.widths[level].total for p in parts]),
            )
            for level in parts[0].widths
        },
        [name for p in parts for name in p.model],
        np.concatenate([p.short_history for p in parts]),
        np.concatenate([p.non_negative for p in parts]),
    )


def _forecast(batch: SeriesBatch, horizon: int, origins: int) -> Forecasts:
    empty = batch.observed() == 0  # not forecast (NaN), named "no history"; the others still are
    m = batch.step.season
    charges = month_start_charges(batch)
    adjusted = batch.values - charges.excess
    adjusted[empty, -1] = 0.0

    grid = smoothing.Params.of_grid(smoothing.GRID)
    _, grid_backtest = smoothing.run(adjusted, m, grid, horizon, origins)
    configuration = _best_configuration(grid_backtest)
    chosen = smoothing.Params.per_series(smoothing.GRID, configuration)
    states, backtest = smoothing.run(adjusted, m, chosen, horizon, origins, keep_errors=True)
    assert backtest.errors is not None
    smooth_errors = backtest.errors[:, :, 0, :]
    smooth_point = states.forecast(chosen, batch.periods - 1, horizon)[:, 0, :]
    naive_errors = seasonal_naive_errors(adjusted, m, horizon, origins)
    naive_point = seasonal_naive(adjusted, m, horizon)

    points = np.stack([smooth_point, naive_point, (smooth_point + naive_point) / 2])
    errors = np.stack([smooth_errors, naive_errors, (smooth_errors + naive_errors) / 2])
    winner = _lowest_error(errors, points)
    rows = np.arange(len(batch.ids))
    point = points[winner, rows] + charges.future(batch, horizon)
    chosen_errors = errors[winner, :, rows].transpose(1, 0, 2)  # (origins, series, horizon)
    widths, short = interval_widths(chosen_errors, adjusted[:, -origins:])
    non_negative = ~np.any(batch.values < 0, axis=1)
    point = np.where(non_negative[:, None], np.maximum(point, 0.0), point)
    names = [_describe(int(w), smoothing.GRID[int(c)]) for w, c in zip(winner, configuration, strict=True)]
    if empty.any():
        point[empty] = np.nan
        for w in widths.values():
            w.step[empty] = np.nan
            w.total[empty] = np.nan
        names = [NO_HISTORY if e else name for e, name in zip(empty, names, strict=True)]
    return Forecasts(batch, horizon, point, widths, names, short | empty, non_negative)


def _best_configuration(backtest: smoothing.Backtest) -> npt.NDArray[np.int64]:
    """Per series, the grid configuration best on both counts, each relative to its best: the multi-step error
    from the last origins (what the forecast is for, but from few, correlated windows) and the one-step error
    over the whole history (many independent errors: it keeps a random walk from being taken for a cycle)."""
    multi = backtest.mean_abs_error
    one = np.sqrt(backtest.one_step_mse)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = multi / np.min(multi, axis=1, keepdims=True) + one / np.min(one, axis=1, keepdims=True)
    score = np.where(np.isfinite(score), score, np.inf)
    fallback = np.argmin(np.where(np.isfinite(multi), multi, np.inf), axis=1)
    return np.where(np.isfinite(score).any(axis=1), np.argmin(score, axis=1), fallback).astype(np.int64)


def _lowest_error(errors: Values, points: Values) -> npt.NDArray[np.int64]:
    """Per series, the candidate with the lowest mean absolute backtest error; smoothing where none has
    errors to compare (a short history) or a candidate cannot forecast (seasonal naive without a season)."""
    with np.errstate(invalid="ignore"):
        counts = np.sum(~np.isnan(errors), axis=(1, 3))  # (candidates, series)
        mae = np.nansum(np.abs(errors), axis=(1, 3)) / np.maximum(counts, 1)
    mae = np.where((counts > 0) & np.all(np.isfinite(points), axis=2), mae, np.inf)
    mae[0] = np.where(np.isinf(mae).all(axis=0), -1.0, mae[0])
    return np.argmin(mae, axis=0).astype(np.int64)


def _describe(candidate: int, configuration: smoothing.Smoothing) -> str:
    if CANDIDATES[candidate] == "seasonal naive":
        return "seasonal naive"
    if CANDIDATES[candidate] == "ensemble":
        return f"mean of {configuration.name} and seasonal naive"
    return configuration.name
