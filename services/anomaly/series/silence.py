"""Zeros for live series that went silent, so a cost that stops entirely is seen as a drop while it is news.

A series' bucket closes when later data of that series arrives; a resource that is terminated, or a service whose
whole spend stops, sends nothing again, so without help its last minutes would never close and the drop to zero
would show only when it spends again. The split stage therefore remembers each live (minute) series it has fed and,
when the tenant's stream has moved `grace` past a series' last bucket, sends that series zero contributions up to
there: the same zeros an empty bucket gets anyway once later data arrives, only on time.

Only while the stream is live (its newest minute within `live_within` of the wall clock): in a backfill or a
catch-up after a restart, partitions are read at different speeds and a zero could close a bucket before its
lagging lines arrive. A series silent for `give_up` is forgotten (a deleted resource is not fed zeros forever), and
the memory is bounded (`max_series`). Plain Python, no I/O: the worker feeds it batches and sends what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from services.anomaly.series.keys import SeriesContribution, fed_by_one_partition
from services.anomaly.series.tenants import tenant_of

LIVE_GRANULARITY_S = 60  # minute series: live metering and the generator's live minutes


@dataclass
class _Silent:
    template: SeriesContribution  # the series' name, dimensions and currency, for its zeros
    last: datetime  # the newest bucket it was fed (with data or a zero)
    last_data: datetime  # the newest bucket with data


@dataclass
class SilenceFiller:
    grace: timedelta = timedelta(minutes=10)  # well past the buckets' own lateness: live lines are seconds late
    live_within: timedelta = timedelta(minutes=5)
    give_up: timedelta = timedelta(hours=6)
    max_zeros: int = 60  # per series and call: a long gap is filled over several batches
    max_series: int = 100_000

    def __post_init__(self) -> None:
        self._series: dict[str, _Silent] = {}
        self._clock: dict[str, datetime] = {}  # tenant -> its newest minute bucket seen

    def observe(self, contributions: list[SeriesContribution]) -> None:
        """Remember the live series of a batch and move their tenants' clocks."""
        for c in contributions:
            # A series fed by several usage partitions gets its zeros from the partitions' watermark instead.
            if c.granularity_s != LIVE_GRANULARITY_S or not fed_by_one_partition(c.dimensions):
                continue
            tenant = tenant_of(c.series)
            if c.bucket > self._clock.get(tenant, c.bucket - timedelta(minutes=1)):
                self._clock[tenant] = c.bucket
            seen = self._series.get(c.series)
            if seen is None:
                if len(self._series) >= self.max_series:
                    continue  # bounded: a series beyond the bound simply gets no zeros
                self._series[c.series] = _Silent(c, c.bucket, c.bucket)
            elif c.bucket > seen.last_data:
                seen.last_data = c.bucket
                seen.last = max(seen.last, c.bucket)

    def zeros(self, now: datetime) -> list[SeriesContribution]:
        """Zero contributions for every remembered series its tenant's live stream has left `grace` behind."""
        out: list[SeriesContribution] = []
        step = timedelta(seconds=LIVE_GRANULARITY_S)
        for name, seen in list(self._series.items()):
            clock = self._clock[tenant_of(name)]
            if clock - seen.last_data > self.give_up:
                del self._series[name]
                continue
            if clock < now - self.live_within:
                continue  # not live (a backfill, a catch-up): lines may still come from a slower partition
            upto = clock - self.grace
            bucket, made = seen.last + step, 0
            while bucket <= upto and made < self.max_zeros:
                out.append(self._zero(seen.template, bucket))
                seen.last, made = bucket, made + 1
                bucket += step
        return out

    @staticmethod
    def _zero(template: SeriesContribution, bucket: datetime) -> SeriesContribution:
        return SeriesContribution(
            series=template.series,
            dimensions=template.dimensions,
            granularity_s=template.granularity_s,
            bucket=bucket,
            amount=Decimal(0),
            currency=template.currency,
            record_ids=[],
        )
