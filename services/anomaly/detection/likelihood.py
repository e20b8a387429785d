"""Anomaly likelihood: how unusual the recent raw scores are against the series' own history.

Raw scores (distances from a baseline) are not comparable across series: a noisy series always scores
high. Following the idea of Ahmad et al. ("Unsupervised real-time anomaly detection for streaming data",
Neurocomputing 2017), the detector compares the mean of the last few raw scores with the distribution
of the raw scores over a long window, and reports the normal CDF of that difference: a probability-like
value in [0, 1] that means the same on every series.
"""

from __future__ import annotations

import math
from collections import deque
from statistics import NormalDist

_NORMAL = NormalDist()
_MIN_SD = 1e-6


class AnomalyLikelihood:
    def __init__(self, long_window: int, short_window: int, learning_points: int) -> None:
        self._long: deque[float] = deque(maxlen=long_window)
        self._short: deque[float] = deque(maxlen=short_window)
        self._learning = learning_points
        self._sum = 0.0
        self._sum_sq = 0.0

    def update(self, raw: float) -> float:
        """Add one raw score; returns the likelihood (0 while the history is still being learnt)."""
        if len(self._long) == self._long.maxlen:
            oldest = self._long[0]
            self._sum -= oldest
            self._sum_sq -= oldest * oldest
        self._long.append(raw)
        self._sum += raw
        self._sum_sq += raw * raw
        self._short.append(raw)
        n = len(self._long)
        if n < self._learning:
            return 0.0
        mean = self._sum / n
        sd = max(math.sqrt(max(self._sum_sq / n - mean * mean, 0.0)), _MIN_SD)
        recent = sum(self._short) / len(self._short)
        return _NORMAL.cdf((recent - mean) / sd)
