"""The step in a scope's hourly cost at a deploy: windows, which series, provisional figures, integer money."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from outlay.deployments.cost_step import cost_step, step_windows

AT = datetime(2026, 11, 20, 12, 30)
NANOS = 1_000_000_000


def level(hours: tuple[datetime, ...], nanos: int) -> dict[datetime, int]:
    return dict.fromkeys(hours, nanos)


def test_windows_leave_out_the_deploy_hour() -> None:
    windows = step_windows(AT, 3)
    assert windows.before == (datetime(2026, 11, 20, 9), datetime(2026, 11, 20, 10), datetime(2026, 11, 20, 11))
    assert windows.after == (datetime(2026, 11, 20, 13), datetime(2026, 11, 20, 14), datetime(2026, 11, 20, 15))
    assert windows.end == datetime(2026, 11, 20, 16)
    with pytest.raises(ValueError, match="window_hours"):
        step_windows(AT, 0)


def test_a_settled_step_on_the_live_estimate() -> None:
    windows = step_windows(AT)
    estimated = {
        **level(windows.before, NANOS),
        datetime(2026, 11, 20, 12): 9 * NANOS,
        **level(windows.after, 3 * NANOS // 2),
    }
    step = cost_step({"estimated": estimated}, windows, now=AT + timedelta(days=2))
    assert step is not None
    assert (step.cost_kind, step.hours_before, step.hours_after, step.settled) == ("estimated", 24, 24, True)
    assert (step.hourly_before, step.hourly_after, step.hourly_change) == (NANOS, 3 * NANOS // 2, NANOS // 2)
    assert step.monthly_change == 365 * NANOS  # half a dollar an hour, 730 hours
    assert step.change_share == pytest.approx(0.5)


def test_the_bill_wins_only_when_it_covers_both_windows() -> None:
    windows = step_windows(AT, 2)
    estimated = {**level(windows.before, NANOS), **level(windows.after, 2 * NANOS)}
    partial_bill = level(windows.before, 5 * NANOS)
    later = AT + timedelta(days=1)
    step = cost_step({"estimated": estimated, "billed": partial_bill}, windows, later)
    assert step is not None and (step.cost_kind, step.hourly_after) == ("estimated", 2 * NANOS)
    full_bill = {**partial_bill, **level(windows.after, 4 * NANOS)}
    step = cost_step({"estimated": estimated, "billed": full_bill}, windows, later)
    assert step is not None and (step.cost_kind, step.hourly_before, step.hourly_after) == (
        "billed",
        5 * NANOS,
        4 * NANOS,
    )
    assert step.change_share == pytest.approx(-0.2)


def test_a_recent_deploy_is_compared_with_the_same_hours_a_day_earlier() -> None:
    windows = step_windows(AT)

    # A daily cycle: $1 an hour at night, $3 in the afternoon (13:00-17:59), before and after the deploy alike.
    def daily(hours: tuple[datetime, ...]) -> dict[datetime, int]:
        return {h: (3 if 13 <= h.hour < 18 else 1) * NANOS for h in hours}

    estimated = {**daily(windows.before), **daily(windows.after)}
    three_hours_on = datetime(2026, 11, 20, 16, 5)  # 13:00, 14:00 and 15:00 have ended
    step = cost_step({"estimated": estimated}, windows, three_hours_on)
    assert step is not None and (step.hours_before, step.hours_after, step.settled) == (3, 3, False)
    # The afternoon against yesterday's afternoon: no step, where the whole day before would have shown +100%.
    assert (step.hourly_before, step.hourly_after, step.hourly_change) == (3 * NANOS, 3 * NANOS, 0)
    assert cost_step({"estimated": estimated}, windows, datetime(2026, 11, 20, 13, 59)) is None  # no hour after yet
    assert windows.first == min(windows.before[0], windows.after[0] - timedelta(days=1))


def test_missing_hours_count_as_no_cost_and_money_stays_integer() -> None:
    windows = step_windows(AT, 3)
    step = cost_step({"estimated": {windows.before[0]: 10, windows.after[2]: 5}}, windows, AT + timedelta(days=1))
    assert step is not None
    assert (step.hourly_before, step.hourly_after) == (3, 1)  # floor of 10/3 and 5/3 nano-units
    assert step.change_share == pytest.approx(-2 / 3)
    nothing = cost_step({}, windows, AT + timedelta(days=1))
    assert nothing is not None and (nothing.hourly_before, nothing.change_share) == (0, None)


def test_a_window_of_days_compares_each_hour_with_its_hour_before_the_deploy() -> None:
    """$1 an hour before, $9 in the deploy's hour, $2 after; a 48-hour window 30 hours on: every hour after is
    compared with the same hour on the day before the deploy, never with the deploy's hour or later ones."""
    windows = step_windows(AT, 48)
    deploy_hour = datetime(2026, 11, 20, 12)
    hourly = {**level(windows.before, NANOS), deploy_hour: 9 * NANOS, **level(windows.after, 2 * NANOS)}
    step = cost_step({"estimated": hourly}, windows, deploy_hour + timedelta(hours=31, minutes=5))
    assert step is not None and (step.hours_after, step.settled) == (30, False)
    assert (step.hourly_before, step.hourly_after) == (NANOS, 2 * NANOS)
    assert step.change_share == pytest.approx(1.0)
    assert windows.day_before_deploy(deploy_hour + timedelta(hours=25)) == deploy_hour - timedelta(hours=23)
