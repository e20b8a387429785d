"""Forecast error metrics, per series, over one forecast window (NaN where a metric is undefined).

- MASE: mean absolute error divided by the in-sample mean absolute seasonal difference (Hyndman & Koehler,
  2006), so 1.0 is as good as seasonal naive was on the history.
- sMAPE: mean of 2|F - A| / (|F| + |A|), in percent; a period where both are 0 counts as 0.
- total error: |sum F - sum A| / |sum A|, the error of the window's total (what a budget cares about).
- coverage: share of actual values inside [lower, upper].
"""

from __future__ import annotations

import numpy as np

from services.forecast.models.history import Values, quiet_nanmean


def mase(forecast: Values, actual: Values, scale: Values) -> Values:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 0, quiet_nanmean(np.abs(forecast - actual)) / scale, np.nan)


def smape(forecast: Values, actual: Values) -> Values:
    denominator = np.abs(forecast) + np.abs(actual)
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = np.where(denominator > 0, 2 * np.abs(forecast - actual) / denominator, 0.0)
    return 100 * quiet_nanmean(terms)


def total_error(forecast: Values, actual: Values) -> Values:
    total = np.nansum(actual, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total != 0, np.abs(np.nansum(forecast, axis=1) - total) / np.abs(total), np.nan)


def coverage(lower: Values, upper: Values, actual: Values) -> Values:
    inside = (actual >= lower) & (actual <= upper)
    observed = ~np.isnan(actual)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(inside & observed, axis=1) / np.sum(observed, axis=1)
