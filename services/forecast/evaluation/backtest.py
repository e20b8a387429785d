"""Rolling-origin backtests: forecast from successive origins of a history and score each window.

A method is anything that forecasts a batch: Outlay's forecaster, seasonal naive, a peer library. Each origin
sees only the history before it; its window is the `horizon` periods after it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from services.forecast.evaluation.metrics import coverage, mase, smape, total_error
from services.forecast.models.forecaster import forecast
from services.forecast.models.history import SeriesBatch, Values, quiet_nanmedian
from services.forecast.models.seasonal_naive import seasonal_naive, seasonal_naive_scale


@dataclass(frozen=True)
class Prediction:
    point: Values  # (series, horizon)
    lower80: Values | None = None
    upper80: Values | None = None


Method = Callable[[SeriesBatch, int], Prediction]

# A window is regular when the median period of each of its seasons is within 20% of the median period of the
# last season of history (medians, so a one-day month-start charge is not a break), and it is material: at
# least 0.1% of the whole batch's window total (relative errors of a series costing nothing are noise).
REGULAR_SHIFT = 0.2
MATERIAL_SHARE = 0.001


@dataclass
class Scores:
    """Per (origin, series) scores of one method, NaN where undefined."""

    mase: list[Values] = field(default_factory=list)
    smape: list[Values] = field(default_factory=list)
    total_error: list[Values] = field(default_factory=list)
    coverage80: list[Values] = field(default_factory=list)
    regular: list[Values] = field(default_factory=list)  # 1.0 where the window was regular (same for every method)

    def add(self, prediction: Prediction, actual: Values, scale: Values, regular: Values) -> None:
        self.mase.append(mase(prediction.point, actual, scale))
        self.smape.append(smape(prediction.point, actual))
        self.total_error.append(total_error(prediction.point, actual))
        if prediction.lower80 is not None and prediction.upper80 is not None:
            self.coverage80.append(coverage(prediction.lower80, prediction.upper80, actual))
        self.regular.append(regular)

    @staticmethod
    def _all(values: list[Values]) -> Values:
        return np.concatenate(values) if values else np.array([])

    def mean_mase(self) -> float:
        return float(np.nanmean(self._all(self.mase)))

    def mean_smape(self) -> float:
        return float(np.nanmean(self._all(self.smape)))

    def total_errors(self, regular_only: bool = False) -> Values:
        errors = self._all(self.total_error)
        return errors[self._all(self.regular) == 1.0] if regular_only else errors

    def median_total_error(self, regular_only: bool = False) -> float:
        return nan_median(self.total_errors(regular_only))

    def coverages80(self) -> Values:
        return self._all(self.coverage80)

    def mean_coverage80(self) -> float:
        values = self.coverages80()
        return float(np.nanmean(values)) if np.any(~np.isnan(values)) else float("nan")

    def windows(self) -> int:
        return int(self._all(self.mase).size)


def nan_median(values: Values) -> float:
    return float(np.nanmedian(values)) if np.any(~np.isnan(values)) else float("nan")


def regular_windows(history: Values, actual: Values, season: int) -> Values:
    """1.0 where the window is regular and material (see REGULAR_SHIFT), else 0.0: no level shift, drop or
    surge that the history could not show."""
    n, horizon = actual.shape
    blocks = horizon // season
    if blocks == 0 or history.shape[1] < season:
        return np.zeros(n)
    reference = quiet_nanmedian(history[:, -season:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a series with no value in a block is not regular
        ahead = np.nanmedian(actual[:, : blocks * season].reshape(n, blocks, season), axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.abs(ahead - reference[:, None]) / np.abs(reference[:, None])
    totals = np.abs(np.nansum(actual, axis=1))
    material = totals >= MATERIAL_SHARE * totals.sum()
    return np.where((reference != 0) & material & np.all(shift <= REGULAR_SHIFT, axis=1), 1.0, 0.0)


def rolling_origin(
    batch: SeriesBatch, horizon: int, methods: dict[str, Method], first_origin: int, stride: int = 1
) -> dict[str, Scores]:
    """Scores of each method from origins first_origin, first_origin + stride, ... with a full window ahead."""
    scores = {name: Scores() for name in methods}
    season = batch.step.season
    for origin in range(first_origin, batch.periods - horizon + 1, stride):
        history = batch.head(origin)
        actual = batch.values[:, origin : origin + horizon]
        scale = seasonal_naive_scale(history.values, season)
        regular = regular_windows(history.values, actual, season)
        for name, method in methods.items():
            scores[name].add(method(history, horizon), actual, scale, regular)
    return scores


def seasonal_naive_method(batch: SeriesBatch, horizon: int) -> Prediction:
    return Prediction(seasonal_naive(batch.values, batch.step.season, horizon))


def outlay_method(batch: SeriesBatch, horizon: int) -> Prediction:
    forecasts = forecast(batch, horizon)
    lower, upper = forecasts.bounds(0.8)
    return Prediction(forecasts.point, lower, upper)
