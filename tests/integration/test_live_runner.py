"""run_live end to end through the real (embedded) broker: backfill, then one record set per minute."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaConsumer, TopicPartition

from outlay.events import UsageRecord
from outlay.events.topics import USAGE
from outlay.kafka.producer import EventProducer
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
