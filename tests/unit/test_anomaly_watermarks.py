"""Read marks and watermarks (`series/watermarks.py`), and what they do to a series fed by several usage partitions:
lines late within their own partition, the slowest partition holding buckets open, caught-up and silent
partitions not holding back, tenants and granularities apart, and the cap on held buckets. Plain Python, no I/O."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from outlay.events import AnomalyFeedback, FeedbackVerdict
from outlay.kafka.producer import key_partition
from services.anomaly.series.buckets import MAX_OPEN, MAX_OPEN_BYTES, BucketSeries
from services.anomaly.series.keys import (
    LineKey,
    SeriesContribution,
    SeriesSettings,
    bucket_of,
    contributions,
    fed_by_one_partition,
)
from services.anomaly.series.monitor import MonitorSettings, SeriesMonitor
from services.anomaly.series.watermarks import PartitionReads, ReadMark, UsageMarks, Watermarks
from services.anomaly.worker.app import MonitorCache, _apply, restored_held
from services.anomaly.worker.messages import SeriesMessage
from tests.unit.test_anomaly_series import MINUTE, T0, usage

HOUR = timedelta(hours=1)


def at(minute: int) -> datetime:
    return T0 + minute * MINUTE


def marks(partitions: int, *entries: tuple[int, dict[str, dict[int, datetime]], bool]) -> UsageMarks:
    return UsageMarks(
        partitions=partitions,
        marks=[ReadMark(partition=p, newest=newest, caught_up=done) for p, newest, done in entries],
    )


def minutes(minute: int, tenant: str = "default") -> dict[str, dict[int, datetime]]:
    return {tenant: {60: at(minute)}}


def line(tenant: str, step: timedelta, start: datetime) -> LineKey:
    return LineKey(tenant, int(step.total_seconds()), bucket_of(start, step))


def test_a_line_is_late_within_its_partition_only_by_its_own_tenant_and_granularity() -> None:
    reads = PartitionReads(lateness=2)
    assert not reads.read(0, line("default", MINUTE, at(10)))
    assert not reads.read(0, line("default", MINUTE, at(9)))  # one behind: within the lateness
    assert not reads.read(0, line("default", MINUTE, at(9) + timedelta(seconds=30)))  # the same bucket as 9
    assert reads.read(0, line("default", MINUTE, at(8)))  # two behind the newest read there
    assert not reads.read(1, line("default", MINUTE, at(3)))  # another partition has its own newest
    assert not reads.read(0, line("acme", MINUTE, at(1)))  # another tenant's stream in the same partition
    assert not reads.read(0, line("default", HOUR, at(0)))  # hourly lines beside minute lines
    assert reads.marks({0: False, 2: True}) == [
        ReadMark(partition=0, newest={"default": {60: at(10), 3600: at(0)}, "acme": {60: at(1)}}, caught_up=False),
        ReadMark(partition=2, newest={}, caught_up=True),  # owned, nothing read from it yet
    ]
    # A line held back by pacing counts as read: the partition sends nothing earlier that is not late in it.
    assert reads.marks({0: False}, ahead={0: {"default": {60: at(30), 3600: at(-120)}}})[0].newest == {
        "default": {60: at(30), 3600: at(0)},
        "acme": {60: at(1)},
    }
    reads.forget([0])
    assert reads.marks({0: False}) == [ReadMark(partition=0, newest={}, caught_up=False)]


def test_late_lines_feed_only_the_series_of_their_own_partition() -> None:
    late = usage(0, "2", n=1)
    out = contributions([usage(0, "1"), late], SeriesSettings(), late={("default", late.record_id)})
    by_series = {c.series: c for c in out}
    assert by_series["minute|billing_account_id=111122223333|service=AmazonEC2"].amount == Decimal(3)
    assert by_series["minute|total"].amount == Decimal(1)
    assert by_series["minute|tag:team=checkout"].record_ids == [usage(0, "1").record_id]


def test_only_an_account_and_service_pin_a_series_to_one_partition() -> None:
    assert fed_by_one_partition({"billing_account_id": "1", "service": "AmazonEC2"})
    assert not fed_by_one_partition({})
    assert not fed_by_one_partition({"tag:team": "web"})
    assert not fed_by_one_partition({"resource_id": "i-1"})


def test_the_slowest_partition_that_may_still_send_lines_sets_the_watermark() -> None:
    w = Watermarks(stale_after=30.0)
    assert w.watermark(0, "default", 60, now=0.0) is None  # nothing heard on this series partition yet
    w.update(0, marks(3, (0, minutes(50), False), (1, minutes(20), False)), now=0.0)
    assert w.watermark(0, "default", 60, now=1.0) is None  # partition 2 not heard of: it may hold anything
    w.update(0, marks(3, (2, minutes(90), False)), now=1.0)
    assert w.watermark(0, "default", 60, now=2.0) == at(20)
    w.update(0, marks(3, (1, minutes(40), True)), now=2.0)  # read to its end: holds nothing back
    assert w.watermark(0, "default", 60, now=3.0) == at(50)
    assert w.watermark(1, "default", 60, now=3.0) is None  # marks are kept per series partition
    assert not w.live(0)
    w.update(0, marks(3, (0, minutes(90), True), (2, minutes(95), True)), now=4.0)
    assert w.live(0)
    assert w.watermark(0, "default", 60, now=5.0) == at(95)  # all caught up: the newest read anywhere


def test_a_partition_holds_a_tenant_back_only_while_it_sends_that_tenants_lines() -> None:
    w = Watermarks(stale_after=30.0)
    w.update(0, marks(3, (0, minutes(50), False), (1, minutes(30, "acme"), False), (2, {}, False)), now=0.0)
    assert w.watermark(0, "default", 60, now=1.0) is None  # partition 2 has read nothing yet: it may hold anything
    w.update(0, marks(3, (2, minutes(40), False)), now=1.0)
    assert w.watermark(0, "default", 60, now=2.0) == at(40)  # partition 1 holds none of default's minutes
    assert w.watermark(0, "acme", 60, now=2.0) == at(30)
    assert w.watermark(0, "default", 3600, now=2.0) is None  # no hourly line read anywhere
    # Partition 1 stays busy (another tenant's backfill) with no new acme line: after a while it stops holding
    # acme back, and the newest acme minute read anywhere closes.
    for t in range(10, 60, 10):
        w.update(0, marks(3, (1, minutes(30, "acme") | minutes(t), False)), now=float(t))
    assert w.watermark(0, "acme", 60, now=55.0) == at(30)
    w.update(0, marks(3, (0, minutes(50) | minutes(45, "acme"), False)), now=56.0)
    assert w.watermark(0, "acme", 60, now=57.0) == at(45)


def test_a_partition_not_heard_of_for_a_while_stops_holding_back() -> None:
    w = Watermarks(stale_after=30.0)
    w.update(0, marks(2, (0, minutes(50), False)), now=0.0)
    assert w.watermark(0, "default", 60, now=29.0) is None
    assert w.watermark(0, "default", 60, now=31.0) == at(50)  # every partition silent: the newest read anywhere
    w.update(0, marks(2, (0, minutes(60), False)), now=40.0)
    assert w.watermark(0, "default", 60, now=41.0) == at(60)  # partition 1 never reported: no owner
    w.update(0, marks(2, (1, minutes(20), False)), now=42.0)
    assert w.watermark(0, "default", 60, now=43.0) == at(20)
    w.update(0, marks(2, (0, minutes(60), False)), now=70.0)
    assert w.watermark(0, "default", 60, now=73.0) == at(60)  # partition 1's owner went silent


def test_a_partition_taken_over_keeps_what_was_known_to_be_read() -> None:
    w = Watermarks()
    w.update(0, marks(1, (0, minutes(50), False)), now=0.0)
    w.update(0, marks(1, (0, minutes(10), False)), now=1.0)  # the new owner re-reads from the committed offset
    assert w.watermark(0, "default", 60, now=2.0) == at(50)
    w.forget([0])
    assert w.watermark(0, "default", 60, now=3.0) is None


def contribution_at(minute: int, cost: str = "1", n: int = 0) -> list[SeriesContribution]:
    return [c for c in contributions([usage(minute, cost, n=n)], SeriesSettings()) if c.series == "minute|total"]


def test_a_held_series_closes_on_the_watermark_not_on_its_own_data() -> None:
    (first,) = contribution_at(0)
    monitor = SeriesMonitor.for_contribution(first)
    monitor.add_held([first], None)
    for minute in range(1, 10):
        monitor.add_held(contribution_at(minute), None)  # watermark unknown: nothing closes
    assert monitor.points == 0 and len(monitor.buckets.open) == 10
    monitor.add_held(contribution_at(10), at(5))
    assert monitor.points == 4 and monitor.buckets.last_closed == at(3)  # up to the watermark less 2 buckets
    (lagging,) = contribution_at(4, "7", n=1)  # a lagging partition's line, still open
    monitor.add_held([lagging], at(5))
    assert monitor.buckets.open[at(4)].amount == Decimal(8) and monitor.buckets.late == 0
    assert monitor.buckets.closes_before(at(12)) and not monitor.buckets.closes_before(at(5))
    monitor.advance(at(12))
    assert monitor.points == 11 and monitor.buckets.late == 0


def test_held_buckets_are_capped_in_number_and_size_and_the_oldest_then_close_counted() -> None:
    buckets = BucketSeries(MINUTE)
    for minute in range(MAX_OPEN + 5):
        buckets.add(at(minute), Decimal(1), [f"r{minute}"], {}, own_clock=False)
    assert len(buckets.open) == MAX_OPEN + 5 and buckets.forced == 0  # bounded per message, not per line
    closed = buckets.close_overflow()
    assert len(closed) == 5 and len(buckets.open) == MAX_OPEN and buckets.forced == 5 and buckets.last_closed == at(4)
    big = BucketSeries(MINUTE)
    ids = [f"r{n}" for n in range(2_000)]
    for minute in range(20):
        big.add(at(minute), Decimal(1), ids, {f"resource_id=i-{n}": 1.0 for n in range(500)}, own_clock=False)
    big.close_overflow()
    assert 0 < len(big.open) < 20 and big.forced == 20 - len(big.open)
    assert len(json.dumps(big.state())) < 2 * MAX_OPEN_BYTES
    restored = BucketSeries.from_state(buckets.state())
    assert restored.forced == 5
    older = buckets.state()
    del older["forced"]  # a state written before the watermark
    assert BucketSeries.from_state(older).forced == 0


def test_a_series_message_carries_one_kind_of_content() -> None:
    message = SeriesMessage(marks=marks(4, (0, minutes(1), True)))
    assert message.series is None
    assert SeriesMessage.model_validate_json(message.model_dump_json()) == message
    verdict = AnomalyFeedback(anomaly_id="a", series="minute|total", verdict=FeedbackVerdict.PLANNED, given_at=T0)
    with pytest.raises(ValidationError, match="one of them"):
        SeriesMessage(feedback=verdict, marks=marks(4))


def test_the_worker_closes_held_series_on_the_watermark_and_pinned_ones_on_their_own_data() -> None:
    table: dict[str, dict[str, object]] = {}
    cache = MonitorCache(MonitorSettings())
    asked: list[tuple[str, int]] = []

    def watermark(tenant: str, granularity_s: int) -> datetime | None:
        asked.append((tenant, granularity_s))
        return None  # nothing known yet: held series keep every bucket open

    for minute in range(6):
        for c in contributions([usage(minute, "1")], SeriesSettings()):
            _apply(SeriesMessage(contributions=[c]), table, cache, MonitorSettings(), watermark=watermark)
    pinned = "minute|billing_account_id=111122223333|service=AmazonEC2"
    assert table[pinned]["points"] == 4  # closed on its own data, two buckets behind
    assert table["minute|total"]["points"] == 0 and table["minute|tag:team=checkout"]["points"] == 0
    assert set(asked) == {("default", 60)}
    (total,) = [c for c in contributions([usage(6, "1")], SeriesSettings()) if c.series == "minute|total"]
    _apply(SeriesMessage(contributions=[total]), table, cache, MonitorSettings(), watermark=lambda t, g: at(6))
    assert table["minute|total"]["points"] == 5


def test_a_worker_that_takes_a_partition_over_sweeps_the_held_series_it_restored() -> None:
    table: dict[str, dict[str, object]] = {}
    cache = MonitorCache(MonitorSettings())
    for c in contributions([usage(0, "1")], SeriesSettings()):
        _apply(SeriesMessage(contributions=[c]), table, cache, MonitorSettings(), watermark=lambda t, g: None)
    partition = key_partition(b"minute|total", 4)
    found = restored_held(list(table.items()), partition, 4)
    assert "minute|total" in found  # held, with its bucket open, on that partition
    assert all(not s.startswith("minute|billing_account_id") for s in found)  # closes on its own data
    assert all(key_partition(s.encode(), 4) == partition for s in found)


def test_a_series_many_lines_long_is_sent_as_several_messages_in_order() -> None:
    lines = [usage(minute, "1", n=n) for minute in range(30) for n in range(200)]
    (total,) = [[c for c in contributions(lines, SeriesSettings()) if c.series == "minute|total"]]
    messages = SeriesMessage.of(total, limit=50_000)
    assert len(messages) > 1
    assert [c for m in messages for c in m.contributions] == total  # every contribution, once, in order
    assert all(len(m.model_dump_json()) < 2 * 50_000 for m in messages)
    assert SeriesMessage.of(total[:1], limit=10) == [SeriesMessage(contributions=total[:1])]  # one is never split
