"""Many series' histories on one shared calendar: the forecaster's input.

Every series in a batch ends on the same period (the batch's `end`), so one time index addresses all of
them and the models run as array operations over the series. A series that started later is padded with
NaN before its first value. A missing value inside a series is NaN too and the models carry their state
over it; cost from the ledger has no such gaps (a day without usage rows cost nothing, so the adapter that
reads rollups fills it with 0).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

Values = npt.NDArray[np.float64]


class Step(StrEnum):
    DAY = "day"
    HOUR = "hour"

    @property
    def delta(self) -> timedelta:
        return timedelta(days=1) if self is Step.DAY else timedelta(hours=1)

    @property
    def per_day(self) -> int:
        return 1 if self is Step.DAY else 24

    @property
    def season(self) -> int:
        """The season length the models learn: a week of days, a day of hours."""
        return 7 if self is Step.DAY else 24


@dataclass(frozen=True)
class SeriesBatch:
    ids: list[str]
    values: Values  # (series, periods), float64, NaN where a series has no value
    start: datetime  # the first period's start (UTC; midnight for days)
    step: Step = Step.DAY

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape[0] != len(self.ids):
            raise ValueError(f"values must be (series, periods) with one row per id, got {self.values.shape}")
        if len(set(self.ids)) != len(self.ids):
            raise ValueError("series ids must be unique")

    @property
    def periods(self) -> int:
        return int(self.values.shape[1])

    def period_starts(self, offset: int, count: int) -> list[datetime]:
        """Starts of `count` periods from index `offset` (negative or past the end is fine)."""
        return [self.start + (offset + k) * self.step.delta for k in range(count)]

    def days_of_month(self, offset: int, count: int) -> npt.NDArray[np.int64]:
        """Day of the month of each period from `offset` (for daily calendars)."""
        return np.array([d.day for d in self.period_starts(offset, count)], dtype=np.int64)

    def head(self, periods: int) -> SeriesBatch:
        """The batch as it was after its first `periods` periods (a backtest origin)."""
        return SeriesBatch(self.ids, self.values[:, :periods], self.start, self.step)

    def observed(self) -> npt.NDArray[np.int64]:
        """How many values each series has (from its first value to the end, gaps excluded)."""
        return np.sum(~np.isnan(self.values), axis=1).astype(np.int64)


def daily_batch(series: dict[str, dict[date, float]]) -> SeriesBatch:
    """A daily batch from {id: {day: value}}: one calendar from the earliest day to the latest, days a series
    lacks inside its own life filled with 0 (no usage rows that day), before its first day NaN."""
    as_instants = {
        sid: {datetime(d.year, d.month, d.day, tzinfo=UTC): v for d, v in days.items()} for sid, days in series.items()
    }
    return batch_of(as_instants, Step.DAY)


def batch_of(series: dict[str, dict[datetime, float]], step: Step, end: datetime | None = None) -> SeriesBatch:
    """A batch from {id: {period start (UTC): value}} on one calendar of `step` periods from the earliest start
    to the latest (or to `end`, the last period known to be complete, if later); periods a series lacks inside its
    own life are 0, before its first period NaN."""
    if not any(series.values()):
        raise ValueError("no series to forecast")
    first = min(min(periods) for periods in series.values() if periods)
    last = max(max(periods) for periods in series.values() if periods)
    if end is not None and end > last:
        last = end
    span = step.delta

    def index(at: datetime) -> int:
        return int((at - first) // span)

    values = np.full((len(series), index(last) + 1), np.nan)
    for row, periods in enumerate(series.values()):
        if not periods:
            continue
        values[row, index(min(periods)) :] = 0.0
        for at, value in periods.items():
            values[row, index(at)] = value
    return SeriesBatch(list(series), values, first, step)


def _rows(reduce: Callable[..., Any], values: Values) -> Values:
    """`reduce` (a numpy nan-reduction) over each row, NaN for a row with no value, without numpy's warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(reduce(values, axis=1), dtype=np.float64)


def quiet_nanmedian(values: Values) -> Values:
    return _rows(np.nanmedian, values)


def quiet_nanmean(values: Values) -> Values:
    return _rows(np.nanmean, values)


def quiet_nanstd(values: Values) -> Values:
    return _rows(np.nanstd, values)
