"""A seasonal profile of one series: how its spend usually moves with the hour of the week.

Multiplicative factors per hour of the week (168 slots), relative to the series' slow level (an exponentially
weighted mean over about a day of its own points, so the profile follows the series as its spend changes
level). The detector sees `value / factor`: the daily cycle and the weekend's drop are expected, not anomalous.

- A slot's factor starts as the running mean of the ratios it has seen over one occurrence (an hour of
  minute points, one hourly point, a day's point), then moves with weight 1 / (3 x points per occurrence),
  so each week's occurrence counts for about a third. It is used only once that first occurrence is
  complete: a half-learnt slot would follow the series itself, and hide whatever is happening now.
- Until a slot of the week is complete, the hour of the day stands in (24 slots learnt the same way), and
  before that the factor is 1.
- The first day of points only sets the level: a shape measured against a level not yet known is wrong,
  and would take weeks to unlearn.
- Every point is learnt, anomalous or not: skipping incidents would also skip the first weekend (an
  incident itself), so the weekend would never become usual. One week's anomaly weighs a third in a slot.

Daily series have one slot per day of the week. Everything is plain floats (JSON state for the worker's table).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK_OCCURRENCES_WEIGHT = 3.0  # a slot's factor moves by 1/3 of a new week's ratio
MIN_FACTOR = 1e-9  # the least a moment's spend is usually, relative to the level (spend is divided by it)


@dataclass
class _Slots:
    factors: list[float]
    counts: list[int]

    @classmethod
    def empty(cls, size: int) -> _Slots:
        return cls([1.0] * size, [0] * size)

    def learn(self, slot: int, ratio: float, per_occurrence: int) -> None:
        count = self.counts[slot]
        weight = 1.0 / (count + 1) if count < per_occurrence else 1.0 / (WEEK_OCCURRENCES_WEIGHT * per_occurrence)
        self.factors[slot] += weight * (ratio - self.factors[slot])
        self.counts[slot] = count + 1


@dataclass
class SeasonalProfile:
    step: timedelta
    level: float | None = None
    seen: int = 0
    week: _Slots = field(default_factory=lambda: _Slots.empty(168))
    day: _Slots = field(default_factory=lambda: _Slots.empty(24))

    def __post_init__(self) -> None:
        # Fixed by the step; worked out once (they are read for every point, twice per factor).
        self._daily_points = max(1, int(DAY / self.step))
        # Points of one occurrence of a slot: an hour's worth (sub-daily series) or one (daily).
        self._per_occurrence = max(1, int(HOUR / self.step)) if self.step < DAY else 1
        self._half_step_minutes = self.step.total_seconds() / 120

    def _slots(self, at: datetime) -> tuple[int, int]:
        if self.step >= DAY:
            return at.weekday() * 24, 0  # daily: one slot per weekday (its first hour), no daily cycle
        return at.weekday() * 24 + at.hour, at.hour

    def factor(self, at: datetime) -> float:
        """What this moment's spend usually is, relative to the series' level (1 when not known yet).

        Sub-daily series interpolate between the two nearest hour slots (a slot's factor is its hour's
        mean, so it belongs to the middle of the hour): a step at every full hour would itself look like
        a level shift to the detector. A real step (a weekend starting at midnight) is smoothed
        over the hour around it; treating large differences as steps was tried and cost precision on the
        labelled benchmark (hour-boundary alerts on series with a wide daily swing).

        Never below MIN_FACTOR: a slot learnt from nothing but zero minutes (a resource stopped for that hour) has
        a factor of 0, and spend is divided by the factor (a worker divided by zero there and stopped).
        """
        if self.step >= DAY:
            slot = at.weekday() * 24
            return max(self.week.factors[slot], MIN_FACTOR) if self.week.counts[slot] >= 1 else 1.0
        position = at.hour + (at.minute + self._half_step_minutes) / 60 - 0.5  # hours since this slot's middle
        base = int(position // 1)
        weight = position - base
        weekday = at.weekday()
        lower = self._hour_factor(weekday, base)
        upper = self._hour_factor(weekday, base + 1)
        return max(lower + weight * (upper - lower), MIN_FACTOR)

    def _hour_factor(self, weekday: int, hour: int) -> float:
        """The factor of an hour slot (hour may be -1 or 24: the neighbouring day's), with fallbacks."""
        week_slot = (weekday * 24 + hour) % 168
        complete = self._per_occurrence
        if self.week.counts[week_slot] >= complete:
            return self.week.factors[week_slot]
        if self.day.counts[hour % 24] >= complete:
            return self.day.factors[hour % 24]
        return 1.0

    def learn(self, at: datetime, value: float, factor: float | None = None) -> None:
        """Learn the point at `at`; `factor` is `self.factor(at)` when the caller has it already."""
        if self.level is None:
            self.level = value
        else:
            alpha = 1.0 / self._daily_points
            usual = self.factor(at) if factor is None else factor
            self.level += alpha * (value / usual - self.level)
        self.seen += 1
        if self.level <= 0.0 or self.seen <= self._daily_points:
            return  # no level yet (the first day sets it): nothing to compare the shape with
        ratio = value / self.level
        week_slot, hour = self._slots(at)
        self.week.learn(week_slot, ratio, self._per_occurrence)
        if self.step < DAY:
            self.day.learn(hour, ratio, self._per_occurrence)

    def state(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "seen": self.seen,
            "week": {"factors": self.week.factors, "counts": self.week.counts},
            "day": {"factors": self.day.factors, "counts": self.day.counts},
        }

    @classmethod
    def from_state(cls, step: timedelta, state: dict[str, Any]) -> SeasonalProfile:
        return cls(
            step=step,
            level=state["level"],
            seen=state["seen"],
            week=_Slots(list(state["week"]["factors"]), list(state["week"]["counts"])),
            day=_Slots(list(state["day"]["factors"]), list(state["day"]["counts"])),
        )
