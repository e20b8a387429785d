"""Utilization percentiles of many instances at once: one sort per batch, not one call per instance.

Samples are (instances, samples) float32 with NaN where a sample is missing (a gap in CloudWatch, an instance
stopped). Percentiles use linear interpolation between the closest ranks (numpy's default), over each row's
present samples only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]
Column = npt.NDArray[np.float64]
LEVELS = (50.0, 95.0, 99.0, 100.0)
CHUNK = 2000  # rows sorted together: bounds the sort's working memory


@dataclass(frozen=True)
class Percentiles:
    p50: Column
    p95: Column
    p99: Column
    max: Column
    samples: npt.NDArray[np.int64]  # present samples per instance

    def at(self, level: float) -> Column:
        return {50.0: self.p50, 95.0: self.p95, 99.0: self.p99, 100.0: self.max}[level]


def percentiles(samples: Samples, extra: float | None = None) -> tuple[Percentiles, Column | None]:
    """p50, p95, p99 and max of each row (NaN for a row without samples), and the `extra` percentile if asked."""
    n = samples.shape[0]
    levels = [*LEVELS, *([extra] if extra is not None else [])]
    out = np.full((len(levels), n), np.nan)
    counts = np.zeros(n, dtype=np.int64)
    for begin in range(0, n, CHUNK):
        block = np.sort(samples[begin : begin + CHUNK], axis=1)  # NaN sort last
        present = np.sum(~np.isnan(block), axis=1)
        counts[begin : begin + len(block)] = present
        rows = np.arange(len(block))
        usable = present > 0
        for i, level in enumerate(levels):
            position = (present - 1).clip(min=0) * (level / 100.0)
            low = np.floor(position).astype(np.int64)
            high = np.minimum(low + 1, (present - 1).clip(min=0))
            weight = position - low
            value = block[rows, low] * (1 - weight) + block[rows, high] * weight
            out[i, begin : begin + len(block)] = np.where(usable, value, np.nan)
    found = Percentiles(out[0], out[1], out[2], out[3], counts)
    return found, (out[4] if extra is not None else None)
