"""Anomalies of unit-cost series (cost per 1,000 requests jumping while traffic is flat, cost per customer creeping
up), found by the anomaly service's own online detector, run over each line's series in time order.

It lives beside the cost worker's detector and severity scale, which it uses as they are: one detector keeps
"anomalous" meaning one thing in Outlay. It is plain Python (no I/O, no Kafka); the gateway calls it on the lines of
a unit-cost answer, and the answer's shape (`RatioAnomaly`) is unit economics' own (`outlay.unit_economics`). The series are short (a day a point), so the settings differ
from the cost worker's `COST_DETECTOR` where measured (200 synthetic daily series, 5% noise, 46 scored days each,
then a step; `tests/unit/test_unit_economics_anomalies.py` keeps the figures honest): the cost worker's settings
with 14 learning points raised 187 false alarms and found a +50% step in 94 of 200 series; scoring each point
alone (`short_window` 1: a day is already an average) against a raw-score history of ~50 points, with the range
rule at half the learnt range, raised 5 false alarms and found the step in 200 of 200 (a -30% drop in 183).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from outlay.events.anomaly import AnomalyDirection
from outlay.unit_economics.figures import Grain, RatioAnomaly
from services.anomaly.detection.detector import DetectorSettings, SeriesDetector
from services.anomaly.detection.incidents import severity

# Points learnt before a ratio series may alert: two weeks of days, two days of hours.
LEARNING_POINTS = {Grain.DAY: 14, Grain.HOUR: 48}
# A likelihood this high opens an anomaly: the anomaly service's medium sensitivity.
ALERT_LEVEL = 0.999


def ratio_detector_settings(grain: Grain) -> DetectorSettings:
    """The cost worker's settings (`COST_DETECTOR`) made for short series (see the module's note)."""
    return DetectorSettings(
        cap=50.0, sd_floor=0.0, range_tolerance=0.5, alert_growth=1.0, run_tolerance=None, daily_slots=0,
        learning_points=LEARNING_POINTS[grain], alert_level=ALERT_LEVEL, short_window=1, long_window=50,
    )  # fmt: skip


def ratio_anomalies(points: Sequence[tuple[datetime, Decimal]], grain: Grain) -> list[RatioAnomaly]:
    """The points of one unit-cost series (time order; periods without a ratio left out) where the detector opens an
    anomaly: one per incident, as the anomaly service alerts once per incident."""
    detector = SeriesDetector(ratio_detector_settings(grain))
    found: list[RatioAnomaly] = []
    for at, value in points:
        seen = detector.observe(float(value), at.timestamp())
        if not seen.alert or seen.expected is None:
            continue
        expected = Decimal(repr(seen.expected))
        impact = value - expected
        direction = AnomalyDirection.SPIKE if impact > 0 else AnomalyDirection.DROP
        found.append(RatioAnomaly(at, value, expected, seen.likelihood, direction, severity(impact, expected)))
    return found
