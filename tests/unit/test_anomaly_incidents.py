"""Incidents from per-point verdicts: open, grow, change severity, close; stable ids; minimum impact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson

from outlay.events import AnomalyDirection, CostAnomaly, Severity
from outlay.events.anomaly import anomaly_id
from services.anomaly.detection.incidents import IncidentSettings, IncidentTracker, severity
from services.anomaly.series.root_cause import NEW_VALUE, CauseBaselines

T0 = datetime(2026, 11, 29, 14, 0, tzinfo=UTC)
SERIES = "billing_account_id=111122223333|service=Amazon Elastic Compute Cloud"


def feed(tracker: IncidentTracker, points: list[tuple[str, str, float]]) -> list[CostAnomaly]:
    out: list[CostAnomaly] = []
    for minute, (actual, expected, likelihood) in enumerate(points):
        at = T0 + timedelta(minutes=minute)
        out += tracker.observe(at, Decimal(actual), Decimal(expected), likelihood, alert=likelihood >= 0.99)
    return out


def test_an_incident_opens_grows_and_closes_under_one_id() -> None:
    tracker = IncidentTracker(SERIES, {"service": "Amazon Elastic Compute Cloud"})
    published = feed(
        tracker,
        [
            ("1.0", "1.0", 0.5),
            ("1.6", "1.0", 0.995),  # opens: impact 0.6 of 1.0 expected -> medium
            ("4.0", "1.0", 0.999),  # grows: 3.6 of 2.0 -> medium still (ratio 1.8): nothing new
            ("4.0", "1.0", 0.999),  # 6.6 of 3.0 -> high: an update
            ("1.0", "1.0", 0.2),
            ("1.0", "1.0", 0.2),
            ("1.0", "1.0", 0.2),  # third calm point: closed
        ],
    )
    assert [(p.severity, p.end is None) for p in published] == [
        (Severity.MEDIUM, True),
        (Severity.HIGH, True),
        (Severity.HIGH, False),
    ]
    assert {p.anomaly_id for p in published} == {anomaly_id(SERIES, T0 + timedelta(minutes=1))}
    closed = published[-1]
    assert closed.direction is AnomalyDirection.SPIKE
    assert (closed.actual_cost, closed.expected_cost, closed.impact) == (Decimal("9.6"), Decimal("3.0"), Decimal("6.6"))
    assert closed.end == T0 + timedelta(minutes=3) and closed.score == 0.999
    assert tracker.current is None


def test_a_short_dip_below_the_close_level_does_not_end_the_incident() -> None:
    tracker = IncidentTracker(SERIES)
    feed(tracker, [("5", "1", 0.995), ("1", "1", 0.5), ("5", "1", 0.995), ("1", "1", 0.5), ("1", "1", 0.5)])
    current = tracker.current
    assert current is not None and current.end is None and current.actual_cost == Decimal(10)


def test_a_drop_is_a_drop() -> None:
    tracker = IncidentTracker(SERIES)
    (opened,) = feed(tracker, [("0.1", "2.0", 0.999)])
    assert opened.direction is AnomalyDirection.DROP and opened.impact == Decimal("-1.9")


def test_under_the_minimum_impact_an_anomaly_is_recorded_not_alerted() -> None:
    tracker = IncidentTracker(SERIES, settings=IncidentSettings(min_impact=Decimal("5")))
    published = feed(tracker, [("2", "1", 0.999), ("9", "1", 0.999)])
    assert [p.alerted for p in published] == [False, True]  # alerting once the impact reaches $5


def test_under_the_minimum_share_of_expected_cost_an_anomaly_is_recorded_not_alerted() -> None:
    # The minimum share alone (no minimum change of the cause, tested below).
    tracker = IncidentTracker(SERIES, settings=IncidentSettings(min_impact_ratio=Decimal("0.05"), min_change_ratio=0))
    # 104 vs 100 expected is 4%: recorded; the next point brings the incident to 12 / 200 = 6%: alerted.
    published = feed(tracker, [("104", "100", 0.999), ("108", "100", 0.999)])
    assert [p.alerted for p in published] == [False, True]


def test_replaying_the_points_gives_the_same_incidents() -> None:
    points = [("1", "1", 0.1), ("3", "1", 0.999), ("1", "1", 0.1), ("1", "1", 0.1), ("1", "1", 0.1)]
    assert feed(IncidentTracker(SERIES), points) == feed(IncidentTracker(SERIES), points)


def test_severity_bands() -> None:
    assert severity(Decimal("0.1"), Decimal("1")) is Severity.LOW
    assert severity(Decimal("-0.6"), Decimal("1")) is Severity.MEDIUM
    assert severity(Decimal("5"), Decimal("1")) is Severity.CRITICAL
    assert severity(Decimal("1"), Decimal("0")) is Severity.CRITICAL  # anything from nothing


def test_a_small_change_of_the_series_and_its_cause_is_recorded_not_alerted() -> None:
    """A deploy-sized step (10% of the series, its cause moved 20% of its own spend) is not alerted; a cause
    that moved by 25% or more is, even when the series as a whole moved by 10% only."""
    settings = IncidentSettings(min_change_ratio=0.25)
    step = IncidentTracker(SERIES, settings=settings)
    (opened,) = step.observe(
        T0, Decimal("110"), Decimal("100"), 0.999, alert=True, root_cause=["r=a"], cause_change=0.2
    )
    assert not opened.alerted and opened.root_cause == ["r=a"]
    tripled = IncidentTracker(SERIES, settings=settings)
    (opened,) = tripled.observe(
        T0, Decimal("110"), Decimal("100"), 0.999, alert=True, root_cause=["r=b"], cause_change=2.0
    )
    assert opened.alerted
    # No narrower cause: the series' own change decides (30% of the expected cost).
    alone = IncidentTracker(SERIES, settings=settings)
    (opened,) = alone.observe(T0, Decimal("130"), Decimal("100"), 0.999, alert=True)
    assert opened.alerted


def test_an_incident_at_the_time_of_the_week_of_an_earlier_one_is_recorded_not_alerted() -> None:
    tracker = IncidentTracker(SERIES)
    week = timedelta(weeks=1)

    def incident(at: datetime, actual: str = "140") -> CostAnomaly:
        (opened,) = tracker.observe(at, Decimal(actual), Decimal("100"), 0.999, alert=True)
        for minute in range(1, 4):  # three calm points close it
            tracker.observe(at + timedelta(minutes=minute), Decimal("100"), Decimal("100"), 0.1, alert=False)
        return opened

    assert incident(T0).alerted  # the first: news
    assert not incident(T0 + week + timedelta(minutes=7)).alerted  # the same time of the week (within 10 min)
    assert not incident(T0 + 3 * week).alerted  # two weeks after the last one: still the weekly habit
    assert incident(T0 + 3 * week + timedelta(hours=5)).alerted  # another time of the week: news
    assert incident(T0 + 6 * week).alerted  # three weeks after the last at that time: forgotten, news again
    assert incident(T0 + 7 * week + timedelta(minutes=5), actual="1000").alerted  # a runaway is news at any time
    # The memory travels with the state (a restarted worker keeps it).
    restored = IncidentTracker(SERIES)
    restored.restore_history(tracker.history_state())
    (opened,) = restored.observe(T0 + 8 * week, Decimal("140"), Decimal("100"), 0.999, alert=True)
    assert not opened.alerted


def test_an_open_incident_of_a_new_value_survives_the_tables_json() -> None:
    """The faust table's codec (orjson) writes an infinity as null: a cause that usually spent nothing moved by
    NEW_VALUE (finite), and a state saved with null still loads as 'moved without bound' and keeps working."""
    causes = CauseBaselines()
    causes.deviation = {"resource_id=i-new": 200.0}  # it moved, and it usually spends nothing (no `usual`)
    moved = causes.change(["resource_id=i-new"])
    assert moved == NEW_VALUE
    tracker = IncidentTracker(SERIES)
    tracker.observe(T0, Decimal("300"), Decimal("100"), 0.999, alert=True, root_cause=["resource_id=i-new"],
                    cause_change=moved)  # fmt: skip
    saved = orjson.loads(orjson.dumps(tracker.state()))
    assert saved["cause_change"] == NEW_VALUE
    for stored in (saved, {**saved, "cause_change": None}):
        restored = IncidentTracker(SERIES)
        restored.restore(stored)
        current = restored.current
        assert current is not None and current.alerted  # the state reads, and the incident is still alerted
        closing = feed(restored, [("100", "100", 0.1)] * 3)
        assert closing and closing[-1].end is not None  # and it closes as any incident does
