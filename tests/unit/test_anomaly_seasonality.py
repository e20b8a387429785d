"""The weekly profile: a series' usual shape by hour of the week, so a weekend is expected, not alerted."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from services.anomaly.detection.seasonality import SeasonalProfile

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def weekly(at: datetime) -> float:
    """A cost per minute with a daily swing and weekends at 60%, stepping at midnight."""
    daily = 1.0 + 0.3 * math.cos(2 * math.pi * (at.hour + at.minute / 60 - 14) / 24)
    return 10.0 * daily * (0.6 if at.weekday() >= 5 else 1.0)


def test_the_profile_learns_the_weekend_and_moves_smoothly_through_the_hour() -> None:
    profile = SeasonalProfile(MINUTE)
    saturday_3am = MONDAY + timedelta(days=5, hours=3, minutes=30)
    assert profile.factor(saturday_3am) == 1.0  # nothing known yet
    for minute in range(14 * 24 * 60):
        at = MONDAY + minute * MINUTE
        profile.learn(at, weekly(at))
    wednesday_3am = MONDAY + timedelta(days=2, hours=3, minutes=30)
    assert 0.5 < profile.factor(saturday_3am) / profile.factor(wednesday_3am) < 0.7
    # From one minute to the next the factor moves by a fraction of the hourly change, never in a step.
    factors = [profile.factor(wednesday_3am + m * MINUTE) for m in range(121)]
    assert max(abs(b - a) for a, b in zip(factors, factors[1:], strict=False)) < 0.01
    assert SeasonalProfile.from_state(MINUTE, profile.state()).factor(saturday_3am) == profile.factor(saturday_3am)


def test_hours_learnt_as_nothing_but_zeros_still_give_a_factor_spend_can_be_divided_by() -> None:
    # A resource stopped from 02:00 to 06:00 on its second day (its first day set the level): those hours' slots
    # learn a ratio of 0, and a worker once divided the next such minute's spend by it (and stopped).
    profile = SeasonalProfile(step=timedelta(minutes=1))
    start = datetime(2026, 3, 2, tzinfo=UTC)
    for minute in range(2 * 1440):
        at = start + timedelta(minutes=minute)
        profile.learn(at, 0.0 if minute >= 1440 and 2 <= at.hour < 6 else 1.0)
    third_day = start + timedelta(days=2)
    assert 0 < profile.factor(third_day + timedelta(hours=4)) < 0.01
    assert profile.factor(third_day + timedelta(hours=12)) > 0.5
    assert math.isfinite(5.0 / profile.factor(third_day + timedelta(hours=4)))
