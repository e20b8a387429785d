"""One series' online detector: raw residual score → anomaly likelihood → one alert per incident.

Each point is scored before it is learnt (prequential), so a point never hides itself. The chain and
its settings were chosen by measurement on NAB (`make bench-nab`, docs/anomaly.md), not by name:

1. raw score: the larger of the value's and the step's z-scores (`ResidualScorer`, capped at `cap`);
2. likelihood: how unusual the recent raw scores are against their own history (`AnomalyLikelihood`);
   a value beyond the series' whole learnt range by more than `range_tolerance` of its width has
   likelihood 1 (the "spatial anomaly" rule of Numenta's HTM detector as run in NAB);
3. the series' own alert rate: each alert multiplies the tail probability (1 − likelihood) of later
   points by `alert_growth`, and that factor halves back towards 1 every `alert_half_life` points, so a
   series whose usual life is a burst every few hours stops alerting on each burst while a calm series
   stays sensitive;
4. one alert per incident: after an alert the series scores 0 until its likelihood falls below `rearm_level`.

Two context parts (`context.py`) feed step 2: a run of one repeated value longer than every run learnt has
likelihood 1 like a new extreme (`run_tolerance`), and, when `observe` is given timestamps, a time-of-day
profile's smoothed residual goes through a second likelihood, the larger of the two being used (`daily_slots`).
Both are on by default (NAB: 66.2 → 70.8 standard, in-sample) and off in the cost worker's `COST_DETECTOR`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.anomaly.detection.context import DailyProfile, FlatRuns
from services.anomaly.detection.likelihood import AnomalyLikelihood
from services.anomaly.detection.residuals import VALUE, ResidualScorer


@dataclass(frozen=True)
class DetectorSettings:
    fading_factor: float = 0.05  # weight of the newest point in the baselines
    long_window: int = 1000  # points of raw-score history the likelihood compares against
    short_window: int = 5  # recent raw scores averaged
    learning_points: int = 300  # no likelihood before this many points
    alert_level: float = 0.995  # likelihood at which an incident opens
    rearm_level: float = 0.7  # after an alert, the series scores 0 until its likelihood falls below this
    cap: float = 8.0  # largest raw z-score
    sd_floor: float = 0.01  # standard deviations are at least this fraction of the learnt range
    range_tolerance: float | None = 0.02  # beyond the learnt range by this fraction of it: likelihood 1 (None: off)
    alert_growth: float = 1.5  # each alert multiplies later tail probabilities by this
    alert_half_life: float = 4000.0  # points for that factor to halve back towards 1
    run_tolerance: float | None = 0.0  # a run of one value longer than every run learnt by this: likelihood 1
    run_minimum: int = 20  # shorter runs never count as flat runs
    daily_slots: int = 24  # slots of the day of the time-of-day profile (0: off; used only with timestamps)
    daily_fading: float = 0.3  # weight of the newest value in its slot's baseline
    daily_smooth: int = 288  # recent residuals averaged (a day of 5-minute points)
    daily_min_days: int = 3  # values a slot learns before it is scored
    daily_cap: float = 8.0  # largest daily score


@dataclass(frozen=True)
class Observation:
    score: float  # the likelihood, or 0 inside an incident's quiet period
    likelihood: float  # how unusual the recent points are, ungated
    expected: float | None  # the baseline before this point (None for a series' first point)
    alert: bool  # the score reached this series' alert level


@dataclass
class _DailyCheck:
    """The time-of-day profile and the likelihood of its scores: on or off together."""

    profile: DailyProfile
    likelihood: AnomalyLikelihood


class SeriesDetector:
    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings or DetectorSettings()
        s = self.settings
        self._scorer = ResidualScorer(s.fading_factor, s.cap, s.sd_floor)
        self._likelihood = AnomalyLikelihood(s.long_window, s.short_window, s.learning_points)
        self._quiet = False
        self._decay = 0.5 ** (1.0 / s.alert_half_life)
        self._tail_factor = 1.0  # the alert-rate factor on tail probabilities (≥ 1)
        self._runs = FlatRuns() if s.run_tolerance is not None else None
        self._daily: _DailyCheck | None = None
        if s.daily_slots > 0:
            self._daily = _DailyCheck(
                DailyProfile(s.daily_slots, s.daily_fading, s.daily_smooth, s.daily_min_days),
                AnomalyLikelihood(s.long_window, s.short_window, s.learning_points),
            )
        self.alert_level = s.alert_level  # this series' own level: feedback may raise it

    def process(self, value: float, timestamp: float | None = None) -> float:
        """Score `value` (0..1: an alert when ≥ the alert level), then learn it. `timestamp` (UTC seconds)
        feeds the time-of-day profile when it is on."""
        return self.observe(value, timestamp).score

    def observe(self, value: float, timestamp: float | None = None, tail_scale: float = 1.0) -> Observation:
        """Score `value`, then learn it. `tail_scale` widens (> 1) or narrows (< 1) the tail probability this series
        alerts at: a tenant's sensitivity against the deployment's."""
        s = self.settings
        x = {VALUE: value}
        scorer = self._scorer
        expected = scorer.expected()
        raw = scorer.score_one(x)
        new_extreme = (
            s.range_tolerance is not None
            and scorer.ranged >= s.learning_points
            and scorer.outside_range(value, s.range_tolerance)
        )
        runs = self._runs
        if runs is not None and s.run_tolerance is not None:
            if runs.learnt >= s.learning_points and runs.exceeds(value, s.run_tolerance, s.run_minimum):
                new_extreme = True
            runs.learn(value)
        scorer.learn_one(x)
        usual = self._likelihood.update(raw)  # learnt either way
        daily = self._daily
        if daily is not None and timestamp is not None:
            raw_daily = min(daily.profile.score(value, timestamp, scorer.floor()), s.daily_cap)
            usual = max(usual, daily.likelihood.update(raw_daily))
        likelihood = 1.0 if new_extreme else usual
        if self._tail_factor > 1.0:
            self._tail_factor = max(1.0, self._tail_factor * self._decay)
            likelihood = max(0.0, 1.0 - (1.0 - likelihood) * self._tail_factor)
        if self._quiet:
            # One alert per incident: silent until the series is back to usual.
            self._quiet = likelihood >= s.rearm_level
            return Observation(0.0, likelihood, expected, alert=False)
        alert = (
            likelihood >= self.alert_level
            if tail_scale == 1.0
            else likelihood >= 1.0 - (1.0 - self.alert_level) * tail_scale
        )
        self._quiet = alert
        if alert:
            self._tail_factor *= s.alert_growth
        return Observation(likelihood, likelihood, expected, alert)

    @property
    def latest(self) -> float | None:
        """The last value learnt."""
        return self._scorer.previous

    def accept_level(self, value: float) -> None:
        """A planned change: `value` is the series' new normal, so the change itself is not alerted again."""
        if self._daily is not None:
            before = self._scorer.expected()
            self._daily.profile.shift(0.0 if before is None else value - before)
            self._daily.likelihood.forget_recent()
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
            "tail_factor": self._tail_factor,
            **({"runs": self._runs.state()} if self._runs is not None else {}),
            **(
                {"daily": self._daily.profile.state(), "daily_likelihood": self._daily.likelihood.state()}
                if self._daily is not None
                else {}
            ),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], settings: DetectorSettings | None = None) -> SeriesDetector:
        detector = cls(settings)
        s = detector.settings
        detector._scorer = ResidualScorer.from_state(state["scorer"], s.fading_factor, s.cap, s.sd_floor)
        detector._likelihood.restore(state["likelihood"])
        detector._quiet = state["quiet"]
        detector.alert_level = state["alert_level"]
        detector._tail_factor = state.get("tail_factor", 1.0)  # absent from states saved before it existed
        if detector._runs is not None:  # a state saved without runs relearns them
            detector._runs = FlatRuns.from_state(state.get("runs"))
        if detector._daily is not None and "daily" in state:
            detector._daily.profile.restore(state["daily"])
            detector._daily.likelihood.restore(state["daily_likelihood"])
        return detector
