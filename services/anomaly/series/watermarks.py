"""How far every usage partition has been read: what lets a series fed by several partitions close a bucket only
once none of them can still send lines for it.

A series pinned to one usage partition (an account and service: the usage key) closes a bucket on its own data,
`lateness` buckets later, as its lines come in that partition's order. The total, tag and resource series take
lines from every partition; in a backfill the partitions are read at different speeds (by one worker's fetches, and
far more by two workers in one group), so closing those on their own data drops the lagging partitions' lines as
late, and two workers would alert differently from one.

So each split stage tells every partition of the series topic, after each batch it has sent and every second, how
far it has read each usage partition it owns (`UsageMarks`): the newest bucket per tenant and granularity (a
partition interleaves tenants' streams, each in its own time: one tenant's backfill beside another's live minutes),
and whether it has read to the partition's end. Sent after the contributions they speak for, on the same partitions, the marks reach a
monitor after those contributions. The monitor (`Watermarks`) closes a multi-partition series' buckets up to the
slowest partition's newest bucket, less the lateness: a line arriving after that was late within its own partition
too, which the split stage decides itself (`PartitionReads`), so what is learnt does not depend on how partitions
were shared out or how fast each was read.

A partition read to its end holds nothing back (nothing is waiting in it; a live stream is caught up most of the
time). One not heard of for `stale_after` (its owner stopped, or no owner yet) stops holding back too, so the
total series cannot stall behind a dead worker; so does one that has read lines but none of a tenant's of that
granularity, or none new for `stale_after` (a partition kept busy by another tenant's backfill must not stall a
tenant that is not in it; such a tenant's lines, if they come, may then be late). Plain Python, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from services.anomaly.series.keys import LineKey


class ReadMark(BaseModel):
    """How far one usage partition has been read, as of the contributions sent before this mark."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    partition: int = Field(ge=0)
    newest: dict[str, dict[int, datetime]] = Field(
        default_factory=dict, description="tenant → granularity (s) → newest bucket read"
    )
    caught_up: bool = Field(description="read to the partition's end, as far as the last fetch knew")


