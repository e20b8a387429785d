"""Additive exponential smoothing (level, damped trend, season: ETS(A,Ad,A) and its simpler members), run over
every series and every configuration of a grid at once.

One pass over the history updates the states of all (series, configuration) pairs together. At each
backtest origin the pass also forecasts the periods ahead from the states it has then, and compares them
with the values that followed: the rolling-origin errors that choose each series' configuration and
calibrate its intervals, without refitting per origin.

The configurations are a fixed grid rather than fitted by likelihood: choosing among them by out-of-sample
error across the last origins is what a per-series optimiser would be approximating, and a grid keeps the
whole batch in array operations (10,000 series in seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np
import numpy.typing as npt

from services.forecast.models.history import Values, quiet_nanmean


@dataclass(frozen=True)
class Smoothing:
    alpha: float  # level
    beta: float  # trend, as a share of alpha's correction
    phi: float  # trend damping per period (1 = undamped)
    gamma: float  # season
    seasonal: bool

    @property
    def name(self) -> str:
        trend = f"Ad(phi={self.phi})" if self.beta else "N"
        season = "A" if self.seasonal else "N"
        return f"ETS(A,{trend},{season}) alpha={self.alpha} beta={self.beta} gamma={self.gamma}"


GRID: tuple[Smoothing, ...] = tuple(
    Smoothing(alpha, beta, phi, gamma if seasonal else 0.0, seasonal)
    for alpha, (beta, phi), (seasonal, gamma) in product(
        (0.05, 0.15, 0.3, 0.5, 0.75, 1.0),
        ((0.0, 1.0), (0.1, 0.9)),
        ((False, 0.0), (True, 0.05), (True, 0.2)),
    )
)


@dataclass
class Params:
    """Each configuration's parameters as arrays broadcasting to (series, configurations)."""

    alpha: Values
    beta: Values
    phi: Values
    gamma: Values
    seasonal: Values

    @classmethod
    def of_grid(cls, grid: tuple[Smoothing, ...]) -> Params:
        def row(name: str) -> Values:
            return np.array([[float(getattr(c, name)) for c in grid]])

        return cls(row("alpha"), row("beta"), row("phi"), row("gamma"), row("seasonal"))

    @classmethod
    def per_series(cls, grid: tuple[Smoothing, ...], chosen: npt.NDArray[np.int64]) -> Params:
        """One configuration per series (a column per series)."""
        full = cls.of_grid(grid)
        return cls(*(getattr(full, f)[0, chosen][:, None] for f in ("alpha", "beta", "phi", "gamma", "seasonal")))

    @property
    def configurations(self) -> int:
        return int(self.alpha.shape[1])


@dataclass
class States:
    level: Values  # (series, configurations)
    trend: Values  # (series, configurations)
    season: Values  # (series, configurations, season length), indexed by period % season length

    def forecast(self, params: Params, after: int, horizon: int) -> Values:
        """(series, configurations, horizon): forecasts of the periods after index `after`."""
        m = self.season.shape[2]
        steps = np.arange(1, horizon + 1)
        damped = np.cumsum(params.phi[..., None] ** steps, axis=-1)  # phi + phi^2 + ... + phi^h
        slots = (after + steps) % m
        return self.level[..., None] + damped * self.trend[..., None] + self.season[:, :, slots]


@dataclass
class Backtest:
    """Rolling-origin errors of each (series, configuration) over the history's last origins."""

    abs_error_sum: Values  # (series, configurations)
    count: Values  # (series, configurations)
    errors: Values | None  # (origins, series, configurations, horizon) when kept, NaN where not observed
    one_step_sq_sum: Values  # (series, configurations): squared one-step errors over the whole history
    one_step_count: Values  # (series,)

    @property
    def one_step_mse(self) -> Values:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(
                self.one_step_count[:, None] > 0,
                self.one_step_sq_sum / np.maximum(self.one_step_count, 1)[:, None],
                np.inf,
            )

    @property
    def mean_abs_error(self) -> Values:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.abs_error_sum / np.maximum(self.count, 1), np.inf)


