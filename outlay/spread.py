"""Spreading a line item's cost across finer time buckets, exactly.

A line item's integer nano-units are split evenly over its minutes (remainder to the first minutes,
see `money.split_evenly`); an hour or day bucket gets the sum of its minutes' shares. Every grain is
derived from the same minute split, so minute, hour and day totals reconcile exactly with the source.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from enum import StrEnum

MINUTE = timedelta(minutes=1)


class Grain(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


GRAIN_MINUTES = {Grain.MINUTE: 1, Grain.HOUR: 60, Grain.DAY: 1440}
GRAIN_STEP = {grain: timedelta(minutes=minutes) for grain, minutes in GRAIN_MINUTES.items()}


def floor_to(ts: datetime, grain: Grain) -> datetime:
    """The start of the `grain` bucket holding `ts` (its timezone, if any, is kept)."""
    # The constructor, not .replace(): several times faster, and the ledger calls this per record.
    if grain is Grain.MINUTE:
        return datetime(ts.year, ts.month, ts.day, ts.hour, ts.minute, tzinfo=ts.tzinfo)
    if grain is Grain.HOUR:
        return datetime(ts.year, ts.month, ts.day, ts.hour, tzinfo=ts.tzinfo)
    return datetime(ts.year, ts.month, ts.day, tzinfo=ts.tzinfo)


def stored_now() -> datetime:
    """Now, in the store's form and to the second: when a row was made or changed."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def to_naive_utc(ts: datetime) -> datetime:
    """The store's form of an instant: naive UTC (see `outlay.store.models`); naive input is taken as UTC."""
    if ts.tzinfo is not None and ts.tzinfo is not UTC:
        ts = ts.astimezone(UTC)
    return datetime(ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second, ts.microsecond)


def iso_z(ts: datetime) -> str:
    """An instant (naive UTC, as stored, or aware) as ISO 8601 with an explicit Z, as every API answer writes it."""
    aware = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")


def _minutes_between(a: datetime, b: datetime) -> int:
    return int((b - a).total_seconds() // 60)


def spread(total: int, start: datetime, end: datetime, grain: Grain) -> Iterator[tuple[datetime, int]]:
    """Yield (bucket_start, share) for each `grain` bucket that [start, end) overlaps.

    Shares sum exactly to `total`. Runs in O(buckets), not O(minutes).
    """
    n = _minutes_between(start, end)
    if n <= 0:
        raise ValueError("period must be at least one minute long")
    sign = -1 if total < 0 else 1
    base, rem = divmod(abs(total), n)
    step = GRAIN_STEP[grain]
    bucket = floor_to(start, grain)
    offset = 0  # minutes of the period before the current bucket
    while bucket < end:
        lo = max(bucket, start)
        hi = min(bucket + step, end)
        count = _minutes_between(lo, hi)
        # minutes [offset, offset+count) of the period; those with index < rem carry one extra unit
        extra = max(0, min(rem, offset + count) - offset)
        yield bucket, sign * (base * count + extra)
        offset += count
        bucket += step