class UsageMarks(BaseModel):
    """One split stage's marks for the usage partitions it owns, sent to every partition of the series topic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    partitions: int = Field(ge=1, description="how many partitions the usage topic has")
    marks: list[ReadMark]


@dataclass
class PartitionReads:
    """The split stage's side: the newest bucket per (usage partition, granularity) it has read, which lines are
    late within their own partition, and the marks to send."""

    lateness: int = 2
    _newest: dict[int, dict[str, dict[int, datetime]]] = field(default_factory=dict)

    def read(self, partition: int, line: LineKey) -> bool:
        """Record a line read from `partition`; True when it is late within its partition (its bucket is
        `lateness` or more behind the newest of that tenant and granularity read there before it), so it may
        only feed series pinned to that partition."""
        newest = self._newest.setdefault(partition, {}).setdefault(line.tenant, {})
        before = newest.get(line.granularity_s)
        if before is None or line.bucket > before:
            newest[line.granularity_s] = line.bucket
            return False
        return line.bucket <= before - self.lateness * timedelta(seconds=line.granularity_s)

    def marks(
        self, caught_up: dict[int, bool], ahead: dict[int, dict[str, dict[int, datetime]]] | None = None
    ) -> list[ReadMark]:
        """Marks for the partitions owned (`caught_up`: each one → read to its end), read from or not; `ahead`:
        per partition, buckets it is known to send nothing earlier than (the first line pacing holds back)."""
        marks = []
        for p, done in sorted(caught_up.items()):
            newest = {t: dict(g) for t, g in self._newest.get(p, {}).items()}
            for tenant, granularities in (ahead or {}).get(p, {}).items():
                known = newest.setdefault(tenant, {})
                for g, bucket in granularities.items():
                    if g not in known or bucket > known[g]:
                        known[g] = bucket
            marks.append(ReadMark(partition=p, newest=newest, caught_up=done))
        return marks

    def forget(self, partitions: Iterable[int]) -> None:
        """Partitions no longer owned: whoever reads them next starts from their committed offsets."""
        for partition in partitions:
            self._newest.pop(partition, None)


@dataclass
class _Heard:
    mark: ReadMark
    at: float  # monotonic seconds when it came
    advanced: dict[tuple[str, int], float] = field(default_factory=dict)  # (tenant, granularity) → when it moved


@dataclass
class _SeriesPartition:
    since: float  # when its first marks came: a partition never heard of holds back until stale_after past it
    partitions: int
    heard: dict[int, _Heard] = field(default_factory=dict)


@dataclass
class Watermarks:
    """The monitor's side: per series-topic partition, the marks received on it, and the newest bucket a series
    of a granularity fed by several usage partitions may close up to (less its lateness)."""

    stale_after: float = 30.0  # seconds without news from a usage partition before it stops holding back
    _by_series_partition: dict[int, _SeriesPartition] = field(default_factory=dict)

    def update(self, series_partition: int, marks: UsageMarks, now: float) -> None:
        known = self._by_series_partition.get(series_partition)
        if known is None:
            known = self._by_series_partition[series_partition] = _SeriesPartition(now, marks.partitions)
        known.partitions = marks.partitions
        for mark in marks.marks:
            before = known.heard.get(mark.partition)
            # A worker that takes a partition over re-reads it from its committed offset: what was already known
            # to be read stays read, and only a newer bucket counts as the tenant's lines moving on.
            newest = {} if before is None else {t: dict(g) for t, g in before.mark.newest.items()}
            advanced = {} if before is None else before.advanced
            for tenant, granularities in mark.newest.items():
                known_tenant = newest.setdefault(tenant, {})
                for g, at in granularities.items():
                    was = known_tenant.get(g)
                    if was is None or at > was:
                        known_tenant[g] = at
                        advanced[(tenant, g)] = now
            known.heard[mark.partition] = _Heard(mark.model_copy(update={"newest": newest}), now, advanced)

    def watermark(self, series_partition: int, tenant: str, granularity_s: int, now: float) -> datetime | None:
        """The newest bucket of the tenant's lines of this granularity that every usage partition which may still
        send such lines has been read to (the newest read anywhere when none may); None while that is not known
        (hold every bucket)."""
        known = self._by_series_partition.get(series_partition)
        if known is None:
            return None
        holding: list[datetime] = []
        newest_anywhere: datetime | None = None
        for p in range(known.partitions):
            heard = known.heard.get(p)
            if heard is None:
                if now - known.since < self.stale_after:
                    return None  # not heard of yet: it may hold anything
                continue
            at = heard.mark.newest.get(tenant, {}).get(granularity_s)
            if at is not None and (newest_anywhere is None or at > newest_anywhere):
                newest_anywhere = at
            if heard.mark.caught_up or now - heard.at >= self.stale_after:
                continue
            if not heard.mark.newest:
                return None  # nothing read there yet: it may hold anything
            if at is None or now - heard.advanced.get((tenant, granularity_s), now) >= self.stale_after:
                # None of the tenant's lines of this granularity there, or none for a while (another tenant's
                # backfill keeps the partition busy): waiting for them would stall this tenant's series.
                continue
            holding.append(at)
        return min(holding) if holding else newest_anywhere

    def live(self, series_partition: int) -> bool:
        """Whether every usage partition was read to its end as of the marks last received (a live stream
        between batches, not a backfill or a catch-up)."""
        known = self._by_series_partition.get(series_partition)
        if known is None or len(known.heard) < known.partitions:
            return False
        return all(heard.mark.caught_up for heard in known.heard.values())

    def forget(self, series_partitions: Iterable[int]) -> None:
        """Series partitions no longer owned; if they come back, they wait for fresh marks."""
        for partition in series_partitions:
            self._by_series_partition.pop(partition, None)
