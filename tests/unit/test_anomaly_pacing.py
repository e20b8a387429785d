"""Pacing a backfill (series/pacing.py): lines wait until the slowest usage partition is within the lead, each
partition in its own order, and a backfill read at any relative speed still moves to its end; a dense tenant is
paced closer (`Leads`), so its series fed by several partitions close nothing early."""

from __future__ import annotations

import functools
from datetime import timedelta
from decimal import Decimal

from services.anomaly.series.buckets import BucketSeries, estimated_bytes
from services.anomaly.series.keys import LineKey, SeriesContribution
from services.anomaly.series.pacing import LEAD, Leads, Pacer
from services.anomaly.series.watermarks import PartitionReads, UsageMarks, Watermarks
from tests.unit.test_anomaly_watermarks import at

VIEW = -1


def key(minute: int, tenant: str = "default") -> LineKey:
    return LineKey(tenant, 60, at(minute))


def test_a_line_waits_while_it_is_more_than_the_lead_ahead_of_the_slowest_position() -> None:
    pacer: Pacer[str] = Pacer(lead=5)
    for minute in (0, 5, 6, 7):
        pacer.offer(0, f"p0@{minute}", [key(minute)])
    pacer.offer(1, "p1@1", [key(1)])
    pacer.offer(1, "p1@1-acme", [key(1, "acme")])
    slowest = {("default", 60): at(1), ("acme", 60): None}  # acme: a partition not heard of yet
    released = pacer.release(lambda tenant, g: slowest[(tenant, g)], most=100)
    # Up to minute 6 (1 + 5) from partition 0; acme waits, and so does what is behind it in partition 1.
    assert released == ["p0@0", "p0@5", "p0@6", "p1@1"]
    assert pacer.waiting() == 2 and pacer.holds(0) and pacer.holds(1)
    assert pacer.heads() == {0: {"default": {60: at(7)}}, 1: {"acme": {60: at(1)}}}
    slowest[("acme", 60)] = at(0)
    assert pacer.release(lambda tenant, g: slowest[(tenant, g)], most=100) == ["p1@1-acme"]
    assert pacer.release(lambda tenant, g: at(2), most=100) == ["p0@7"]
    assert pacer.waiting() == 0 and pacer.heads() == {}


def test_every_kind_waiting_in_a_partition_counts_as_read_to_its_first_line() -> None:
    # Partition 0 has acme's lines behind a default line that waits: it will send no acme line earlier than
    # minute 3, so it must not hold acme's series (or partition 1's acme lines) back at what it read before.
    pacer: Pacer[str] = Pacer(lead=5)
    pacer.offer(0, "default@40", [key(40)])
    pacer.offer(0, "acme@3", [key(3, "acme")])
    pacer.offer(0, "acme@9", [key(9, "acme")])
    pacer.offer(1, "acme@8", [key(8, "acme")])
    assert pacer.heads() == {0: {"default": {60: at(40)}, "acme": {60: at(3)}}, 1: {"acme": {60: at(8)}}}
    slowest = {("default", 60): at(30), ("acme", 60): at(3)}
    assert pacer.release(lambda tenant, g: slowest[(tenant, g)], most=100) == ["acme@8"]
    assert pacer.heads() == {0: {"default": {60: at(40)}, "acme": {60: at(3)}}}


def test_an_item_without_lines_waits_behind_the_lines_held_before_it() -> None:
    # A repeat of a held message is acked only once what waits before it is processed.
    pacer: Pacer[str] = Pacer(lead=0)
    pacer.offer(0, "held@9", [key(9)])
    pacer.offer(0, "repeat", [])
    assert pacer.release(lambda tenant, g: at(0), most=100) == []
    assert pacer.release(lambda tenant, g: at(9), most=100) == ["held@9", "repeat"]


def test_release_takes_at_most_the_batch_and_a_line_without_a_bucket_waits_for_nothing() -> None:
    pacer: Pacer[int] = Pacer(lead=0)
    for i in range(5):
        pacer.offer(0, i, [key(0)])
    pacer.offer(1, 99, [])  # a dead letter, or a line longer than a day
    assert pacer.release(lambda tenant, g: at(0), most=3) == [0, 1, 2]
    assert pacer.release(lambda tenant, g: None, most=3) == [99]
    assert pacer.forget([0, 5]) == [3, 4]
    assert pacer.waiting() == 0


def run_backfill(lines: dict[int, list[int]], lead: int) -> tuple[list[tuple[int, int]], int]:
    """Feed each partition's lines (minutes, in offset order) all at once and release pass after pass as the split
    stage does; returns the (partition, minute) order lines were processed in and the widest span, in minutes,
    between the newest line processed and the slowest partition still sending."""
    pacer: Pacer[tuple[int, int]] = Pacer(lead=lead)
    reads = PartitionReads()
    view = Watermarks()
    for partition, minutes in lines.items():
        for minute in minutes:
            pacer.offer(partition, (partition, minute), [key(minute)])
    processed: list[tuple[int, int]] = []
    widest = 0
    for _pass in range(10_000):
        caught_up = {p: not pacer.holds(p) for p in lines}
        view.update(VIEW, UsageMarks(partitions=len(lines), marks=reads.marks(caught_up, pacer.heads())), 0.0)
        released = pacer.release(functools.partial(view.watermark, VIEW, now=0.0), most=50)
        if not released:
            break
        for partition, minute in released:
            reads.read(partition, key(minute))
        processed += released
        # What a series fed by every partition holds open: from the slowest partition still sending (its first
        # line waiting) to the newest line processed.
        waiting = [pacer.heads()[q]["default"][60] for q in lines if pacer.holds(q)]
        if waiting:
            widest = max(widest, int((max(at(m) for _, m in processed) - min(waiting)) / timedelta(minutes=1)))
    return processed, widest


