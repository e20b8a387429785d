"""One series' time buckets: sum contributions, drop duplicates, close a bucket once later data shows it is
complete, and fill the buckets nothing arrived for with zero (no line in a minute means no spend).

A bucket closes when a contribution (to this series, or to the stream: `advance`) arrives `lateness` buckets
or more after it; contributions for a bucket that has closed are late and are not learnt (they are counted, so
the loss is visible). Within the lateness, out-of-order contributions join their bucket. A series fed by several
usage partitions closes on the stream's watermark only (`advance`, `watermarks`), not on its own data; what waits
for it is bounded (`close_overflow`: the oldest buckets then close anyway, counted as `forced`), so a partition
whose reader lags far behind cannot grow the series' state past what one changelog message holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

MAX_GAP_FILL = 1440  # zero buckets filled at most between two data points (a day of minutes)
MAX_OPEN = 720  # buckets a series closed by the watermark keeps open at most (12 hours of minutes)
# The open buckets' share of the state's JSON at most: the state is one changelog message (1 MB at most). Estimated
# from the ids (a stable record id and its quotes, ~40 bytes) and breakdown entries ('dimension=value': amount), both
# over what they take (the demo company's total: ~4.5 KB a minute estimated, 3.9 KB written). Pacing plans to keep
# half of it open (`pacing.Leads`), as many buckets as that holds of the tenant's largest.
MAX_OPEN_BYTES = 600_000
ID_BYTES, BREAKDOWN_BYTES, BUCKET_BYTES = 48, 64, 96


def estimated_bytes(record_ids: int, breakdown: int) -> int:
    """About how much JSON a bucket (or a contribution) of that many line ids and breakdown entries takes."""
    return BUCKET_BYTES + ID_BYTES * record_ids + BREAKDOWN_BYTES * breakdown


@dataclass
class Point:
    at: datetime
    amount: Decimal
    breakdown: dict[str, float]  # root cause ranks shares: floats suffice


@dataclass
class _Bucket:
    amount: Decimal = Decimal(0)
    record_ids: set[str] = field(default_factory=set)
    breakdown: dict[str, float] = field(default_factory=dict)


@dataclass
class BucketSeries:
    step: timedelta
    lateness: int = 2
    open: dict[datetime, _Bucket] = field(default_factory=dict)
    last_closed: datetime | None = None
    late: int = 0
    duplicates: int = 0
    forced: int = 0  # buckets closed before the watermark passed them (`close_overflow`)

    def add(
        self,
        bucket: datetime,
        amount: Decimal,
        record_ids: list[str],
        breakdown: dict[str, float],
        own_clock: bool = True,
    ) -> list[Point]:
        """Add a contribution; returns the points it closed, oldest first. With `own_clock` False (a series fed
        by several usage partitions) it closes nothing by itself: the watermark does (`advance`)."""
        if self.last_closed is not None and bucket <= self.last_closed:
            self.late += 1
            return []
        entry = self.open.get(bucket)
        if entry is None:  # the common case: the first contribution to this bucket takes it whole
            self.open[bucket] = _Bucket(amount, set(record_ids), dict(breakdown))
            return self.advance(bucket) if own_clock else []
        new_ids = [r for r in record_ids if r not in entry.record_ids]
        if len(new_ids) < len(record_ids):
            self.duplicates += 1
            if not new_ids:
                return []
            # Part of this contribution was seen: scale it down to the unseen share (rare: a batch that
            # mixes replayed and new lines of one bucket).
            share = Decimal(len(new_ids)) / Decimal(len(record_ids))
            amount *= share
            breakdown = {k: v * float(share) for k, v in breakdown.items()}
        entry.record_ids.update(new_ids)
        entry.amount += amount
        for k, v in breakdown.items():
            entry.breakdown[k] = entry.breakdown.get(k, 0.0) + v
        return self.advance(bucket) if own_clock else []

    def closes_before(self, now: datetime) -> bool:
        """Whether `advance(now)` would close or zero-fill anything."""
        horizon = now - self.lateness * self.step
        if self.last_closed is not None and self.last_closed + self.step <= horizon:
            return True
        return any(b <= horizon for b in self.open)

    def close_overflow(self) -> list[Point]:
        """Close the oldest open buckets, counted as forced, while more than MAX_OPEN are open or their estimated
        size passes MAX_OPEN_BYTES (a series closed by the watermark, after each message)."""
        sizes = {b: estimated_bytes(len(e.record_ids), len(e.breakdown)) for b, e in self.open.items()}
        total = sum(sizes.values())
        points: list[Point] = []
        if len(self.open) <= MAX_OPEN and total <= MAX_OPEN_BYTES:
            return points
        for bucket in sorted(sizes):
            if len(self.open) <= 1 or (len(self.open) <= MAX_OPEN and total <= MAX_OPEN_BYTES):
                break
            self.forced += 1
            total -= sizes[bucket]
            points += self._close_before(bucket)
        return points

    def advance(self, now: datetime) -> list[Point]:
        """Close what the stream's clock says is complete, even if this series got nothing since: a series
        that stops spending must show its zeros (a stopped service is an anomaly too)."""
        horizon = now - self.lateness * self.step
        points = self._close_before(horizon)
        if self.last_closed is not None and self.last_closed + self.step <= horizon:
            last = self.last_closed + int((horizon - self.last_closed) / self.step) * self.step
            points += self._zeros_before(last + self.step)
            self.last_closed = last
        return points

    def _close_before(self, horizon: datetime) -> list[Point]:
        points: list[Point] = []
        for start in sorted(b for b in self.open if b <= horizon):
            entry = self.open.pop(start)
            points += self._zeros_before(start)
            points.append(Point(start, entry.amount, entry.breakdown))
            self.last_closed = start
        return points

    def _zeros_before(self, start: datetime) -> list[Point]:
        """Zero points for the buckets between the last closed one and `start` (at most MAX_GAP_FILL)."""
        if self.last_closed is None:
            return []
        gap = min(int((start - self.last_closed) / self.step) - 1, MAX_GAP_FILL)
        return [Point(start - (gap - i) * self.step, Decimal(0), {}) for i in range(gap)]

    def state(self) -> dict[str, Any]:
        return {
            "step_s": self.step.total_seconds(),
            "lateness": self.lateness,
            "open": {
                b.isoformat(): {
                    "amount": str(e.amount),
                    "ids": sorted(e.record_ids),
                    "breakdown": e.breakdown,
                }
                for b, e in self.open.items()
            },
            "last_closed": None if self.last_closed is None else self.last_closed.isoformat(),
            "late": self.late,
            "duplicates": self.duplicates,
            "forced": self.forced,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BucketSeries:
        return cls(
            step=timedelta(seconds=state["step_s"]),
            lateness=state["lateness"],
            open={
                datetime.fromisoformat(b): _Bucket(
                    Decimal(e["amount"]), set(e["ids"]), {k: float(v) for k, v in e["breakdown"].items()}
                )
                for b, e in state["open"].items()
            },
            last_closed=None if state["last_closed"] is None else datetime.fromisoformat(state["last_closed"]),
            late=state["late"],
            duplicates=state["duplicates"],
            forced=state.get("forced", 0),  # absent from states written before the watermark
        )
