"""Savings Plans and Reserved Instances: the commitment that maximises net savings over an hourly usage profile.

A commitment of c $/hour at discount d covers k = c / (1 - d) of on-demand-priced usage each hour. Over hours with
on-demand usage u_t, the net saving against paying on demand is

    S(k) = sum_t min(u_t, k) - T (1 - d) k,

concave and piecewise linear in k with its kinks at the observed u_t: its maximum is at one of them (where the
share of hours with usage above k falls to 1 - d), so sorting the profile once and evaluating S at every
observed value gives the exact optimum. The same holds for a count of Reserved Instances over hourly instance
counts (each kink an integer), without a decline setting: scaling the counts makes the kinks fractional, so round
a cautious RI count down.

`decline` is the risk setting for future decline: the profile is scaled by (1 - decline) before optimising, so
the commitment still pays if usage falls that much.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Profile = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Commitment:
    hourly_commitment: float  # $/hour committed (Savings Plan) or instances reserved (RI: covered * 1)
    covered: float  # on-demand-priced usage covered per hour, k
    net_saving: float  # over the profile, against all on demand (on the unscaled profile)
    coverage: float  # share of on-demand-priced usage the commitment covers
    utilisation: float  # share of the commitment used


def net_saving(usage: Profile, covered: float, discount: float) -> float:
    return float(np.minimum(usage, covered).sum() - len(usage) * (1 - discount) * covered)


def optimal_commitment(usage: Profile, discount: float, decline: float = 0.0) -> Commitment:
    """The exact optimum for `usage` (on-demand $ per hour, or instance counts) at `discount` (0-1)."""
    if not 0 < discount < 1:
        raise ValueError(f"discount: must be between 0 and 1 exclusive, got {discount}")
    if not 0 <= decline < 1:
        raise ValueError(f"decline: must be in [0, 1), got {decline}")
    if usage.ndim != 1 or len(usage) == 0 or not np.all(np.isfinite(usage)) or np.any(usage < 0):
        raise ValueError("usage: needs at least one hour of finite, non-negative values")
    planned = np.sort(usage * (1 - decline))
    hours = len(planned)
    # S at k = planned[j]: the j smaller values in full, k for each of the (hours - j) others, minus the cost.
    below = np.concatenate([[0.0], np.cumsum(planned)[:-1]])
    at_kinks = below + (hours - np.arange(hours)) * planned - hours * (1 - discount) * planned
    best = int(np.argmax(at_kinks))
    covered = float(planned[best]) if at_kinks[best] > 0 else 0.0
    return describe(usage, covered, discount)


def describe(usage: Profile, covered: float, discount: float) -> Commitment:
    used = float(np.minimum(usage, covered).sum())
    total = float(usage.sum())
    return Commitment(
        hourly_commitment=covered * (1 - discount),
        covered=covered,
        net_saving=net_saving(usage, covered, discount),
        coverage=used / total if total > 0 else 0.0,
        utilisation=used / (covered * len(usage)) if covered > 0 else 0.0,
    )


def brute_force_commitment(usage: Profile, discount: float, steps: int = 20_000) -> Commitment:
    """The best of `steps` evenly spaced commitments from 0 to the peak: the reference the bench checks against."""
    grid = np.linspace(0.0, float(usage.max()), steps)
    savings = np.array([net_saving(usage, k, discount) for k in grid])
    return describe(usage, float(grid[int(np.argmax(savings))]), discount)
