"""Report buckets of an allocation: hour and day as the ledger's rollups keep them, and calendar months.

A proportional shared split is computed per report bucket (an owner's share of a day's support fee follows that
day's direct cost), so a month report is not the sum of its day reports' shares; each report reconciles exactly
with the period's total cost all the same.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from outlay.spread import Grain, floor_to


class ReportGrain(StrEnum):
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"

    @property
    def source(self) -> Grain:
        """The ledger grain a report of this grain is built from (months from days)."""
        return Grain.HOUR if self is ReportGrain.HOUR else Grain.DAY

    def bucket(self, ts: datetime) -> datetime:
        if self is ReportGrain.MONTH:
            return datetime(ts.year, ts.month, 1, tzinfo=ts.tzinfo)
        return floor_to(ts, self.source)
