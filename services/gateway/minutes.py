"""Minute-grain costs from usage records, without storing minutes (plain Python, no I/O).

A record's nano-units are split over its minutes exactly as `outlay.spread.spread` does (the first
`remainder` minutes carry one extra unit), so minute answers reconcile with the hour and day rollups.
Instead of walking every minute of every record (a monthly line item has 43,200), each record adds
two constant runs to a per-group difference array over the query window: O(records + groups x buckets).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MINUTE = timedelta(minutes=1)


def _minutes(a: datetime, b: datetime) -> int:
    return int((b - a).total_seconds() // 60)


class TooManyCells(Exception):
    """The grid would exceed its cell budget; the caller turns this into a 422."""


@dataclass
class _Series:
    cost: list[int]  # difference array of nano-units per minute bucket
    cover: list[int]  # difference array of how many records cover each bucket


@dataclass
class MinuteGrid:
    """Per-group minute buckets over [start, end), fed one record at a time."""

    start: datetime
    end: datetime
    max_cells: int
    _series: dict[Hashable, _Series] = field(default_factory=dict)

    @property
    def buckets(self) -> int:
        return _minutes(self.start, self.end)

    def add(self, group: Hashable, total: int, period_start: datetime, period_end: datetime) -> None:
        """Add the in-window minutes of one record whose `total` spans [period_start, period_end)."""
        length = _minutes(period_start, period_end)
        if length <= 0:
            return
        lo = max(period_start, self.start)
        hi = min(period_end, self.end)
        if lo >= hi:
            return
        series = self._series.get(group)
        if series is None:
            if (len(self._series) + 1) * self.buckets > self.max_cells:
                raise TooManyCells
            size = self.buckets + 1
            series = self._series[group] = _Series([0] * size, [0] * size)
        sign = -1 if total < 0 else 1
        base, rem = divmod(abs(total), length)
        first = _minutes(self.start, lo)  # window bucket of the first overlapped minute
        stop = _minutes(self.start, hi)
        offset = _minutes(period_start, lo)  # that minute's index within the record
        extra_stop = first + max(0, min(rem - offset, stop - first))
        series.cost[first] += sign * base
        series.cost[stop] -= sign * base
        series.cost[first] += sign
        series.cost[extra_stop] -= sign
        series.cover[first] += 1
        series.cover[stop] -= 1

    def cells(self) -> Iterator[tuple[datetime, Hashable, int]]:
        """(minute, group, nano-units) for every bucket some record covers, in minute then insertion order."""
        running: dict[Hashable, tuple[int, int]] = {group: (0, 0) for group in self._series}
        for index in range(self.buckets):
            minute = self.start + index * MINUTE
            for group, series in self._series.items():
                cost, cover = running[group]
                cost += series.cost[index]
                cover += series.cover[index]
                running[group] = (cost, cover)
                if cover > 0:
                    yield minute, group, cost
