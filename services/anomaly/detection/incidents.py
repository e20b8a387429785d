"""From per-point verdicts to incidents: when a cost anomaly opens, how big it is so far, when it ends.

Pure domain logic for one series: the caller feeds each point's time, actual and expected cost, the
detector's likelihood and whether it alerted; the tracker returns the `CostAnomaly` states worth publishing
(open, a change of severity, alerting, root cause or feedback, close). Ids are derived from the series and
the start, so a replayed stream reproduces the same incidents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from outlay.events.anomaly import AnomalyDirection, CostAnomaly, FeedbackVerdict, Severity, anomaly_id
from outlay.tenancy import DEFAULT_TENANT


@dataclass(frozen=True)
class IncidentSettings:
    close_level: float = 0.9  # below this for `calm_points` points in a row, the incident ends
    calm_points: int = 3
    min_impact: Decimal = Decimal("0")  # |impact| under this: recorded, not alerted
    # |impact| under this share of the expected cost: recorded, not alerted (AWS Cost Anomaly Detection has
    # the same pair of thresholds, absolute and percentage). Chosen on the labelled benchmark (docs/anomaly.md).
    min_impact_ratio: Decimal = Decimal("0.05")
    # A tenant's sensitivity against the deployment's: its series alert at tail probability (1 − alert level) × this.
    tail_scale: float = 1.0

    def alerts(self, impact: Decimal, expected: Decimal) -> bool:
        """Whether an incident of this `impact` over `expected` cost is big enough to alert (else: recorded only)."""
        size = abs(impact)
        return size >= self.min_impact and size >= self.min_impact_ratio * abs(expected)


# |impact| relative to what was expected, lowest bound first.
SEVERITY_BY_RATIO: tuple[tuple[Decimal, Severity], ...] = (
    (Decimal("0"), Severity.LOW),
    (Decimal("0.5"), Severity.MEDIUM),
    (Decimal("2"), Severity.HIGH),
    (Decimal("5"), Severity.CRITICAL),
)


def severity(impact: Decimal, expected: Decimal) -> Severity:
    ratio = abs(impact) / abs(expected) if expected else Decimal("Infinity")
    chosen = Severity.LOW
    for bound, level in SEVERITY_BY_RATIO:
        if ratio >= bound:
            chosen = level
    return chosen


@dataclass
class _Open:
    start: datetime
    direction: AnomalyDirection
    last_seen: datetime
    expected: Decimal = Decimal(0)
    actual: Decimal = Decimal(0)
    peak: float = 0.0
    calm: int = 0
    root_cause: list[str] = field(default_factory=list)
    feedback: FeedbackVerdict | None = None
    published: CostAnomaly | None = None


@dataclass
class IncidentTracker:
    series: str
    dimensions: dict[str, str] = field(default_factory=dict)
    currency: str = "USD"
    settings: IncidentSettings = field(default_factory=IncidentSettings)
    tenant_id: str = DEFAULT_TENANT  # the series' tenant, carried by every anomaly it publishes
    _open: _Open | None = None

    @property
    def current(self) -> CostAnomaly | None:
        """The ongoing incident's latest state, or None."""
        return None if self._open is None else self._state(self._open, end=None)

    def observe(
        self,
        at: datetime,
        actual: Decimal,
        expected: Decimal,
        likelihood: float,
        *,
        alert: bool,
        root_cause: list[str] | None = None,
    ) -> list[CostAnomaly]:
        """Feed one point; returns the states to publish (usually none)."""
        incident = self._open
        if incident is None:
            if not alert:
                return []
            direction = AnomalyDirection.SPIKE if actual >= expected else AnomalyDirection.DROP
            incident = self._open = _Open(start=at, direction=direction, last_seen=at)
        elif likelihood < self.settings.close_level and not alert:
            incident.calm += 1
            if incident.calm >= self.settings.calm_points:
                self._open = None
                return [self._state(incident, end=incident.last_seen)]
            return []
        else:
            incident.calm = 0
        incident.last_seen = at
        incident.expected += expected
        incident.actual += actual
        incident.peak = max(incident.peak, likelihood)
        if root_cause is not None:
            incident.root_cause = root_cause
        return self._publish_if_changed(incident)

    def give_feedback(self, incident_id: str, verdict: FeedbackVerdict) -> list[CostAnomaly]:
        """Record a verdict on the ongoing incident (if it is the one meant). A false positive or a planned
        change ends it quietly; a true positive keeps it open. Returns the states to publish."""
        incident = self._open
        if incident is None or anomaly_id(self.series, incident.start) != incident_id:
            return []
        incident.feedback = verdict
        if verdict is FeedbackVerdict.TRUE_POSITIVE:
            return self._publish_if_changed(incident)
        self._open = None
        return [self._state(incident, end=incident.last_seen)]

    def _publish_if_changed(self, incident: _Open) -> list[CostAnomaly]:
        state = self._state(incident, end=None)
        previous = incident.published
        watched = ("severity", "alerted", "root_cause", "feedback")
        if previous is None or any(getattr(previous, f) != getattr(state, f) for f in watched):
            incident.published = state
            return [state]
        return []

    def _state(self, incident: _Open, end: datetime | None) -> CostAnomaly:
        impact = incident.actual - incident.expected
        quiet = incident.feedback in (FeedbackVerdict.FALSE_POSITIVE, FeedbackVerdict.PLANNED)
        return CostAnomaly(
            anomaly_id=anomaly_id(self.series, incident.start),
            tenant_id=self.tenant_id,
            series=self.series,
            dimensions=self.dimensions,
            direction=incident.direction,
            start=incident.start,
            end=end,
            last_seen=incident.last_seen,
            expected_cost=incident.expected,
            actual_cost=incident.actual,
            impact=impact,
            currency=self.currency,
            score=min(max(incident.peak, 0.0), 1.0),
            severity=severity(impact, incident.expected),
            root_cause=incident.root_cause,
            alerted=self.settings.alerts(impact, incident.expected) and not quiet,
            feedback=incident.feedback,
        )

    def state(self) -> dict[str, Any] | None:
        """The ongoing incident as JSON-ready data (None when calm)."""
        i = self._open
        if i is None:
            return None
        return {
            "start": i.start.isoformat(),
            "direction": i.direction.value,
            "last_seen": i.last_seen.isoformat(),
            "expected": str(i.expected),
            "actual": str(i.actual),
            "peak": i.peak,
            "calm": i.calm,
            "root_cause": i.root_cause,
            "feedback": None if i.feedback is None else i.feedback.value,
            "published": None if i.published is None else i.published.model_dump(mode="json"),
        }

    def restore(self, state: dict[str, Any] | None) -> None:
        if state is None:
            self._open = None
            return
        self._open = _Open(
            start=datetime.fromisoformat(state["start"]),
            direction=AnomalyDirection(state["direction"]),
            last_seen=datetime.fromisoformat(state["last_seen"]),
            expected=Decimal(state["expected"]),
            actual=Decimal(state["actual"]),
            peak=state["peak"],
            calm=state["calm"],
            root_cause=list(state["root_cause"]),
            feedback=None if state["feedback"] is None else FeedbackVerdict(state["feedback"]),
            published=None if state["published"] is None else CostAnomaly.model_validate(state["published"]),
        )
