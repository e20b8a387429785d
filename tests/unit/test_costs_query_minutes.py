"""MinuteGrid gives exactly the minute shares `outlay.spread.spread` gives, for any window."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta

import pytest

from outlay.spread import Grain, spread
from services.gateway.minutes import MinuteGrid, TooManyCells

T0 = datetime(2024, 5, 1)


def reference(records: list[tuple[str, int, datetime, datetime]], lo: datetime, hi: datetime) -> dict:
    cells: dict[tuple[datetime, str], int] = defaultdict(int)
    for group, total, start, end in records:
        for minute, share in spread(total, start, end, Grain.MINUTE):
            if lo <= minute < hi:
                cells[(minute, group)] += share
    return dict(cells)


def test_matches_spread_on_random_records() -> None:
    rng = random.Random(7)
    for _ in range(200):
        records = []
        for _ in range(rng.randint(1, 6)):
            start = T0 + timedelta(minutes=rng.randint(0, 300))
            length = rng.choice([1, 7, 60, 61, 1440])
            total = rng.randint(-(10**10), 10**10)
            records.append((rng.choice("ab"), total, start, start + timedelta(minutes=length)))
        lo = T0 + timedelta(minutes=rng.randint(0, 400))
        hi = lo + timedelta(minutes=rng.randint(1, 500))
        grid = MinuteGrid(lo, hi, max_cells=10_000)
        for group, total, start, end in records:
            grid.add(group, total, start, end)
        got = {(minute, group): nanos for minute, group, nanos in grid.cells()}
        assert got == reference(records, lo, hi)


def test_whole_window_sums_to_the_record_and_remainder_goes_first() -> None:
    grid = MinuteGrid(T0, T0 + timedelta(hours=1), max_cells=100)
    grid.add("x", 1_000_000_007, T0, T0 + timedelta(hours=1))
    shares = [nanos for _, _, nanos in grid.cells()]
    assert sum(shares) == 1_000_000_007
    assert shares[:47] == [16_666_667] * 47 and shares[47:] == [16_666_666] * 13


def test_long_record_is_cheap_and_covered_buckets_only() -> None:
    month_end = T0 + timedelta(days=31)
    lo = T0 + timedelta(days=10)
    grid = MinuteGrid(lo, lo + timedelta(minutes=90), max_cells=1000)
    grid.add("m", 44_640_000_000_123, T0, month_end)  # a monthly line item: 44,640 minutes
    grid.add("m", 5, lo + timedelta(minutes=30), lo + timedelta(minutes=31))
    cells = list(grid.cells())
    assert len(cells) == 90  # only buckets inside the window
    assert cells[30][2] == 1_000_000_000 + 5
    # zero-cost coverage still shows up as a row; uncovered minutes do not
    empty = MinuteGrid(T0, T0 + timedelta(minutes=5), max_cells=100)
    empty.add("z", 0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2))
    assert list(empty.cells()) == [(T0 + timedelta(minutes=1), "z", 0)]


def test_cell_budget() -> None:
    grid = MinuteGrid(T0, T0 + timedelta(minutes=10), max_cells=20)
    grid.add("a", 1, T0, T0 + timedelta(minutes=1))
    grid.add("b", 1, T0, T0 + timedelta(minutes=1))
    with pytest.raises(TooManyCells):
        grid.add("c", 1, T0, T0 + timedelta(minutes=1))
    grid.add("a", 1, T0 - timedelta(minutes=5), T0)  # outside the window: ignored, no new group
    assert sum(n for _, _, n in grid.cells()) == 2
