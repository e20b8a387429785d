"""Prediction intervals from the model's own rolling-origin errors (split-conformal style), not from its
assumed error distribution: cost series have level shifts and heavy tails that a normal model understates.

Each series' errors from its last origins are scaled to one period ahead (an error h periods out divided by
h**GROWTH) and pooled; the interval at step h is the pooled quantile scaled back. The cumulative errors of
running totals (the next 30 days, the rest of the month) are pooled the same way with TOTAL_GROWTH, since a
level error repeats in every period of the total.

A series with too few errors to rank (a short history) gets a wide interval from its day-to-day changes and
its level instead, and is flagged: an honest "we do not know much yet", where AWS refuses to forecast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from services.forecast.models.history import Values, quiet_nanmean, quiet_nanstd

LEVELS = (0.8, 0.95)
GROWTH = 0.5  # without enough errors to measure it: step errors grow like a random walk's, with sqrt(h)
TOTAL_GROWTH = 1.0  # and a running total's with h (a level error repeats in every period)
# Measured growth is kept within [floor, floor + 0.5] (a random walk's running total grows with h**1.5): the backtest sees errors up to four weeks out, from a few correlated
# origins, and underestimates how errors grow beyond them (a random walk's 80% interval covered 66% at 30 days
# with no floor); cost levels shift, so no series is assumed to stay put further out than a random walk.
GROWTH_FLOOR = 0.5
TOTAL_GROWTH_FLOOR = 1.0
MIN_PER_STEP = 5  # errors a step needs to count in the growth fit
MIN_ERRORS = 12  # fewer scaled errors than this: the series' history is too short to rank them
SHORT_WIDEN = 2.0  # how much wider than a normal interval of the same spread a short history's is
SHORT_LEVEL_SHARE = 0.1  # and at least this share of the level per period
FLOOR_SHARE = 0.01  # any series' 80% interval: at least ±1% of its recent level one period out
_NORMAL = {0.8: 1.2816, 0.95: 1.96}


@dataclass(frozen=True)
class Widths:
    """Half-widths for one coverage level: per step, and for the running total through each step."""

    step: Values  # (series, horizon)
    total: Values  # (series, horizon)


def interval_widths(errors: Values, recent: Values) -> tuple[dict[float, Widths], np.ndarray]:
    """`errors` (origins, series, horizon) of the chosen model; `recent` (series, periods) the history the
    short-history fallback reads. Returns widths per level, and which series had too short a history."""
    _, n, horizon = errors.shape
    steps = np.arange(1, horizon + 1, dtype=np.float64)
    growth = _growth(np.abs(errors), steps, GROWTH, GROWTH_FLOOR)
    scaled_steps = np.abs(errors) / steps ** growth[None, :, None]
    running = np.cumsum(errors, axis=2)  # NaN from the first step an origin has not seen
    total_growth = _growth(np.abs(running), steps, TOTAL_GROWTH, TOTAL_GROWTH_FLOOR)
    scaled_totals = np.abs(running) / steps ** total_growth[None, :, None]
    step_q = {level: _conformal_quantile(scaled_steps, level) for level in LEVELS}
    total_q = {level: _conformal_quantile(scaled_totals, level) for level in LEVELS}
    counts = np.sum(~np.isnan(scaled_steps), axis=(0, 2))
    short = counts < MIN_ERRORS
    level_now = np.nan_to_num(np.abs(quiet_nanmean(recent)))
    spread = _short_history_spread(recent, level_now)
    widths: dict[float, Widths] = {}
    for level in LEVELS:
        fallback = SHORT_WIDEN * _NORMAL[level] * spread
        step_scale = np.where(short | np.isnan(step_q[level]), fallback, step_q[level])
        total_scale = np.where(short | np.isnan(total_q[level]), fallback, total_q[level])
        # At least FLOOR_SHARE of the level a step (growing like a random walk): a series that has never moved
        # can still move, and an interval of zero width would promise that it will not.
        floor = FLOOR_SHARE * _NORMAL[level] / _NORMAL[0.8] * level_now[:, None] * steps[None, :] ** GROWTH
        step = np.maximum(step_scale[:, None] * steps[None, :] ** growth[:, None], floor)
        measured = total_scale[:, None] * steps[None, :] ** total_growth[:, None]
        # Never narrower than the step intervals added up: the running-total errors the backtest sees stop at
        # four weeks, from origins so few that a walking level's total is underestimated.
        widths[level] = Widths(step=step, total=np.maximum(measured, np.cumsum(step, axis=1)))
    # The levels fall back on their own (95% needs 19 errors, 80% only 4): keep a wider level never narrower.
    for lower, higher in zip(LEVELS, LEVELS[1:], strict=False):
        widths[higher] = Widths(
            step=np.maximum(widths[higher].step, widths[lower].step),
            total=np.maximum(widths[higher].total, widths[lower].total),
        )
    return widths, short


def _growth(magnitudes: Values, steps: Values, default: float, floor: float) -> Values:
    """(series,): how each series' error grows with the step, h**g: the slope of log mean |error| on log h over
    the steps with at least MIN_PER_STEP errors, within [floor, floor + 0.5]; `default` where fewer than three steps have."""
    counts = np.sum(~np.isnan(magnitudes), axis=0)  # (series, horizon)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.nansum(magnitudes, axis=0) / counts
    usable = (counts >= MIN_PER_STEP) & (means > 0)
    x = np.where(usable, np.log(steps)[None, :], 0.0)
    y = np.where(usable, np.log(np.where(usable, means, 1.0)), 0.0)
    k = usable.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = x.sum(axis=1) / k, y.sum(axis=1) / k
        cov = np.where(usable, (x - mx[:, None]) * (y - my[:, None]), 0.0).sum(axis=1)
        var = np.where(usable, (x - mx[:, None]) ** 2, 0.0).sum(axis=1)
        slope = cov / var
    return np.where((k >= 3) & (var > 0) & np.isfinite(slope), np.clip(slope, floor, floor + 0.5), default)


def _conformal_quantile(scaled: Values, level: float) -> Values:
    """(series,): per series, the ceil((N + 1) * level)-th smallest of its N scaled errors (the split-conformal
    rank, which covers at least `level` of a new error from the same distribution); NaN when N is too small."""
    n = scaled.shape[1]
    flat = np.moveaxis(scaled, 1, 0).reshape(n, -1)
    counts = np.sum(~np.isnan(flat), axis=1)
    ordered = np.sort(flat, axis=1)  # NaN sort last
    ranks = np.array([math.ceil((c + 1) * level) for c in counts])
    out = np.full(n, np.nan)
    usable = (counts > 0) & (ranks <= counts)
    rows = np.flatnonzero(usable)
    out[rows] = ordered[rows, ranks[rows] - 1]
    return out


def _short_history_spread(recent: Values, level: Values) -> Values:
    """Per period spread for a short history: the larger of its day-to-day changes and a share of its level."""
    if recent.shape[1] < 2:
        return SHORT_LEVEL_SHARE * level
    change = np.nan_to_num(quiet_nanstd(np.diff(recent, axis=1)))  # one change has no spread; none: 0
    return np.maximum(change, SHORT_LEVEL_SHARE * level)