def first_values(y: Values) -> npt.NDArray[np.int64]:
    """Index of each series' first value (the history length for a series with none)."""
    valid = ~np.isnan(y)
    return np.where(valid.any(axis=1), valid.argmax(axis=1), y.shape[1]).astype(np.int64)


def initial_states(y: Values, m: int, params: Params) -> States:
    """Level from the first season's mean, season from its deviations (only for a series with two seasons)."""
    n, periods = y.shape
    start = first_values(y)
    rows = np.arange(n)
    first_season = np.full((n, m), np.nan)
    for k in range(m):
        at = np.minimum(start + k, periods - 1)
        first_season[:, k] = np.where(start + k < periods, y[rows, at], np.nan)
    level0 = np.nan_to_num(quiet_nanmean(first_season))
    deviations = np.nan_to_num(first_season - level0[:, None])
    enough = (periods - start) >= 2 * m
    season0 = np.zeros((n, m))
    for k in range(m):  # deviation of the k-th period after the start sits at slot (start + k) % m
        season0[rows, (start + k) % m] = np.where(enough, deviations[:, k], 0.0)
    configs = params.configurations if params.alpha.shape[0] == 1 else 1
    level = np.repeat(level0[:, None], configs, axis=1)
    season = season0[:, None, :] * params.seasonal[..., None]
    return States(level, np.zeros_like(level), np.broadcast_to(season, (n, configs, m)).copy())


def run(
    y: Values,
    m: int,
    params: Params,
    horizon: int,
    origins: int,
    keep_errors: bool = False,
) -> tuple[States, Backtest]:
    """Smooth every series under every configuration; backtest from each of the last `origins` periods.

    Returns the states after the last period and the backtest. A NaN value leaves the states to run on
    without a correction (a missing period), so the next value is compared with a forecast two steps out.
    """
    n, periods = y.shape
    states = initial_states(y, m, params)
    configs = states.level.shape[1]
    first_origin = max(0, periods - 1 - origins)
    abs_sum = np.zeros((n, configs))
    count = np.zeros((n, configs))
    sq_sum = np.zeros((n, configs))
    sq_count = np.zeros(n)
    kept = np.full((origins, n, configs, horizon), np.nan) if keep_errors else None
    alpha, trend_gain, phi, gamma = params.alpha, params.alpha * params.beta, params.phi, params.gamma
    level, trend, season = states.level, states.trend, states.season
    # The first season's values set the initial states: origins inside it would forecast from the future.
    learnt_from = first_values(y) + m - 1
    for t in range(periods):
        slot = t % m
        value = y[:, t]
        observed = ~np.isnan(value)
        fitted = level + phi * trend + season[:, :, slot]
        error = np.where(observed[:, None], value[:, None] - fitted, 0.0)
        scored = observed & (t > learnt_from)
        sq_sum += np.where(scored[:, None], error * error, 0.0)
        sq_count += scored
        level = level + phi * trend + alpha * error
        trend = phi * trend + trend_gain * error
        season[:, :, slot] += gamma * error
        if t >= first_origin and t < periods - 1:
            ahead = min(horizon, periods - 1 - t)
            predicted = States(level, trend, season).forecast(params, t, ahead)
            actual = y[:, t + 1 : t + 1 + ahead]
            errors = actual[:, None, :] - predicted
            errors[t < learnt_from] = np.nan
            abs_sum += np.nansum(np.abs(errors), axis=2)
            count += np.sum(~np.isnan(errors), axis=2)
            if kept is not None:
                kept[origins - (periods - 1 - t), :, :, :ahead] = errors  # the latest origin last
    return States(level, trend, season), Backtest(abs_sum, count, kept, sq_sum, sq_count)