def test_a_backfill_is_processed_within_the_lead_whatever_each_partition_holds() -> None:
    dense = [m for m in range(600) for _ in range(20)]  # twenty lines a minute
    sparse = list(range(600))  # one a minute: read by bytes, it would be far ahead of the dense one
    gappy = [0, 1, 2] + list(range(300, 600))  # nothing for five hours, then lines again
    processed, widest = run_backfill({0: dense, 1: sparse, 2: gappy}, lead=10)
    assert len(processed) == len(dense) + len(sparse) + len(gappy)  # it moves to the end: nothing stalls
    assert widest <= 10
    for partition in range(3):  # each partition in its own order
        mine = [m for p, m in processed if p == partition]
        assert mine == sorted(mine)


def dense_backfill(pacer: Pacer[tuple[int, int, int]], leads: Leads | None) -> tuple[BucketSeries, int, int]:
    """A dense tenant's hour (400 lines a minute over three partitions, each line its own resource) paced pass after
    pass into its total, a series fed by every partition and closed on their watermark as the monitor closes it;
    returns the series and how many lines went in and were learnt (every closed point's line count)."""
    partitions = {0: 200, 1: 120, 2: 80}  # lines a minute
    for partition, per_minute in partitions.items():
        for minute in range(60):
            for i in range(per_minute):
                pacer.offer(partition, (partition, minute, i), [key(minute)])
    reads, view, total = PartitionReads(), Watermarks(), BucketSeries(timedelta(minutes=1))

    def marks() -> UsageMarks:
        caught_up = {p: not pacer.holds(p) for p in partitions}
        return UsageMarks(partitions=len(partitions), marks=reads.marks(caught_up, pacer.heads()))

    learnt = 0
    for _pass in range(10_000):
        view.update(VIEW, marks(), 0.0)
        released = pacer.release(functools.partial(view.watermark, VIEW, now=0.0), most=2000)
        if not released:
            break
        by_minute: dict[int, list[tuple[int, int, int]]] = {}
        for partition, minute, i in released:
            reads.read(partition, key(minute))
            by_minute.setdefault(minute, []).append((partition, minute, i))
        found = [
            SeriesContribution(
                series="minute|total",
                granularity_s=60,
                bucket=at(minute),
                amount=Decimal(len(lines)),
                record_ids=[f"line-{p}-{m}-{i}" for p, m, i in lines],
                breakdown={f"resource_id=r-{p}-{i}": 1.0 for p, _m, i in lines},
            )
            for minute, lines in by_minute.items()
        ]
        if leads is not None:
            leads.observe(found)
        for c in found:
            total.add(c.bucket, c.amount, c.record_ids, c.breakdown, own_clock=False)
        # The monitor: the marks sent after the batch close what the watermark passed, then the size bound.
        view.update(VIEW, marks(), 0.0)
        watermark = view.watermark(VIEW, "default", 60, now=0.0)
        points = ([] if watermark is None else total.advance(watermark)) + total.close_overflow()
        learnt += sum(int(p.amount) for p in points)
    learnt += sum(int(b.amount) for b in total.open.values())  # the last minutes, still within the lateness
    return total, sum(partitions.values()) * 60, learnt


def test_a_dense_tenant_is_paced_closer_so_its_series_close_nothing_early() -> None:
    # 400 lines a minute take ~45 KB a bucket: the usual lead would keep megabytes open, past the series' bound.
    leads = Leads()
    total, sent, learnt = dense_backfill(Pacer(lead=leads), leads)
    assert 1 <= leads("default", 60) <= 5
    assert leads("acme", 60) == LEAD  # a kind not seen yet
    assert total.forced == 0 and total.late == 0
    assert learnt == sent
    # Without: the oldest buckets close before the watermark passes them (what is learnt depends on the reading).
    unpaced, _sent, _learnt = dense_backfill(Pacer(lead=LEAD), None)
    assert unpaced.forced > 0


def test_a_kinds_lead_follows_its_largest_bucket_and_grows_back_as_it_shrinks() -> None:
    leads = Leads(most=60, budget=100_000, lateness=2)

    def contribution(series: str, lines: int, dimensions: dict[str, str] | None = None) -> SeriesContribution:
        ids = [f"r{i}" for i in range(lines)]
        return SeriesContribution(
            series=series,
            dimensions=dimensions or {},
            granularity_s=60,
            bucket=at(0),
            amount=Decimal(1),
            record_ids=ids,
        )

    one_line = estimated_bytes(1, 0)
    leads.observe([contribution("minute|total", 1)])
    assert leads("default", 60) == min(60, 100_000 // one_line - 3)
    big = estimated_bytes(400, 0)
    leads.observe([contribution("acme/minute|total", 400), contribution("minute|total", 1)])
    assert leads("acme", 60) == 100_000 // big - 3
    # Half the lines from this worker's partitions: the bucket is twice what it sent.
    leads.observe([contribution("beta/minute|total", 200)], share=0.5)
    assert leads("beta", 60) == leads("acme", 60)
    # A series fed by one partition closes on its own data: its size does not count.
    pinned = {"billing_account_id": "1", "service": "EC2"}
    leads.observe([contribution("gamma/minute|billing_account_id=1|service=EC2", 5000, pinned)])
    assert leads("gamma", 60) == 60
    # A huge bucket still lets one bucket through: the tenant's backfill moves.
    leads.observe([contribution("acme/minute|total", 100_000)])
    assert leads("acme", 60) == 1
    for _batch in range(200):
        leads.observe([contribution("acme/minute|total", 1)])
    assert leads("acme", 60) == min(60, 100_000 // one_line - 3)
