"""Seasonal naive: each period ahead repeats the same period one season back (last week's same weekday).

The baseline every forecast is measured against (MASE divides by its in-sample error), and a candidate in
its own right: for a series that repeats its week exactly, nothing beats it.
"""

from __future__ import annotations

import numpy as np

from services.forecast.models.history import Values


def seasonal_naive(y: Values, m: int, horizon: int) -> Values:
    """(series, horizon): forecasts after the last period; NaN where the season back has no value."""
    periods = y.shape[1]
    if periods < m:
        return np.full((y.shape[0], horizon), np.nan)
    back = periods - m + (np.arange(horizon) % m)
    return y[:, back]


def seasonal_naive_errors(y: Values, m: int, horizon: int, origins: int) -> Values:
    """(origins, series, horizon): errors of seasonal naive from each of the last `origins` periods (the
    latest origin last), NaN where a forecast or its actual value does not exist."""
    n, periods = y.shape
    errors = np.full((origins, n, horizon), np.nan)
    for t in range(max(m - 1, periods - 1 - origins), periods - 1):
        ahead = min(horizon, periods - 1 - t)
        predicted = seasonal_naive(y[:, : t + 1], m, ahead)
        errors[origins - (periods - 1 - t), :, :ahead] = y[:, t + 1 : t + 1 + ahead] - predicted
    return errors


def seasonal_naive_scale(y: Values, m: int) -> Values:
    """(series,): MASE's denominator, the in-sample mean absolute seasonal difference; NaN where it cannot be
    measured. A history with fewer than `m` seasonal differences (under two seasons) uses the lag-1 difference
    instead: a scale from one or two differences would swing MASE by orders of magnitude."""
    return np.where(_differences(y, m) >= m, _mean_abs_difference(y, m), _mean_abs_difference(y, 1))


def _differences(y: Values, lag: int) -> Values:
    if y.shape[1] <= lag:
        return np.zeros(y.shape[0])
    return np.sum(~np.isnan(y[:, lag:] - y[:, :-lag]), axis=1).astype(np.float64)


def _mean_abs_difference(y: Values, lag: int) -> Values:
    if y.shape[1] <= lag:
        return np.full(y.shape[0], np.nan)
    diffs = np.abs(y[:, lag:] - y[:, :-lag])
    counts = np.sum(~np.isnan(diffs), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, np.nansum(diffs, axis=1) / np.maximum(counts, 1), np.nan)
