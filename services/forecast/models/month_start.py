"""Charges that land on the first day of each month: AWS Support, Reserved Instance and Savings Plans fees,
upfront payments. They repeat monthly, not weekly, so a weekly model would either miss them or smear them
over the next week; they are taken out of the history before the models learn it and put back on the month
starts ahead.

A month start's excess is its value above the median of the (up to three) days on each side of it, the
higher side (a level that shifts on a month start is not a charge). A series
has month-start charges when its latest month start exceeds its neighbours by more than the day-to-day
noise around it; the charge carried forward is that latest excess (fees follow the latest commitments).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.forecast.models.history import SeriesBatch, Step, Values, quiet_nanmedian

NEIGHBOURS = 3  # days on each side that give a month start's ordinary level
NOISE_FACTOR = 4.0  # an excess must exceed this many median absolute day-to-day changes
MIN_SHARE = 0.02  # and 2% of the neighbours' level, so rounding noise on a flat series is not a charge


@dataclass(frozen=True)
class MonthStartCharges:
    excess: Values  # (series, periods): the charge found on each past month start, 0 elsewhere
    ahead: Values  # (series,): the charge expected on each month start ahead, 0 where none

    def future(self, batch: SeriesBatch, horizon: int) -> Values:
        """(series, horizon): the charge on each period ahead."""
        on_first = batch.days_of_month(batch.periods, horizon) == 1
        return np.outer(self.ahead, on_first.astype(np.float64))


def month_start_charges(batch: SeriesBatch) -> MonthStartCharges:
    n, periods = batch.values.shape
    excess = np.zeros((n, periods))
    latest = np.zeros(n)  # the latest month start's charge per series: the one carried forward
    if batch.step is not Step.DAY:
        return MonthStartCharges(excess, latest)
    y = batch.values
    firsts = np.flatnonzero(batch.days_of_month(0, periods) == 1)
    noise = _day_to_day_noise(y, firsts)
    for t in firsts:
        sides = [y[:, max(0, t - NEIGHBOURS) : t], y[:, t + 1 : t + 1 + NEIGHBOURS]]
        medians = [quiet_nanmedian(side) for side in sides if side.shape[1]]
        if not medians:
            continue
        # Above both sides: a level shift that happens on a month start is not a charge.
        level = np.fmax.reduce(medians)
        found = y[:, t] - level
        charge = np.isfinite(found) & (found > NOISE_FACTOR * noise) & (found > MIN_SHARE * np.abs(level))
        excess[charge, t] = found[charge]
        seen = np.isfinite(found)
        latest[seen] = np.where(charge[seen], found[seen], 0.0)
    return MonthStartCharges(excess, latest)


def _day_to_day_noise(y: Values, firsts: npt.NDArray[np.int64]) -> Values:
    """Median absolute change from one day to the next, leaving out the changes into and out of month starts."""
    changes = np.abs(np.diff(y, axis=1))
    if changes.shape[1] == 0:
        return np.zeros(y.shape[0])
    keep = np.ones(changes.shape[1], dtype=bool)
    for t in firsts:
        keep[max(0, t - 1) : t + 1] = False
    if not keep.any():
        return np.zeros(y.shape[0])
    return np.nan_to_num(quiet_nanmedian(changes[:, keep]), nan=0.0)
