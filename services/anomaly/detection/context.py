"""Context scores beside the residual z-scores, each off unless its setting asks for it (docs/anomaly.md).

- `FlatRuns`: a run of one repeated value longer than any run the series has held (a sensor or a job stuck
  at a constant). The run-length counterpart of the range rule taken from Numenta's NAB detector: a new
  extreme of the run length, as that rule flags a new extreme of the value.
- `DailyProfile`: the value against the series' own mean and spread at the same time of day (slots of the
  day from the point's timestamp), smoothed over the last few points, so that a day lower or higher than its
  usual shape stands out even when each value lies within the whole series' range.

Every state is plain data (lists, floats, ints) so it travels through the changelog as JSON.
"""

from __future__ import annotations

import math
from typing import Any

from services.anomaly.detection.residuals import EWStat

DAY = 86400.0


class FlatRuns:
    """The length of the current run of equal values, and the longest run learnt before it."""

    def __init__(self) -> None:
        self.previous: float | None = None
        self.run = 0  # repeats of `previous` after its first occurrence
        self.longest = 0  # the longest run that has ended
        self.learnt = 0  # values learnt (a restored state without runs relearns them before they count)

    def exceeds(self, value: float, tolerance: float, minimum: int) -> bool:
        """Learning `value` makes the current run longer than every run learnt by more than `tolerance`."""
        if value != self.previous:
            return False
        run = self.run + 1
        return run >= minimum and run > self.longest * (1.0 + tolerance)

    def learn(self, value: float) -> None:
        self.learnt += 1
        if value == self.previous:
            self.run += 1
        else:
            self.longest = max(self.longest, self.run)
            self.run = 0
            self.previous = value

    def state(self) -> dict[str, Any]:
        return {"previous": self.previous, "run": self.run, "longest": self.longest, "learnt": self.learnt}

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> FlatRuns:
        runs = cls()
        if state:
            runs.previous, runs.run, runs.longest = state["previous"], state["run"], state["longest"]
            runs.learnt = state["learnt"]
        return runs


class DailyProfile:
    """Per slot of the day (from the point's timestamp, UTC seconds), an exponentially weighted mean and
    variance of the value (`EWStat`); the score is the mean of the last `smooth` signed residuals in the slots' standard
    deviations, taken absolute, so a whole stretch above or below its usual time-of-day shape stands out."""

    def __init__(self, slots: int, fading_factor: float, smooth: int, min_days: int) -> None:
        self.slots = slots
        self.fading_factor = fading_factor
        self.smooth = smooth
        self.min_days = min_days
        self.stats = [EWStat(fading_factor) for _ in range(slots)]
        self.days = [0] * slots  # values learnt per slot
        self.residuals: list[float] = []
        self.residual_sum = 0.0  # of `residuals`, kept as they come and go

    def slot(self, timestamp: float) -> int:
        return int((timestamp % DAY) / DAY * self.slots) % self.slots

    def score(self, value: float, timestamp: float, floor: float) -> float:
        """|mean of the recent residuals| (0 until the slot has `min_days` values), then learn `value`."""
        i = self.slot(timestamp)
        stat = self.stats[i]
        residual = 0.0
        if self.days[i] >= self.min_days:
            sd = max(math.sqrt(stat.variance), floor, 1e-12)
            residual = (value - stat.mean) / sd
        residuals = self.residuals
        residuals.append(residual)
        self.residual_sum += residual
        if len(residuals) > self.smooth:
            self.residual_sum -= residuals.pop(0)
        stat.learn(value)
        self.days[i] += 1
        if self.days[i] <= self.min_days:
            return 0.0
        return abs(self.residual_sum / len(residuals))

    def shift(self, delta: float) -> None:
        """A planned change of level by `delta`: every learnt slot's mean moves with it (spreads kept), and
        the recent residuals, which describe the change, are dropped."""
        for stat in self.stats:
            if stat.seen:
                stat.rebase(stat.mean + delta)
        self.residuals.clear()
        self.residual_sum = 0.0

    def state(self) -> dict[str, Any]:
        return {
            "mean": [stat.mean for stat in self.stats],
            "mean_sq": [stat.mean_sq for stat in self.stats],
            "days": list(self.days),
            "residuals": list(self.residuals),
            "residual_sum": self.residual_sum,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.days = list(state["days"])
        self.stats = [
            EWStat(self.fading_factor, mean, mean_sq, seen=days > 0)
            for mean, mean_sq, days in zip(state["mean"], state["mean_sq"], self.days, strict=True)
        ]
        self.residuals = list(state["residuals"])
        self.residual_sum = state["residual_sum"]
