"""The per-series online detector on synthetic series with known anomalies."""

from __future__ import annotations

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
    # The likelihood is a probability: at a 0.99 level pure noise may cross it now and then, not often.
    assert len(alerts(noisy(3000, seed=11))) <= 3


def test_nothing_alerts_while_learning() -> None:
    detector = SeriesDetector()
    assert detector.process(1_000_000.0) == 0.0
    values = [0.0] * 50 + [1e9] + [0.0] * 50
    assert alerts(values) == []  # fewer points than `learning_points`


def test_one_alert_per_incident_and_the_next_incident_alerts_again() -> None:
    values = noisy(1000)
    values[700:705] = values[800:805] = [60.0] * 5
    found = [i for i in alerts(values) if i >= 690]
    assert found == [700, 800]  # silent until the series is back to usual, then ready again


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
