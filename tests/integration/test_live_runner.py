"""run_live end to end through the real (embedded) broker: backfill, then one record set per minute."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from outlay.events import UsageRecord
from outlay.events.topics import USAGE
from outlay.kafka.producer import EventProducer
from services.ingest.live.generator import CompanyProfile, generate
from services.ingest.live.profiles import demo_company
from services.ingest.live.runner import LiveStats, run_live

NOW = datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)


async def _consume_until(
    broker: str, done: Callable[[list[UsageRecord]], bool], within: float = 30.0
) -> list[UsageRecord]:
    """Read outlay.usage.v1 from the beginning until `done(records)` holds (or fail after `within` s)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=broker, enable_auto_commit=False)
    await consumer.start()
    records: list[UsageRecord] = []
    try:
        parts = [TopicPartition(USAGE.name, p) for p in sorted(consumer.partitions_for_topic(USAGE.name) or [])]
        if not parts:
            await consumer.force_metadata_update()
            parts = [TopicPartition(USAGE.name, p) for p in sorted(consumer.partitions_for_topic(USAGE.name) or [])]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        deadline = time.monotonic() + within
        while not done(records):
            assert time.monotonic() < deadline, f"condition not met after {within}s ({len(records)} records)"
            batches = await consumer.getmany(timeout_ms=200)
            for messages in batches.values():
                records.extend(UsageRecord.model_validate_json(m.value) for m in messages if m.value)
    finally:
        await consumer.stop()
    return records


async def test_generator_backfills_then_streams_minutes(broker: str) -> None:
    full = demo_company(seed=3)
    profile = dataclasses.replace(full, services=full.services[:2])  # web + api: 8 series
    series = len(profile.series())
    stop = asyncio.Event()
    stats = LiveStats()
    async with EventProducer(broker) as producer:
        task = asyncio.create_task(
            run_live(producer, "generator", stop, backfill_days=1, clock=lambda: NOW, speedup=600.0,
                     profile=profile, stats=stats)
        )  # fmt: skip

        def three_live_minutes(records: list[UsageRecord]) -> bool:
            return len({r.charge_period_start for r in records if r.minutes == 1}) >= 3

        try:
            records = await _consume_until(broker, three_live_minutes)
        finally:
            stop.set()
            result = await asyncio.wait_for(task, timeout=30)

    hourly = [r for r in records if r.minutes == 60]
    assert len(hourly) == 24 * series
    assert min(r.charge_period_start for r in hourly) == NOW.replace(second=0) - timedelta(days=1)
    assert max(r.charge_period_end for r in hourly) == datetime(2026, 6, 1, 12, tzinfo=UTC)
    live = sorted({r.charge_period_start for r in records if r.minutes == 1})
    assert live[:3] == [datetime(2026, 6, 1, 12, m, tzinfo=UTC) for m in range(3)]  # contiguous from 12:00
    per_minute = {m: sum(1 for r in records if r.charge_period_start == m and r.minutes == 1) for m in live[:3]}
    assert set(per_minute.values()) == {series}
    assert len({r.record_id for r in records}) == len(records)
    assert result is stats and stats.backfilled == 24 * series and stats.minutes >= 3


async def test_stop_ends_the_loop_promptly(broker: str) -> None:
    full = demo_company(seed=3)
    profile = dataclasses.replace(full, services=full.services[:1])
    stop = asyncio.Event()
    stats = LiveStats()
    almost = datetime(2026, 6, 1, 12, 0, 59, 900000, tzinfo=UTC)
    async with EventProducer(broker) as producer:
        # Real-time speed: after the first minute the next one is a minute away; only `stop` ends it sooner.
        task = asyncio.create_task(
            run_live(
                producer,
                "generator",
                stop,
                backfill_days=0,
                clock=lambda: almost,
                profile=profile,
                stats=stats,
            )
        )
        deadline = time.monotonic() + 10
        while stats.minutes < 1:
            assert time.monotonic() < deadline and not task.done(), "first minute not emitted"
            await asyncio.sleep(0.02)
        started = time.monotonic()
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert time.monotonic() - started < 5
    assert (stats.backfilled, stats.minutes) == (0, 1)
    assert stats.last_minute == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def _run_until(
    producer: EventProducer,
    profile: CompanyProfile,
    state_dir: Path,
    start: datetime,
    done: Callable[[LiveStats], bool],
) -> LiveStats:
    """One generator run on a fast simulated clock starting at `start`, stopped once `done(stats)` holds."""
    stop = asyncio.Event()
    stats = LiveStats()
    task = asyncio.create_task(
        run_live(producer, "generator", stop, backfill_days=1, clock=lambda: start, speedup=6000.0,
                 profile=profile, stats=stats, state_dir=state_dir)
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not done(stats):
        assert time.monotonic() < deadline and not task.done(), f"run from {start} stuck at {stats}"
        await asyncio.sleep(0.01)
    stop.set()
    return await asyncio.wait_for(task, timeout=10)


async def test_generator_restart_counts_every_minute_once(broker: str, tmp_path: Path) -> None:
    # The reviewer's case: stream 10:30 -> 12:45, restart at 13:10. Before the fix the restart re-sent
    # 10:00-13:00 as hourly records next to the minutes already streamed, doubling those hours.
    full = demo_company(seed=4)
    profile = dataclasses.replace(full, services=tuple(s for s in full.services if s.name in ("assets", "lake")))
    day = datetime(2026, 6, 1, tzinfo=UTC)
    async with EventProducer(broker) as producer:
        first = await _run_until(
            producer, profile, tmp_path, day + timedelta(hours=10, minutes=30),
            lambda s: s.last_minute is not None and s.last_minute >= day + timedelta(hours=12, minutes=44),
        )  # fmt: skip
        second = await _run_until(producer, profile, tmp_path, day + timedelta(hours=13, minutes=10),
                                  lambda s: s.minutes >= 3)  # fmt: skip
    sent = first.backfilled + first.records + second.backfilled + second.records
    records = await _consume_until(broker, lambda rs: len(rs) >= sent)
    ledger = {r.record_id: r for r in records}  # the ledger's dedupe
    assert len(ledger) < len(records)  # the restart re-sent records, with the same ids

    end = day + timedelta(hours=13, minutes=10 + second.minutes)
    covered: Counter[tuple[str, datetime]] = Counter()
    for r in ledger.values():
        minute = r.charge_period_start
        while minute < r.charge_period_end:
            covered[(r.resource_id or "", minute)] += 1
            minute += timedelta(minutes=1)
    expected = {
        (s.resource_id, day + timedelta(hours=10) - timedelta(days=1) + timedelta(minutes=i))
        for s in profile.series()
        for i in range(int((end - day - timedelta(hours=10) + timedelta(days=1)) / timedelta(minutes=1)))
    }
    assert set(covered) == expected and set(covered.values()) == {1}
    # 10:00-13:00 holds the minute records' cost only, which is the generator's cost for those hours.
    hours = day + timedelta(hours=10), day + timedelta(hours=13)
    in_window = [r for r in ledger.values() if hours[0] <= r.charge_period_start < hours[1]]
    assert {r.minutes for r in in_window} == {1}
    assert sum(r.billed_cost for r in in_window) == sum(r.billed_cost for r in generate(profile, *hours))
    assert (tmp_path / f"generator-{profile.seed}.anchor").exists()
