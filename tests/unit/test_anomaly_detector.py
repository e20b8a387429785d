"""The per-series online detector on synthetic series with known anomalies."""

from __future__ import annotations

import json
import random

from services.anomaly.detection.detector import DetectorSettings, SeriesDetector
from services.anomaly.detection.likelihood import AnomalyLikelihood


def noisy(n: int, level: float = 10.0, sd: float = 0.5, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    return [level + rng.gauss(0.0, sd) for _ in range(n)]


def alerts(values: list[float], settings: DetectorSettings | None = None) -> list[int]:
    detector = SeriesDetector(settings)
    level = detector.settings.alert_level
    return [i for i, value in enumerate(values) if detector.process(value) >= level]


def test_a_spike_alerts_once_at_the_spike() -> None:
    values = noisy(1200)
    values[900:905] = [40.0] * 5
    found = alerts(values)
    assert [i for i in found if i >= 890] == [900]


def test_a_level_shift_alerts_within_a_few_points() -> None:
    values = noisy(900) + noisy(300, level=16.0, seed=8)
    found = [i for i in alerts(values) if i >= 900]
    assert found and found[0] <= 903


def test_steady_noise_rarely_alerts() -> None:
    # The likelihood is a probability: at its level pure noise may cross it now and then, not often.
    values = noisy(3000, seed=11)
    assert len(alerts(values, DetectorSettings(range_tolerance=None))) <= 3
    # The range rule adds the noise's own new extremes (records beyond 2% of the range), rarer as it fills in.
    found = alerts(values)
    assert len(found) <= 5
    settings = DetectorSettings()
    for i in found:
        low, high = min(values[:i]), max(values[:i])
        margin = settings.range_tolerance * (high - low) if settings.range_tolerance else 0.0
        assert values[i] < low - margin or values[i] > high + margin


def test_nothing_alerts_while_learning() -> None:
    detector = SeriesDetector()
    assert detector.process(1_000_000.0) == 0.0
    values = [0.0] * 50 + [1e9] + [0.0] * 50
    assert alerts(values) == []  # fewer points than `learning_points`: no likelihood and no range rule


def test_one_alert_per_incident_and_the_next_incident_alerts_again() -> None:
    values = noisy(1000)
    values[700:705] = values[800:805] = [60.0] * 5
    found = [i for i in alerts(values) if i >= 690]
    # Silent until the series is back to usual, then ready again. The first spike is a new extreme (alerted
    # at once); the same spike again is in range and less surprising (the likelihood has the first in its
    # history, and each alert scales later tail probabilities by `alert_growth`): it alerts within the spike.
    assert len(found) == 2 and found[0] == 700 and 800 <= found[1] <= 804


def test_a_value_beyond_the_learnt_range_alerts_at_once() -> None:
    values = noisy(600)
    values[500] = max(values[:500]) + 1.0  # 2 sd above the last point, but above anything seen
    assert 500 in alerts(values)
    assert 500 not in alerts(values, DetectorSettings(range_tolerance=None))


def test_a_series_that_often_bursts_alerts_less_often_on_its_bursts() -> None:
    values = noisy(4000, sd=0.1)
    for start in range(400, 4000, 150):
        values[start : start + 2] = [13.0, 13.0]  # the same burst every 150 points: this series' usual life
    every = alerts(values, DetectorSettings(alert_growth=1.0))
    adaptive = alerts(values)
    assert len(adaptive) < len(every)


def test_state_round_trips_through_json_and_older_states_load() -> None:
    original = SeriesDetector()
    for value in noisy(500):
        original.observe(value)
    original.observe(40.0)  # an alert: a tail factor above 1
    state = json.loads(json.dumps(original.state()))
    restored = SeriesDetector.from_state(state)
    assert restored.state() == original.state()
    for value in noisy(100, seed=9):
        assert restored.observe(value) == original.observe(value)
    # A state saved before the range and the tail factor existed: both start afresh.
    old = json.loads(json.dumps(original.state()))
    del old["tail_factor"]
    for key in ("low", "high", "ranged"):
        del old["scorer"][key]
    legacy = SeriesDetector.from_state(old)
    assert legacy.state()["tail_factor"] == 1.0 and legacy.state()["scorer"]["ranged"] == 0
    legacy.observe(1e6)  # no range learnt yet: the range rule waits, nothing fails


def test_likelihood_is_a_probability_that_rises_with_unusual_scores() -> None:
    likelihood = AnomalyLikelihood(long_window=200, short_window=3, learning_points=50)
    rng = random.Random(3)
    usual = [likelihood.update(abs(rng.gauss(0, 1))) for _ in range(300)]
    assert all(0.0 <= v <= 1.0 for v in usual)
    spike = [likelihood.update(8.0) for _ in range(3)]
    assert spike[-1] > 0.99 > max(usual[-50:])


def test_observation_carries_the_expected_value_before_the_point() -> None:
    detector = SeriesDetector()
    assert detector.observe(10.0).expected is None  # nothing seen yet
    for value in noisy(400, level=10.0, sd=0.1):
        detector.observe(value)
    spike = detector.observe(30.0)
    assert spike.expected is not None and abs(spike.expected - 10.0) < 0.2
    assert spike.likelihood >= spike.score >= 0.0


FLAT_RUNS = DetectorSettings(run_tolerance=0.0)
NO_FLAT_RUNS = DetectorSettings(run_tolerance=None)


def bursty_with_zero_runs(runs: list[int], seed: int = 5) -> list[float]:
    """Bursts of noise separated by runs of zeros of the given lengths (a disk-write series)."""
    rng = random.Random(seed)
    values: list[float] = []
    for run in runs:
        values += [abs(rng.gauss(50.0, 20.0)) + 1.0 for _ in range(15)]
        values += [0.0] * run
    return values + [abs(rng.gauss(50.0, 20.0)) + 1.0 for _ in range(15)]


def test_a_flat_run_longer_than_any_before_alerts_once_it_is_longer() -> None:
    values = bursty_with_zero_runs([30, 40, 35, 60, 30, 45, 50, 40, 200])
    start = len(values) - 15 - 200  # where the long run of zeros begins
    found = [i for i in alerts(values, FLAT_RUNS) if i >= start]
    # The longest run before was 60 zeros (59 repeats of the first): the 61st zero, at start + 60, is longer.
    assert found and found[0] == start + 60
    off = alerts(values, NO_FLAT_RUNS)
    assert [i for i in off if start < i < start + 200] == []  # off: the zeros are in range, nothing alerts


def test_runs_no_longer_than_before_and_short_runs_do_not_alert() -> None:
    values = bursty_with_zero_runs([60, 40, 50, 60, 45, 55, 60, 30, 58])
    assert alerts(values, FLAT_RUNS) == alerts(values, NO_FLAT_RUNS)
    constant = noisy(400) + [10.0] * 15 + noisy(100, seed=3)  # a first run, but shorter than `run_minimum`
    assert alerts(constant, FLAT_RUNS) == alerts(constant, NO_FLAT_RUNS)


DAILY = DetectorSettings(daily_slots=24, daily_smooth=24)
HOUR = 3600.0


def daily_shape(days: int, per_hour: int = 4, seed: int = 13) -> tuple[list[float], list[float]]:
    """Timestamps and values with a strong daily cycle (busy days, quiet nights) and a little noise."""
    rng = random.Random(seed)
    times, values = [], []
    for i in range(days * 24 * per_hour):
        t = i * HOUR / per_hour
        hour = (t % 86400.0) / HOUR
        times.append(t)
        values.append((100.0 if 8 <= hour < 20 else 20.0) + rng.gauss(0.0, 3.0))
    return times, values


def test_a_day_lower_than_its_usual_shape_alerts_with_timestamps_only() -> None:
    times, values = daily_shape(14)
    per_day = 96
    quiet_day = range(12 * per_day, 13 * per_day)
    for i in quiet_day:  # a holiday: the busy hours stay at 60, within the series' range and its night-day steps
        if values[i] > 60.0:
            values[i] = 60.0 + (values[i] - 100.0)
    with_time = SeriesDetector(DAILY)
    found = [i for i, (t, v) in enumerate(zip(times, values, strict=True)) if with_time.observe(v, t).alert]
    assert any(i in quiet_day for i in found)
    without = SeriesDetector(DAILY)  # no timestamps: the profile is never consulted
    assert not any(without.observe(v).alert and i in quiet_day for i, v in enumerate(values))


def test_a_usual_daily_cycle_rarely_alerts() -> None:
    times, values = daily_shape(14, seed=17)
    detector = SeriesDetector(DAILY)
    found = [i for i, (t, v) in enumerate(zip(times, values, strict=True)) if detector.observe(v, t).alert]
    assert len(found) <= 3


def test_new_parts_round_trip_through_json_and_states_without_them_load() -> None:
    settings = DetectorSettings(run_tolerance=0.0, daily_slots=24, daily_smooth=24)
    times, values = daily_shape(5)
    original = SeriesDetector(settings)
    for t, v in zip(times, values, strict=True):
        original.observe(v, t)
    state = json.loads(json.dumps(original.state()))
    restored = SeriesDetector.from_state(state, settings)
    assert restored.state() == original.state()
    later, more = daily_shape(1, seed=4)
    for t, v in zip(later, more, strict=True):
        assert restored.observe(v, t + 5 * 86400.0) == original.observe(v, t + 5 * 86400.0)
    # A state saved before flat runs and the daily profile existed loads with both starting afresh.
    old = {k: v for k, v in original.state().items() if k not in ("runs", "daily", "daily_likelihood")}
    legacy = SeriesDetector.from_state(json.loads(json.dumps(old)), settings)
    assert legacy.state()["runs"]["learnt"] == 0 and legacy.state()["daily"]["days"] == [0] * 24
    legacy.observe(1.0, 0.0)
    assert legacy.process(2.0) >= 0.0  # `process(value)` without a timestamp still works


def test_a_planned_change_moves_the_daily_profile_with_it() -> None:
    times, values = daily_shape(7)
    detector = SeriesDetector(DAILY)
    for t, v in zip(times, values, strict=True):
        detector.observe(v, t)
    means = list(detector.state()["daily"]["mean"])
    detector.accept_level(values[-1] + 50.0)
    shifted = detector.state()["daily"]
    assert shifted["residuals"] == []
    moves = [after - before for before, after in zip(means, shifted["mean"], strict=True)]
    assert min(moves) > 10.0 and max(moves) - min(moves) < 1e-9  # every slot moved by the same step


def test_a_tail_scale_makes_a_series_alert_more_or_less_readily() -> None:
    """The same points through three detectors at level 0.999: bumps whose likelihood reaches 0.995 but not 0.999
    alert with a scale of 5 (a tenant at high against a deployment at medium), not with 1 or 0.5."""
    rng = random.Random(4)
    values: list[float] = []
    while len(values) < 4000:
        if len(values) > 1200 and rng.random() < 0.004:
            values += [104 + rng.gauss(0, 1) for _ in range(6)]  # six points four deviations up
        values.append(100 + rng.gauss(0, 1))
    alerts: dict[float, list[float]] = {}
    for scale in (0.5, 1.0, 5.0):
        detector = SeriesDetector(DetectorSettings(alert_level=0.999, range_tolerance=None, run_tolerance=None,
                                                   daily_slots=0, alert_growth=1.0))  # fmt: skip
        seen = [detector.observe(v, tail_scale=scale) for v in values]
        alerts[scale] = [o.likelihood for o in seen if o.alert]
    assert alerts[0.5] == alerts[1.0] == []
    assert alerts[5.0] and all(0.995 <= likelihood < 0.999 for likelihood in alerts[5.0])
