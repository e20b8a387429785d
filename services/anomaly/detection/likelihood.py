"""Anomaly likelihood: how unusual the recent raw scores are against the series' own history.

Raw scores (distances from a baseline) are not comparable across series: a noisy series always scores
high. Following the idea of Ahmad et al. ("Unsupervised real-time anomaly detection for streaming data",
Neurocomputing 2017), the detector compares the mean of the last few raw scores with the distribution
of the raw scores over a long window, and reports the normal CDF of that difference: a probability-like
value in [0, 1] that means the same on every series.

The long window is exponentially weighted (fading 2 / `long_window`) rather than the last `long_window`
scores kept in full: the state is a few floats, so it can be saved after every point, and on NAB it scored
as well as the full window (43.1 vs 42.0 standard, docs/anomaly.md).
"""

from __future__ import annotations

import math
from dataclasses import asdict
from statistics import NormalDist
from typing import Any

from services.anomaly.detection.residuals import EWStat

_NORMAL = NormalDist()
_MIN_SD = 1e-6


class AnomalyLikelihood:
    def __init__(self, long_window: int, short_window: int, learning_points: int) -> None:
        self._history = EWStat(fading_factor=2.0 / long_window)
        self._short: list[float] = []
        self._short_window = short_window
        self._learning = learning_points
        self._seen = 0

    def update(self, raw: float) -> float:
        """Add one raw score; returns the likelihood (0 while the history is still being learnt)."""
        self._history.learn(raw)
        self._seen += 1
        self._short.append(raw)
        if len(self._short) > self._short_window:
            del self._short[0]
        if self._seen < self._learning:
            return 0.0
        sd = max(math.sqrt(self._history.variance), _MIN_SD)
        recent = sum(self._short) / len(self._short)
        return _NORMAL.cdf((recent - self._history.mean) / sd)

    def forget_recent(self) -> None:
        """Drop the recent scores (after a planned change, they describe the change, not the series)."""
        self._short.clear()

    def state(self) -> dict[str, Any]:
        return {"history": asdict(self._history), "seen": self._seen, "short": list(self._short)}

    def restore(self, state: dict[str, Any]) -> None:
        self._history = EWStat(**state["history"])
        self._seen = state["seen"]
        self._short = list(state["short"])
