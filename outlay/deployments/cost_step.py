"""The cost of a deployment: the step in a scope's hourly cost where a deploy happened. Plain Python, no I/O.

A deploy that adds instances, resizes a database or turns on a feature flag shows as a level change in the cost of
what it deployed. The step is measured on whole hours: the mean hourly cost of the `window` hours after the deploy's
hour against the `window` hours before it. The deploy's own hour is left out (it is half old, half new). Until the
window after has elapsed the figure is provisional (`settled` is false): the hours after that have passed are compared
with the same hours a day earlier, so a deploy in the morning is not credited with the afternoon's daily peak.

Hourly series from the ledger hold one cost kind each: a live estimate for recent hours, the bill once it lands. The
step is measured on the bill when the bill covers every hour of both windows, else on the live estimate, so the two
are never added together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from outlay.spread import Grain, floor_to

HOURS_IN_MONTH = 730  # AWS's pricing convention (365 x 24 / 12), as the IaC estimates and price rules use
DEFAULT_WINDOW_HOURS = 24
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class CostStep:
    """The level change at a deploy, in nano-units (integers: no float drift)."""

    cost_kind: str  # billed | estimated: the series it was measured on
    hours_before: int
    hours_after: int
    hourly_before: int  # mean hourly cost in the window before
    hourly_after: int  # mean hourly cost in the window after
    settled: bool  # every hour of the window after has passed and has cost data

    @property
    def hourly_change(self) -> int:
        return self.hourly_after - self.hourly_before

    @property
    def monthly_change(self) -> int:
        """The change in a month of running at the new level."""
        return self.hourly_change * HOURS_IN_MONTH

    @property
    def change_share(self) -> float | None:
        """The change as a share of the level before (None when there was no cost before)."""
        return None if self.hourly_before == 0 else self.hourly_change / self.hourly_before


@dataclass(frozen=True)
class StepWindows:
    """The hours a deploy at `at` is measured on (naive or aware alike, as long as the series' hours match)."""

    before: tuple[datetime, ...]
    after: tuple[datetime, ...]

    @property
    def first(self) -> datetime:
        """The first hour a step may compare with (the window before, or a day before the first hour after)."""
        return min(self.before[0], self.after[0] - DAY)

    def day_before_deploy(self, hour: datetime) -> datetime:
        """The same hour of the day on the last day before the deploy's hour (a window may be days long)."""
        deploy_hour = self.after[0] - HOUR
        days = (hour - deploy_hour) // DAY + 1  # enough whole days to land before the deploy's hour, never on it
        return hour - days * DAY

    @property
    def end(self) -> datetime:
        """Just past the last hour after."""
        return self.after[-1] + HOUR


def step_windows(at: datetime, window_hours: int = DEFAULT_WINDOW_HOURS) -> StepWindows:
    if window_hours < 1:
        raise ValueError("window_hours: at least 1")
    deploy_hour = floor_to(at, Grain.HOUR)
    before = tuple(deploy_hour - HOUR * n for n in range(window_hours, 0, -1))
    after = tuple(deploy_hour + HOUR * n for n in range(1, window_hours + 1))
    return StepWindows(before, after)


def _mean(values: list[int]) -> int:
    return sum(values) // len(values) if values else 0  # floor: integer nano-units, the same on every run


def cost_step(hourly: Mapping[str, Mapping[datetime, int]], windows: StepWindows, now: datetime) -> CostStep | None:
    """The step measured on `hourly` (cost kind -> hour -> nano-units; a missing hour had no cost), or None while no
    whole hour after the deploy's has passed (nothing to compare yet).

    `now` decides which hours have passed: an hour counts once it has ended."""
    passed_after = [h for h in windows.after if h + HOUR <= now]
    if not passed_after:
        return None
    settled = len(passed_after) == len(windows.after)
    compared = list(windows.before) if settled else [windows.day_before_deploy(h) for h in passed_after]
    billed = hourly.get("billed", {})
    covered = all(h in billed for h in (*compared, *passed_after))
    kind = "billed" if covered else "estimated"
    series = billed if covered else hourly.get("estimated", {})
    if not covered and not series:  # bills only, not yet covering the hours compared: the best there is
        kind, series = "billed", billed
    before = [series.get(h, 0) for h in compared]
    after = [series.get(h, 0) for h in passed_after]
    return CostStep(
        cost_kind=kind,
        hours_before=len(before),
        hours_after=len(after),
        hourly_before=_mean(before),
        hourly_after=_mean(after),
        settled=settled,
    )
