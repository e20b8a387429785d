"""From per-point verdicts to incidents: when a cost anomaly opens, how big it is so far, when it ends.

Pure domain logic for one series: the caller feeds each point's time, actual and expected cost and the
detector's likelihood; the tracker returns the `CostAnomaly` states worth publishing (open, a change of
severity or of alerting, close). Ids are derived from the series and the start, so a replayed stream
reproduces the same incidents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from outlay.events.anomaly import AnomalyDirection, CostAnomaly, Severity, anomaly_id


@dataclass(frozen=True)
class IncidentSettings:
    open_level: float = 0.99  # likelihood that opens an incident (the detector's alert level)
    close_level: float = 0.9  # below this for `calm_points` points in a row, the incident ends
    calm_points: int = 3
    min_impact: Decimal = Decimal("0")  # |impact| under this: recorded, not alerted


# |impact| relative to what was expected, lowest bound first (a tenant's sensitivity scales these).
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
    published: CostAnomaly | None = None


@dataclass
class IncidentTracker:
    series: str
    dimensions: dict[str, str] = field(default_factory=dict)
    currency: str = "USD"
    settings: IncidentSettings = field(default_factory=IncidentSettings)
    _open: _Open | None = None

    @property
    def current(self) -> CostAnomaly | None:
        """The ongoing incident's latest state, or None."""
        return None if self._open is None else self._state(self._open, end=None)

    def observe(self, at: datetime, actual: Decimal, expected: Decimal, likelihood: float) -> list[CostAnomaly]:
        """Feed one point; returns the states to publish (usually none)."""
        incident = self._open
        if incident is None:
            if likelihood < self.settings.open_level:
                return []
            direction = AnomalyDirection.SPIKE if actual >= expected else AnomalyDirection.DROP
            incident = self._open = _Open(start=at, direction=direction, last_seen=at)
        elif likelihood < self.settings.close_level:
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
        state = self._state(incident, end=None)
        previous = incident.published
        if previous is None or (previous.severity, previous.alerted) != (state.severity, state.alerted):
            incident.published = state
            return [state]
        return []

    def _state(self, incident: _Open, end: datetime | None) -> CostAnomaly:
        impact = incident.actual - incident.expected
        return CostAnomaly(
            anomaly_id=anomaly_id(self.series, incident.start),
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
            alerted=abs(impact) >= self.settings.min_impact,
        )
