"""One series, end to end in plain Python: contributions → closed buckets → detector → incidents, with root
cause and feedback. Its whole state is JSON-ready data, so the worker can keep it in a changelog-backed table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from outlay.events.anomaly import AnomalyFeedback, CostAnomaly, FeedbackVerdict
from services.anomaly.detection.detector import DetectorSettings, SeriesDetector
from services.anomaly.detection.incidents import IncidentSettings, IncidentTracker
from services.anomaly.detection.seasonality import SeasonalProfile
from services.anomaly.series.buckets import BucketSeries, Point
from services.anomaly.series.keys import SeriesContribution
from services.anomaly.series.root_cause import CauseBaselines
from services.anomaly.series.tenants import tenant_of

NANO = Decimal("1e-9")


@dataclass(frozen=True)
class MonitorSettings:
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    incidents: IncidentSettings = field(default_factory=IncidentSettings)
    lateness: int = 2  # buckets a contribution may arrive late and still count
    seasonal: bool = True  # take the weekly shape out before detecting (off: the raw series, for comparison)


class SeriesMonitor:
    def __init__(
        self,
        series: str,
        dimensions: dict[str, str],
        step: timedelta,
        currency: str = "USD",
        settings: MonitorSettings | None = None,
    ) -> None:
        self.settings = settings or MonitorSettings()
        self.series = series
        self.tenant_id = tenant_of(series)
        self.buckets = BucketSeries(step, self.settings.lateness)
        self.detector = SeriesDetector(self.settings.detector)
        self.season = SeasonalProfile(step)
        self.causes = CauseBaselines(fading_factor=self.settings.detector.fading_factor)
        self.incidents = IncidentTracker(series, dimensions, currency, self.settings.incidents, self.tenant_id)
        self.points = 0

    @classmethod
    def for_contribution(cls, c: SeriesContribution, settings: MonitorSettings | None = None) -> SeriesMonitor:
        return cls(c.series, c.dimensions, timedelta(seconds=c.granularity_s), c.currency, settings)

    def add(self, c: SeriesContribution) -> list[CostAnomaly]:
        """Add one contribution, closing buckets on the series' own data; returns the anomaly states to publish."""
        return self._learn_all(self.buckets.add(c.bucket, c.amount, c.record_ids, c.breakdown))

    def add_held(self, contributions: list[SeriesContribution], watermark: datetime | None) -> list[CostAnomaly]:
        """Add contributions to a series fed by several usage partitions, closing buckets on the partitions'
        `watermark` only (None: not known yet, close nothing; and the oldest when too much waits); returns the
        anomaly states to publish."""
        for c in contributions:
            self.buckets.add(c.bucket, c.amount, c.record_ids, c.breakdown, own_clock=False)
        # What the watermark closes first: only what it cannot close yet counts towards the bound.
        points = [] if watermark is None else self.buckets.advance(watermark)
        points += self.buckets.close_overflow()
        return self._learn_all(points)

    def advance(self, now: datetime) -> list[CostAnomaly]:
        """Close the buckets the stream's clock (`now`) says are complete; returns the states to publish."""
        return self._learn_all(self.buckets.advance(now))

    def _learn_all(self, points: list[Point]) -> list[CostAnomaly]:
        published: list[CostAnomaly] = []
        for point in points:
            published += self._learn(point)
        return published

    def _learn(self, point: Point) -> list[CostAnomaly]:
        self.points += 1
        value = float(point.amount)
        # The detector sees spend with its weekly shape taken out.
        usual = self.season.factor(point.at) if self.settings.seasonal else 1.0
        seen = self.detector.observe(value / usual, point.at.timestamp(), self.incidents.settings.tail_scale)
        expected = point.amount if seen.expected is None else Decimal(seen.expected * usual).quantize(NANO)
        ongoing = self.incidents.current
        in_incident = ongoing is not None or seen.alert
        self.season.learn(point.at, value, usual if self.settings.seasonal else None)
        self.causes.observe(point.breakdown, in_incident)
        root_cause = None
        cause_change = 0.0
        if in_incident:
            impact_so_far = (ongoing.impact if ongoing else Decimal(0)) + point.amount - expected
            root_cause = self.causes.explain(float(impact_so_far))
            cause_change = self.causes.change(root_cause)
        return self.incidents.observe(
            point.at,
            point.amount,
            expected,
            seen.likelihood,
            alert=seen.alert,
            root_cause=root_cause,
            cause_change=cause_change,
        )

    def use_incident_settings(self, settings: IncidentSettings) -> None:
        """Decide alerting by `settings` from now on (its tenant's thresholds changed); the state is unchanged,
        and an ongoing incident's next state is judged by the new thresholds."""
        self.incidents.settings = settings

    def give_feedback(self, feedback: AnomalyFeedback) -> list[CostAnomaly]:
        """Apply a person's verdict: it ends or confirms the ongoing incident, and changes future alerting.
        A verdict from another tenant than the series' changes nothing."""
        if feedback.tenant_id != self.tenant_id:
            return []
        if feedback.verdict is FeedbackVerdict.FALSE_POSITIVE:
            self.detector.desensitise()
        elif feedback.verdict is FeedbackVerdict.PLANNED:
            latest = self.detector.latest
            if latest is not None:
                self.detector.accept_level(latest)
        return self.incidents.give_feedback(feedback.anomaly_id, feedback.verdict)

    def state(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "dimensions": self.incidents.dimensions,
            "currency": self.incidents.currency,
            "points": self.points,
            "buckets": self.buckets.state(),
            "detector": self.detector.state(),
            "season": self.season.state(),
            "causes": self.causes.state(),
            "incident": self.incidents.state(),
            "incident_starts": self.incidents.history_state(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], settings: MonitorSettings | None = None) -> SeriesMonitor:
        buckets = BucketSeries.from_state(state["buckets"])
        monitor = cls(state["series"], state["dimensions"], buckets.step, state["currency"], settings)
        monitor.buckets = buckets
        monitor.points = state["points"]
        monitor.detector = SeriesDetector.from_state(state["detector"], monitor.settings.detector)
        if "season" in state:  # states written before the seasonal profile existed start a fresh one
            monitor.season = SeasonalProfile.from_state(buckets.step, state["season"])
        monitor.causes.restore(state["causes"])
        monitor.incidents.restore(state["incident"])
        monitor.incidents.restore_history(state.get("incident_starts", []))  # absent from older states
        return monitor
