"""Synthetic daily cost series for bench-forecast's speed run: what a company's series look like (a level per
series, a weekly cycle, month-start charges on some, level shifts, noise, credits), seeded and reproducible.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from services.forecast.models.history import SeriesBatch, Step


def synthetic_costs(series: int, days: int, seed: int = 7) -> SeriesBatch:
    rng = np.random.default_rng(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    t = np.arange(days)
    level = rng.lognormal(3.0, 1.5, (series, 1))
    weekly = 1 + rng.uniform(0, 0.3, (series, 1)) * np.sin(
        2 * np.pi * (t[None, :] + rng.integers(0, 7, (series, 1))) / 7
    )
    shift_at = rng.integers(0, days, series)
    shift = np.where(t[None, :] >= shift_at[:, None], rng.uniform(0.5, 1.5, (series, 1)), 1.0)
    values = level * weekly * shift * (1 + rng.normal(0, 0.05, (series, days)))
    firsts = np.array([(start.toordinal() + d) for d in t])
    month_start = np.array([datetime.fromordinal(int(o)).day == 1 for o in firsts])
    charged = rng.random(series) < 0.3
    values[np.ix_(charged, month_start)] += 5 * level[charged]
    return SeriesBatch([f"series-{i}" for i in range(series)], values, start, Step.DAY)
