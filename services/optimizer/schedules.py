"""Off-hours schedules for dev and test: when an instance's load follows working hours, stop it outside them.

From the lookback's hourly CPU (in the instance's own time zone, from its `outlay:timezone` tag, else UTC), each
hour of the week gets its mean load. An hour is busy when its mean is over the instance's quiet level (the 20th
percentile of the hourly means) by more than BUSY_MARGIN points. The schedule runs, on each day of the week that
has busy hours, from an hour before the first busy hour to an hour after the last, and stops the instance
otherwise; days without busy hours stay off. Only instances tagged as non-production (`env` in NON_PROD) are
scheduled, and only when the pattern repeats: at least MIN_WEEKS of history and a stopped share worth it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from outlay.pricing.catalogue import PriceCatalogue, UnknownPrice
from services.optimizer.recommendations import Kind, Recommendation, Risk, Skipped, monthly

NON_PROD = frozenset({"dev", "development", "test", "testing", "qa", "staging", "sandbox"})
ENV_TAG = "env"
TIMEZONE_TAG = "outlay:timezone"
BUSY_MARGIN = 5.0  # CPU points over the quiet level
QUIET_CEILING = 10.0  # a quiet level above this CPU% is work, not idling: no schedule
MIN_WEEKS = 2
MIN_OFF_SHARE = 0.25  # a schedule that stops the instance less than a quarter of the week is not worth its risk
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class ScheduledInstance:
    resource_id: str
    instance_type: str
    region: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Schedule:
    timezone: str
    on_hours: dict[str, tuple[int, int]]  # day -> (start hour, end hour exclusive), local time; absent: off all day

    def running_hours_per_week(self) -> int:
        return sum(end - start for start, end in self.on_hours.values())

    def describe(self) -> str:
        if not self.on_hours:
            return "off all week"
        parts = [f"{day} {start:02d}:00-{end:02d}:00" for day, (start, end) in self.on_hours.items()]
        return f"run {', '.join(parts)} ({self.timezone}); stopped otherwise"


def weekly_profile(hourly_cpu: npt.NDArray[np.float64], first_hour: datetime, timezone: ZoneInfo) -> np.ndarray:
    """(7, 24) mean CPU per local weekday and hour; NaN where the lookback has no sample for that hour."""
    sums = np.zeros((7, 24))
    counts = np.zeros((7, 24))
    for i, value in enumerate(hourly_cpu):
        if np.isnan(value):
            continue
        local = (first_hour + timedelta(hours=i)).astimezone(timezone)
        sums[local.weekday(), local.hour] += value
        counts[local.weekday(), local.hour] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def propose_schedule(profile: np.ndarray, timezone: str) -> Schedule:
    quiet = float(np.nanpercentile(profile, 20))
    busy = profile > quiet + BUSY_MARGIN
    on: dict[str, tuple[int, int]] = {}
    for day in range(7):
        hours = np.flatnonzero(busy[day])
        if len(hours):
            on[DAYS[day]] = (max(0, int(hours[0]) - 1), min(24, int(hours[-1]) + 2))
    return Schedule(timezone, on)


def off_hours(
    instances: list[ScheduledInstance],
    hourly_cpu: npt.NDArray[np.float64],
    first_hour: datetime,
    catalogue: PriceCatalogue,
    env_tag: str = ENV_TAG,
) -> tuple[list[Recommendation], list[Skipped]]:
    """`hourly_cpu` rows follow `instances`: mean CPU% per hour from `first_hour` (UTC), NaN where missing."""
    found: list[Recommendation] = []
    skipped: list[Skipped] = []
    observed_weeks = hourly_cpu.shape[1] / 168
    for row, instance in enumerate(instances):
        if instance.tags.get(env_tag, "").lower() not in NON_PROD:
            continue  # production (or unknown) is never scheduled
        if observed_weeks < MIN_WEEKS:
            skipped.append(Skipped(instance.resource_id, f"{observed_weeks:.1f} weeks of history; needs {MIN_WEEKS}"))
            continue
        zone_name = instance.tags.get(TIMEZONE_TAG, "UTC")
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            skipped.append(Skipped(instance.resource_id, f"unknown time zone {zone_name!r} in tag {TIMEZONE_TAG}"))
            continue
        profile = weekly_profile(hourly_cpu[row], first_hour, zone)
        if np.isnan(profile).mean() > 0.1:
            skipped.append(Skipped(instance.resource_id, "more than a tenth of the week's hours were never observed"))
            continue
        quiet = float(np.nanpercentile(profile, 20))
        if quiet > QUIET_CEILING:
            continue  # it works around the clock: nothing to switch off
        schedule = propose_schedule(profile, zone_name)
        if not schedule.on_hours:
            continue  # no working-hours pattern at all: idle-instance finding's business, not a schedule
        off_share = 1 - schedule.running_hours_per_week() / 168
        if off_share < MIN_OFF_SHARE:
            continue
        try:
            hourly = catalogue.ec2_hourly(instance.instance_type, instance.region)
        except UnknownPrice as exc:
            skipped.append(Skipped(instance.resource_id, str(exc)))
            continue
        saving = monthly(hourly * Decimal(repr(off_share)))
        found.append(
            Recommendation(
                kind=Kind.SCHEDULE_INSTANCE,
                resource_id=instance.resource_id,
                region=instance.region,
                summary=f"schedule: {schedule.describe()}",
                monthly_saving=saving,
                confidence=round(min(1.0, observed_weeks / 4), 2),
                risk=Risk.LOW if instance.tags.get(env_tag, "").lower() in ("dev", "sandbox") else Risk.MEDIUM,
                current="always on",
                proposed=schedule.describe(),
                evidence={"off_share": round(off_share, 4), "weeks": round(observed_weeks, 2)},
            )
        )
    return found, skipped
