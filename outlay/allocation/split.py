"""Exact integer splits of shared cost: the parts always sum to the whole, the remainder placed deterministically."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

WEIGHT_SCALE = 10**6  # rule weights carry at most six decimals (see `SharedRule.weights`), so scaled they are exact


def split_by_weights(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split `total` nano-units across `weights` (positive integers) by largest remainder.

    Each value first gets the floor of its exact share; the nano-units left (fewer than the number of values) go one
    each to the largest fractional remainders, ties to the value that sorts first, so the same input always gives
    the same split and the parts sum exactly to `total`. A negative total (a credit) splits like its absolute value.
    """
    if not weights:
        raise ValueError("nothing to split across")
    if any(w <= 0 for w in weights.values()):
        raise ValueError("weights must be positive")
    whole = sum(weights.values())
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    parts: dict[str, int] = {}
    remainders: list[tuple[int, str]] = []
    for name in sorted(weights):
        share, remainder = divmod(magnitude * weights[name], whole)
        parts[name] = share
        remainders.append((remainder, name))
    left = magnitude - sum(parts.values())
    # Largest remainder first; among equal remainders the name that sorts first (sorted() is stable).
    for _, name in sorted(remainders, key=lambda item: -item[0])[:left]:
        parts[name] += 1
    return {name: sign * share for name, share in parts.items()}


def split_evenly_among(total: int, values: list[str]) -> dict[str, int]:
    return split_by_weights(total, dict.fromkeys(values, 1))


def scaled_weights(weights: Mapping[str, Decimal]) -> dict[str, int]:
    """Decimal rule weights as exact integers (they carry at most six decimals)."""
    return {name: int(weight * WEIGHT_SCALE) for name, weight in weights.items()}
