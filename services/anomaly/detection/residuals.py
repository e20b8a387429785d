"""The raw score of one point: how far it, and its change from the previous point, lie from their
exponentially weighted baselines, in standard deviations. A River anomaly detector (score, then learn).

It also keeps the range of every value it has learnt, for two uses measured on NAB (docs/anomaly.md):
a point well outside that range is anomalous whatever its z-score (the "spatial anomaly" of Numenta's NAB
detector: a new extreme beyond a tolerance of the range), and a small fraction of the range floors the
standard deviations, so a blip on a series that sat flat for a while is not a 50-sigma event.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from river import base

VALUE = "value"


@dataclass
class EWStat:
    """Exponentially weighted mean and variance, computed as River's `stats.EWMean` / `stats.EWVar` do
    (the first value seeds the mean; Var = EW mean of x² − (EW mean of x)²).

    Plain floats rather than River's objects: River's are Rust-backed and pickle only, and a series'
    state must travel through a changelog topic as JSON (never pickle: a topic is not trusted code).
    """

    fading_factor: float
    mean: float = 0.0
    mean_sq: float = 0.0
    seen: bool = False

    @property
    def variance(self) -> float:
        return max(self.mean_sq - self.mean * self.mean, 0.0)

    def z(self, value: float, cap: float, floor: float = 0.0) -> float:
        """|value − mean| in standard deviations (at least `floor`), at most `cap`; 0 before any data."""
        sd = max(math.sqrt(self.variance), floor)
        if not self.seen or sd <= 0.0:
            return 0.0
        return min(abs(value - self.mean) / sd, cap)

    def learn(self, value: float) -> None:
        if not self.seen:
            self.mean, self.mean_sq, self.seen = value, value * value, True
            return
        a = self.fading_factor
        self.mean = a * value + (1.0 - a) * self.mean
        self.mean_sq = a * value * value + (1.0 - a) * self.mean_sq

    def rebase(self, value: float) -> None:
        """Move the mean to `value`, keeping the variance: a known, intended change of level."""
        variance = self.variance
        self.mean = value
        self.mean_sq = variance + value * value
        self.seen = True


class ResidualScorer(base.AnomalyDetector):
    """Max of the level's and the step's z-scores: a spike moves both, a level shift the step first,
    a slow drift the level.

    `cap` bounds a z-score: the likelihood that follows compares raw scores with their own history, and an
    unbounded one lets a single huge blip dominate that history (cap 8 scored 59–64 on NAB, 50 scored 56–57).
    `sd_floor` is the fraction of the learnt range below which a standard deviation is not trusted.
    """

    def __init__(self, fading_factor: float = 0.05, cap: float = 8.0, sd_floor: float = 0.01) -> None:
        self.fading_factor = fading_factor
        self.cap = cap
        self.sd_floor = sd_floor
        self.level = EWStat(fading_factor)
        self.step = EWStat(fading_factor)
        self.previous: float | None = None
        self.low: float | None = None  # the range of the values learnt
        self.high: float | None = None
        self.ranged = 0  # values the range has learnt

    def expected(self) -> float | None:
        """The level baseline before the next point is learnt: what the series is expected to be."""
        return self.level.mean if self.level.seen else None

    def floor(self) -> float:
        """The smallest standard deviation trusted: `sd_floor` of the learnt range."""
        if self.low is None or self.high is None:
            return 0.0
        return self.sd_floor * (self.high - self.low)

    def score_one(self, x: dict[Any, Any]) -> float:
        value = float(x[VALUE])
        floor = self.floor()
        level = self.level.z(value, self.cap, floor)
        if self.previous is None:
            return level
        return max(level, self.step.z(value - self.previous, self.cap, floor))

    def outside_range(self, value: float, tolerance: float) -> bool:
        """`value` lies beyond the learnt range by more than `tolerance` of its width (a new extreme)."""
        if self.low is None or self.high is None or self.high <= self.low:
            return False
        margin = tolerance * (self.high - self.low)
        return value > self.high + margin or value < self.low - margin

    def learn_one(self, x: dict[Any, Any]) -> None:
        value = float(x[VALUE])
        self.level.learn(value)
        if self.previous is not None:
            self.step.learn(value - self.previous)
        self.previous = value
        self._widen(value)

    def _widen(self, value: float) -> None:
        self.low = value if self.low is None else min(self.low, value)
        self.high = value if self.high is None else max(self.high, value)
        self.ranged += 1

    def rebase(self, value: float) -> None:
        """Accept `value` as the new normal level (planned change): no step, no level residual, in range."""
        self.level.rebase(value)
        self.previous = value
        self._widen(value)

    def state(self) -> dict[str, Any]:
        return {
            "level": asdict(self.level),
            "step": asdict(self.step),
            "previous": self.previous,
            "low": self.low,
            "high": self.high,
            "ranged": self.ranged,
        }

    @classmethod
    def from_state(
        cls, state: dict[str, Any], fading_factor: float, cap: float = 8.0, sd_floor: float = 0.01
    ) -> ResidualScorer:
        scorer = cls(fading_factor, cap, sd_floor)
        scorer.level = EWStat(**state["level"])
        scorer.step = EWStat(**state["step"])
        scorer.previous = state["previous"]
        # A state saved before the range existed starts a new one (and relearns it before using it).
        scorer.low = state.get("low")
        scorer.high = state.get("high")
        scorer.ranged = state.get("ranged", 0)
        return scorer
