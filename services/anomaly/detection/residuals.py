"""The raw score of one point: how far it, and its change from the previous point, lie from their
exponentially weighted baselines, in standard deviations. A River anomaly detector (score, then learn)."""

from __future__ import annotations

import math
from typing import Any

from river import base, stats

VALUE = "value"


class _Baseline:
    """An exponentially weighted mean and variance (River's), and the z-score of a value against them."""

    def __init__(self, fading_factor: float) -> None:
        self.mean = stats.EWMean(fading_factor=fading_factor)
        self.var = stats.EWVar(fading_factor=fading_factor)
        self.seen = False

    def z(self, value: float, cap: float) -> float:
        variance = self.var.get()
        if not self.seen or variance <= 0.0:
            return 0.0
        return min(abs(value - self.mean.get()) / math.sqrt(variance), cap)

    def learn(self, value: float) -> None:
        self.mean.update(value)
        self.var.update(value)
        self.seen = True


class ResidualScorer(base.AnomalyDetector):
    """Max of the level's and the step's z-scores: a spike moves both, a level shift the step first,
    a slow drift the level."""

    def __init__(self, fading_factor: float = 0.05, cap: float = 50.0) -> None:
        self.fading_factor = fading_factor
        self.cap = cap
        self._level = _Baseline(fading_factor)
        self._step = _Baseline(fading_factor)
        self._previous: float | None = None

    def expected(self) -> float | None:
        """The level baseline before the next point is learnt: what the series is expected to be."""
        return self._level.mean.get() if self._level.seen else None

    def score_one(self, x: dict[Any, Any]) -> float:
        value = float(x[VALUE])
        level = self._level.z(value, self.cap)
        if self._previous is None:
            return level
        return max(level, self._step.z(value - self._previous, self.cap))

    def learn_one(self, x: dict[Any, Any]) -> None:
        value = float(x[VALUE])
        self._level.learn(value)
        if self._previous is not None:
            self._step.learn(value - self._previous)
        self._previous = value
