"""One series' online detector: raw residual score → anomaly likelihood → one alert per incident.

Each point is scored before it is learnt (prequential), so a point never hides itself. The chain and
its settings were chosen by measurement on NAB (`make bench-nab`, docs/anomaly.md), not by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.anomaly.detection.likelihood import AnomalyLikelihood
from services.anomaly.detection.residuals import VALUE, ResidualScorer


@dataclass(frozen=True)
class DetectorSettings:
    fading_factor: float = 0.05  # weight of the newest point in the baselines
    long_window: int = 1000  # points of raw-score history the likelihood compares against
    short_window: int = 5  # recent raw scores averaged
    learning_points: int = 300  # no likelihood before this many points
    alert_level: float = 0.99  # likelihood at which an incident opens
    rearm_level: float = 0.7  # after an alert, the series scores 0 until its likelihood falls below this


@dataclass(frozen=True)
class Observation:
    score: float  # the likelihood, or 0 inside an incident's quiet period
    likelihood: float  # how unusual the recent points are, ungated
    expected: float | None  # the baseline before this point (None for a series' first point)
    alert: bool  # the score reached this series' alert level


class SeriesDetector:
    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings or DetectorSettings()
        s = self.settings
        self._scorer = ResidualScorer(fading_factor=s.fading_factor)
        self._likelihood = AnomalyLikelihood(s.long_window, s.short_window, s.learning_points)
        self._quiet = False
        self.alert_level = s.alert_level  # this series' own level: feedback may raise it

    def process(self, value: float) -> float:
        """Score `value` (0..1: an alert when ≥ the alert level), then learn it."""
        return self.observe(value).score

    def observe(self, value: float) -> Observation:
        x = {VALUE: value}
        expected = self._scorer.expected()
        raw = self._scorer.score_one(x)
        self._scorer.learn_one(x)
        likelihood = self._likelihood.update(raw)
        if self._quiet:
            # One alert per incident: silent until the series is back to usual.
            self._quiet = likelihood >= self.settings.rearm_level
            return Observation(0.0, likelihood, expected, alert=False)
        alert = likelihood >= self.alert_level
        self._quiet = alert
        return Observation(likelihood, likelihood, expected, alert)

    @property
    def latest(self) -> float | None:
        """The last value learnt."""
        return self._scorer.previous

    def accept_level(self, value: float) -> None:
        """A planned change: `value` is the series' new normal, so the change itself is not alerted again."""
        self._scorer.rebase(value)
        self._likelihood.forget_recent()
        self._quiet = False

    def desensitise(self) -> None:
        """A false positive: halve the tail probability that alerts on this series (0.99 → 0.995 → …)."""
        self.alert_level = 1.0 - (1.0 - self.alert_level) / 2.0

    def state(self) -> dict[str, Any]:
        return {
            "scorer": self._scorer.state(),
            "likelihood": self._likelihood.state(),
            "quiet": self._quiet,
            "alert_level": self.alert_level,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], settings: DetectorSettings | None = None) -> SeriesDetector:
        detector = cls(settings)
        detector._scorer = ResidualScorer.from_state(state["scorer"], detector.settings.fading_factor)
        detector._likelihood.restore(state["likelihood"])
        detector._quiet = state["quiet"]
        detector.alert_level = state["alert_level"]
        return detector
