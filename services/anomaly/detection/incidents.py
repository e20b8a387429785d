"""From per-point verdicts to incidents: when a cost anomaly opens, how big it is so far, when it ends.

Pure domain logic for one series: the caller feeds each point's time, actual and expected cost, the
detector's likelihood and whether it alerted; the tracker returns the `CostAnomaly` states worth publishing
(open, a change of severity, alerting, root cause or feedback, close). Ids are derived from the series and
the start, so a replayed stream reproduces the same incidents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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
    # What explains the incident must have moved by at least this share of its own usual spend: the root cause's
    # values (a resource, a usage type: `CauseBaselines.change`), or the series itself when nothing narrower
    # explains it. A deploy or a resize steps one resource's cost by some percent and the detector, on a calm
    # series, sees tens of standard deviations; a runaway, a forgotten instance or an outage moves it by a
    # multiple. Judged at the cause, so a small resource tripling inside a large aggregate still alerts there.
    # Chosen on seed 7 of the labelled benchmark (docs/anomaly.md): deploy steps there were 7-28%, labelled
    # anomalies 28% and up.
    min_change_ratio: float = 0.25
    # An incident that starts within `recurring_within` of the time of the week an earlier incident of this series
    # started, one to `recurring_weeks` weeks before, is the series' weekly habit, not news: recorded, not alerted.
    # The weekly profile cannot learn a sharp weekly step (a weekend starting at midnight): it interpolates between
    # hour slots, and half the step stays in the residual there, every week (seed 7 of the labelled benchmark:
    # 10 of 25 false alarms; docs/anomaly.md). 0 weeks: off.
    recurring_within: timedelta = timedelta(minutes=10)
    recurring_weeks: int = 2
    # ... unless it is far larger than a habit: |impact| at least this share of the expected cost (a doubling, or a
    # drop to a tenth) alerts whatever the time of the week (a blip last Monday at 09:00 must not hide a runaway
    # starting this Monday at 09:05). The weekly edges it is for moved 20-40%.
    recurring_max_ratio: Decimal = Decimal("0.9")
    # A tenant's sensitivity against the deployment's: its series alert at tail probability (1 − alert level) × this.
    tail_scale: float = 1.0

    def alerts(self, impact: Decimal, expected: Decimal, cause_change: float = 0.0) -> bool:
        """Whether an incident of this `impact` over `expected` cost, whose root cause moved by `cause_change` of
        its own usual spend (0: no narrower cause), is big enough to alert (else: recorded only)."""
        if not self.meets_minimums(impact, expected):
            return False
        if self.min_change_ratio <= 0.0 or cause_change >= self.min_change_ratio:
            return True
        return abs(impact) >= Decimal(str(self.min_change_ratio)) * abs(expected)

    def meets_minimums(self, impact: Decimal, expected: Decimal) -> bool:
        """Whether `impact` over `expected` cost reaches the minimum impact and minimum share (what a tenant's
        `anomaly_impact` policy sets); `alerts` also asks for a large enough change of the cause."""
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
    cause_change: float = 0.0  # how much the root cause moved against its own usual spend (0: none named)
    feedback: FeedbackVerdict | None = None
    published: CostAnomaly | None = None
    recurring: bool = False  # it started at the time of the week an earlier incident did (not alerted)


WEEK = timedelta(weeks=1)


def _cause_change(saved: Any) -> float:
    """A saved `cause_change`: null (an infinity through JSON) means a value that usually spends nothing moved."""
    return math.inf if saved is None else float(saved)


@dataclass
class IncidentTracker:
    series: str
    dimensions: dict[str, str] = field(default_factory=dict)
    currency: str = "USD"
    settings: IncidentSettings = field(default_factory=IncidentSettings)
    tenant_id: str = DEFAULT_TENANT  # the series' tenant, carried by every anomaly it publishes
    _open: _Open | None = None
    # Starts of this series' incidents within the last `recurring_weeks` weeks (and `recurring_within`), oldest first.
    recent_starts: list[datetime] = field(default_factory=list)

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
        cause_change: float = 0.0,
    ) -> list[CostAnomaly]:
        """Feed one point; returns the states to publish (usually none). `cause_change`: how much `root_cause`
        moved over the incident so far against its own usual spend (`CauseBaselines.change`)."""
        incident = self._open
        if incident is None:
            if not alert:
                return []
            direction = AnomalyDirection.SPIKE if actual >= expected else AnomalyDirection.DROP
            incident = self._open = _Open(start=at, direction=direction, last_seen=at, recurring=self._recurs(at))
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
            incident.cause_change = cause_change
        return self._publish_if_changed(incident)

    def _recurs(self, start: datetime) -> bool:
        """Whether an incident starting at `start` repeats an earlier one's time of the week; remembers `start`."""
        s = self.settings
        if s.recurring_weeks <= 0:
            return False
        within = s.recurring_within
        recurring = any(
            abs(start - earlier - weeks * WEEK) <= within
            for earlier in self.recent_starts
            for weeks in range(1, s.recurring_weeks + 1)
        )
        horizon = start - s.recurring_weeks * WEEK - within
        self.recent_starts = [t for t in self.recent_starts if t >= horizon]
        self.recent_starts.append(start)
        return recurring

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
            alerted=self.settings.alerts(impact, incident.expected, incident.cause_change)
            and not quiet
            and not (incident.recurring and abs(impact) < self.settings.recurring_max_ratio * abs(incident.expected)),
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
            "cause_change": i.cause_change,
            "recurring": i.recurring,
            "feedback": None if i.feedback is None else i.feedback.value,
            "published": None if i.published is None else i.published.model_dump(mode="json"),
        }

    def history_state(self) -> list[str]:
        """The recent incident starts (kept while calm too, unlike `state`)."""
        return [t.isoformat() for t in self.recent_starts]

    def restore_history(self, starts: list[str]) -> None:
        self.recent_starts = [datetime.fromisoformat(t) for t in starts]

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
            # Absent from states saved before it existed; null where a codec wrote an infinity (a new value moved).
            cause_change=_cause_change(state.get("cause_change", 0.0)),
            recurring=state.get("recurring", False),
            feedback=None if state["feedback"] is None else FeedbackVerdict(state["feedback"]),
            published=None if state["published"] is None else CostAnomaly.model_validate(state["published"]),
        )
