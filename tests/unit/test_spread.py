from datetime import datetime

import pytest

from outlay.money import split_evenly
from outlay.spread import Grain, spread


@pytest.mark.parametrize("total", [0, 1, 59, 60, 61, 1_000_000_007, -12345])
def test_split_evenly_sums_exactly(total: int) -> None:
    shares = split_evenly(total, 60)
    assert sum(shares) == total
    assert max(shares) - min(shares) <= 1


@pytest.mark.parametrize("grain", list(Grain))
def test_spread_reconciles_across_grains(grain: Grain) -> None:
    start, end = datetime(2024, 9, 1, 22, 30), datetime(2024, 9, 3, 1, 15)
    total = 123_456_789_013
    buckets = list(spread(total, start, end, grain))
    assert sum(share for _, share in buckets) == total
    minutes = dict(spread(total, start, end, Grain.MINUTE))
    for bucket, share in buckets:  # every coarser bucket is the sum of its minutes
        width = {Grain.MINUTE: 1, Grain.HOUR: 60, Grain.DAY: 1440}[grain]
        assert share == sum(v for m, v in minutes.items() if bucket <= m and (m - bucket).total_seconds() < width * 60)
