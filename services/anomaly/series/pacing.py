"""Pacing a backfill: the split stage holds back usage lines that are too far ahead of the slowest usage partition,
so no series fed by several partitions has to keep more buckets open than it can hold.

A consumer fetches every partition by bytes, not by time: in a backfill a partition of one line a minute is read days
ahead of one of twenty lines a minute, and the total series would have to keep those days open until the slow
partition caught up (`watermarks`). It cannot (`buckets.MAX_OPEN`, `MAX_OPEN_BYTES`): the oldest buckets would be
closed early, and what is learnt would depend on how fast each partition happened to be read, so one worker and
two would learn differently. With pacing, a line is processed only once its bucket is within `lead` buckets of
where every usage partition that may still send lines of its tenant and granularity has been read (the
`Watermarks` of the split stage's own view), so a backfill is learnt as a live stream would be, whoever reads it.
The lead is per tenant and granularity (`Leads`): as many buckets as that kind's largest series fed by several
partitions can keep open within `buckets.MAX_OPEN_BYTES`, so a dense tenant (thousands of lines a minute) is paced
closer and still closes nothing early, and a sparse one moves in large batches.

Each partition's lines wait in their own queue, in offset order: a partition's order decides what is late within
it, and a partition is committed only up to its first line not processed. The slowest partition is never
held back (its head is its own position), so a single tenant's backfill always moves; a stall between tenants'
backfills in the same partitions ends when a position stops moving for `Watermarks.stale_after` and stops counting.
Plain Python, no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from services.anomaly.series.buckets import MAX_OPEN_BYTES, estimated_bytes
from services.anomaly.series.keys import LineKey, SeriesContribution, fed_by_one_partition
from services.anomaly.series.tenants import tenant_of

T = TypeVar("T")

# Buckets a line may be ahead of the slowest partition's position (of its granularity) at most: a batch moves the
# watermark by at most the lead, so a series fed by several partitions holds about that many buckets open. Smaller:
# more, smaller batches, and every batch writes each such series' state with all its open buckets (at 30 the
# throughput run wrote 8,300 series messages and 166 MB of states; at 60, 5,100 messages and 12% more points/s).
LEAD = 60
# The share of `buckets.MAX_OPEN_BYTES` pacing plans to fill: the sizes are estimates from past batches, a bucket can
# take lines from several batches, and the buckets within the lateness stay open too.
OPEN_SHARE = 0.5
# How fast a kind's largest bucket is forgotten, per batch that had one: a burst shortens the lead at once, and it
# grows back over some twenty batches.
SIZE_DECAY = 0.9

Kind = tuple[str, int]  # (tenant, granularity in seconds)


class Leads:
    """How many buckets ahead of the slowest partition each kind's lines may be processed: `LEAD`, or fewer when that
    kind's buckets are large, from the contributions the split stage made (`observe`). A kind not seen yet gets `LEAD`:
    its first batch (at most the split stage's batch of lines, so within the bound) is what sizes it."""

    def __init__(self, most: int = LEAD, budget: int = int(MAX_OPEN_BYTES * OPEN_SHARE), lateness: int = 2) -> None:
        self.most = most
        self.budget = budget
        self.lateness = lateness
        self._bucket_bytes: dict[Kind, float] = {}  # per kind, its largest bucket's estimated size, decaying

    def observe(self, contributions: list[SeriesContribution], share: float = 1.0) -> None:
        """Learn a batch's bucket sizes: each contribution to a series fed by several partitions is one bucket's lines
        from the partitions this worker reads, `share` of them all (the rest come from other workers)."""
        largest: dict[Kind, float] = {}
        for c in contributions:
            if fed_by_one_partition(c.dimensions):  # closed on its own data: holds nothing open for the watermark
                continue
            kind = (tenant_of(c.series), c.granularity_s)
            size = estimated_bytes(len(c.record_ids), len(c.breakdown)) / share
            if size > largest.get(kind, 0.0):
                largest[kind] = size
        for kind, size in largest.items():
            self._bucket_bytes[kind] = max(size, self._bucket_bytes.get(kind, 0.0) * SIZE_DECAY)

    def __call__(self, tenant: str, granularity_s: int) -> int:
        size = self._bucket_bytes.get((tenant, granularity_s))
        if not size:
            return self.most
        # What stays open: the lead, the buckets within the lateness, and the one being filled.
        return max(1, min(self.most, int(self.budget // size) - self.lateness - 1))


@dataclass
class _Waiting(Generic[T]):
    item: T
    keys: list[LineKey]


# (tenant, granularity in seconds) → the slowest position lines of that kind may be paced by (None: hold them all)
Slowest = Callable[[str, int], datetime | None]


@dataclass
class Pacer(Generic[T]):
    lead: int | Callable[[str, int], int] = LEAD  # buckets, or per (tenant, granularity in seconds): `Leads`
    _queues: dict[int, deque[_Waiting[T]]] = field(default_factory=dict)
    # Per partition and kind (tenant, granularity), the buckets of its waiting lines of that kind, in queue order.
    _kinds: dict[int, dict[tuple[str, int], deque[datetime]]] = field(default_factory=dict)

    def offer(self, partition: int, item: T, keys: list[LineKey]) -> None:
        """Queue an item (a message and its lines) of a usage partition, behind those of it already waiting."""
        self._queues.setdefault(partition, deque()).append(_Waiting(item, keys))
        kinds = self._kinds.setdefault(partition, {})
        for key in keys:
            kinds.setdefault((key.tenant, key.granularity_s), deque()).append(key.bucket)

    def holds(self, partition: int) -> bool:
        return bool(self._queues.get(partition))

    def waiting(self, partition: int | None = None) -> int:
        """Items waiting, in one partition or in all."""
        if partition is not None:
            return len(self._queues.get(partition, ()))
        return sum(len(q) for q in self._queues.values())

    def heads(self) -> dict[int, dict[str, dict[int, datetime]]]:
        """Per partition, the bucket of its first waiting line of each tenant and granularity: the partition will
        send nothing of that kind earlier than this that is not late within it, so it is read that far as far as
        the watermark is concerned. Every kind waiting counts, not only the first line's: a partition whose first
        line waits for another's lines of its kind must not hold back that other partition's first line of a
        kind it has waiting further on (two kinds in opposite orders would stall each other)."""
        return {
            partition: heads
            for partition, kinds in self._kinds.items()
            if (heads := _by_tenant({kind: buckets[0] for kind, buckets in kinds.items() if buckets}))
        }

    def release(self, slowest: Slowest, most: int) -> list[T]:
        """The items that may be processed now (`most` at most), per partition in offset order: each partition's
        queue up to its first item with a line more than `lead` buckets ahead of `slowest` of its kind."""
        released: list[T] = []
        limits: dict[tuple[str, int], datetime | None] = {}

        def allowed(key: LineKey) -> bool:
            kind = (key.tenant, key.granularity_s)
            if kind not in limits:
                position = slowest(*kind)
                lead = self.lead if isinstance(self.lead, int) else self.lead(*kind)
                limits[kind] = None if position is None else position + lead * timedelta(seconds=kind[1])
            limit = limits[kind]
            return limit is not None and key.bucket <= limit

        for partition, queue in self._queues.items():
            kinds = self._kinds.get(partition, {})
            while queue and len(released) < most and all(allowed(key) for key in queue[0].keys):
                waited = queue.popleft()
                for key in waited.keys:
                    kinds[(key.tenant, key.granularity_s)].popleft()
                released.append(waited.item)
        return released

    def forget(self, partitions: Iterable[int]) -> list[T]:
        """Partitions no longer owned: their waiting items, dropped unprocessed (the next owner reads them again
        from the committed offset)."""
        dropped: list[T] = []
        for partition in partitions:
            dropped += [w.item for w in self._queues.pop(partition, ())]
            self._kinds.pop(partition, None)
        return dropped


def _by_tenant(buckets: dict[tuple[str, int], datetime]) -> dict[str, dict[int, datetime]]:
    out: dict[str, dict[int, datetime]] = {}
    for (tenant, granularity_s), bucket in buckets.items():
        out.setdefault(tenant, {})[granularity_s] = bucket
    return out
