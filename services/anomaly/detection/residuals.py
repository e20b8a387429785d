"""The raw score of one point: how far it, and its change from the previous point, lie from their
exponentially weighted baselines, in standard deviations. A River anomaly detector (score, then learn)."""

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

    def z(self, value: float, cap: float) -> float:
        variance = self.variance
        if not self.seen or variance <= 0.0:
            return 0.0
        return min(abs(value - self.mean) / math.sqrt(variance), cap)

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
    a slow drift the level."""

    def __init__(self, fading_factor: float = 0.05, cap: float = 50.0) -> None:
        self.fading_factor = fading_factor
        self.cap = cap
        self.level = EWStat(fading_factor)
        self.step = EWStat(fading_factor)
        self.previous: float | None = None

    def expected(self) -> float | None:
        """The level baseline before the next point is learnt: what the series is expected to be."""
        return self.level.mean if self.level.seen else None

    def score_one(self, x: dict[Any, Any]) -> float:
        value = float(x[VALUE])
        level = self.level.z(value, self.cap)
        if self.previous is None:
            return level
        return max(level, self.step.z(value - self.previous, self.cap))

    def learn_one(self, x: dict[Any, Any]) -> None:
        value = float(x[VALUE])
        self.level.learn(value)
        if self.previous is not None:
            self.step.learn(value - self.previous)
        self.previous = value

    def rebase(self, value: float) -> None:
        """Accept `value` as the new normal level (planned change): no step, no level residual."""
        self.level.rebase(value)
        self.previous = value

    def state(self) -> dict[str, Any]:
        return {"level": asdict(self.level), "step": asdict(self.step), "previous": self.previous}

    @classmethod
    def from_state(cls, state: dict[str, Any], fading_factor: float, cap: float = 50.0) -> ResidualScorer:
        scorer = cls(fading_factor, cap)
        scorer.level = EWStat(**state["level"])
        scorer.step = EWStat(**state["step"])
        scorer.previous = state["previous"]
        return scorer
