"""The ledger service end to end: real embedded broker, real PostgreSQL (and SQLite through main.run)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from outlay.events import DeadLetter, LedgerProgress, UsageRecord
from outlay.events.topics import INGEST_DLQ, LEDGER_PROGRESS, USAGE
from outlay.kafka.producer import EventProducer
from outlay.settings import Settings
from services.ingest.ledger.consumer import LedgerStats, run_ledger
from services.ingest.ledger.main import run
from tests.integration.ledger_support import T0, expected_nanos, row_count, store_totals, usage

TIMEOUT = 60.0


async def wait_for(condition: Callable[[], Awaitable[bool]], what: str, within: float = TIMEOUT) -> None:
    """Poll `condition` until it holds; fail with `what` after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.1)


async def produce(bootstrap: str, records: list[UsageRecord]) -> None:
    async with EventProducer(bootstrap) as producer:
        await producer.send_many(records)


async def read_topic(bootstrap: str, topic: str, expected: int) -> list[bytes]:
    """Read a topic from the beginning (no group) until `expected` messages arrived."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    values: list[bytes] = []
    try:
        deadline = asyncio.get_running_loop().time() + TIMEOUT
        while len(values) < expected and asyncio.get_running_loop().time() < deadline:
            for msgs in (await consumer.getmany(timeout_ms=500)).values():
                values.extend(m.value for m in msgs if m.value is not None)
    finally:
        await consumer.stop()
    return values


class Ledger:
    """One run of the ledger as a background task, with the progress events it reported."""

    def __init__(self, broker: str, store_url: str, group: str, batch_size: int = 500) -> None:
        self.stop = asyncio.Event()
        self.progress: list[LedgerProgress] = []
        self.task: asyncio.Task[LedgerStats] = asyncio.create_task(
            run_ledger(broker, store_url, group, self.stop, self.progress.append, batch_size=batch_size)
        )

    @property
    def seen(self) -> int:
        """Records the ledger has written or recognised as duplicates, in committed batches."""
        return sum(p.written + p.duplicates for p in self.progress)

    async def finish(self) -> LedgerStats:
        self.stop.set()
        return await asyncio.wait_for(self.task, TIMEOUT)


async def test_ledger_writes_every_record_once_and_reports_progress(broker: str, store_url: str) -> None:
    records = [usage(i) for i in range(3000)] + [usage(5000 + i, hours=24) for i in range(20)]
    await produce(broker, records)
    ledger = Ledger(broker, store_url, "ledger-e2e")
    try:
        await wait_for(lambda: _rows_at_least(store_url, len(records)), f"{len(records)} rows")
        await wait_for(_async(lambda: ledger.seen >= len(records)), "progress for every record")
    finally:
        stats = await ledger.finish()
    totals = await store_totals(store_url)
    billed, effective, listed = expected_nanos(records)
    assert totals.rows == len(records)
    assert totals.hour[:3] == totals.day[:3] == (billed, effective, listed)
    assert stats.written == len(records) and stats.duplicates == 0 and stats.dead_letters == 0
    assert sum(p.written for p in ledger.progress) == len(records)
    assert min(p.period_start for p in ledger.progress) == T0
    assert max(p.period_end for p in ledger.progress) == max(r.charge_period_end for r in records)
    assert all(p.cost_kinds == ["billed"] for p in ledger.progress)
    # The progress events went to their topic too.
    published = await read_topic(broker, LEDGER_PROGRESS.name, len(ledger.progress))
    assert sum(LedgerProgress.model_validate_json(v).written for v in published) == len(records)


async def test_restart_and_replay_neither_lose_nor_double_count(broker: str, store_url: str) -> None:
    n = 4000
    records = [usage(i) for i in range(n)]
    first_half, second_half = records[: n // 2], records[n // 2 :]
    await produce(broker, first_half)
    ledger = Ledger(broker, store_url, "ledger-restart", batch_size=300)
    try:
        # Stop part-way: after some batches were committed, not necessarily all of them.
        await wait_for(_async(lambda: ledger.seen >= 600), "some committed batches")
    finally:
        first = await ledger.finish()
    assert 600 <= first.written <= len(first_half)
    assert await row_count(store_url) == first.written

    replayed = first_half[:700]  # already written by the first run: must not count twice
    await produce(broker, second_half + replayed)
    ledger = Ledger(broker, store_url, "ledger-restart", batch_size=300)
    try:
        await wait_for(lambda: _rows_at_least(store_url, n), f"{n} rows")
        # Everything after the first run's last commit: the rest of the first half, the second half
        # and the replayed records.
        expected_seen = len(first_half) - first.written - first.duplicates + len(second_half) + len(replayed)
        await wait_for(_async(lambda: ledger.seen >= expected_seen), "the replay to be consumed")
    finally:
        second = await ledger.finish()
    assert first.written + second.written == n
    assert second.duplicates >= len(replayed)
    totals = await store_totals(store_url)
    billed, effective, listed = expected_nanos(records)
    assert totals.rows == n
    assert totals.hour == totals.day == (billed, effective, listed, n)


async def test_undecodable_messages_go_to_the_dlq_and_the_ledger_goes_on(broker: str, store_url: str) -> None:
    good = [usage(i) for i in range(50)]
    bad_currency = usage(900).model_dump(mode="json") | {"currency": "XXX"}
    raw = AIOKafkaProducer(bootstrap_servers=broker)
    await raw.start()
    try:
        await raw.send_and_wait(USAGE.name, b"this is not json", key=b"k")
        await raw.send_and_wait(USAGE.name, json.dumps(bad_currency).encode(), key=b"k")
    finally:
        await raw.stop()
    await produce(broker, good)
    ledger = Ledger(broker, store_url, "ledger-dlq")
    try:
        await wait_for(lambda: _rows_at_least(store_url, len(good)), "the valid records")
    finally:
        stats = await ledger.finish()
    assert await row_count(store_url) == len(good)
    assert stats.dead_letters == 2
    letters = [DeadLetter.model_validate_json(v) for v in await read_topic(broker, INGEST_DLQ.name, 2)]
    assert len(letters) == 2
    assert all(letter.file.startswith(f"kafka://{USAGE.name}/") for letter in letters)
    reasons = " | ".join(letter.reason for letter in letters)
    assert "currency" in reasons
    assert any(letter.raw.get("value") == "this is not json" for letter in letters)


async def test_service_entrypoint_runs_on_sqlite(broker: str, sqlite_url: str) -> None:
    """`main.run` (what `outlay services run ledger` calls) migrates, consumes and stops cleanly."""
    records = [usage(i, start=T0 + timedelta(days=i % 3)) for i in range(200)]
    await produce(broker, records)
    settings = Settings(KAFKA_BOOTSTRAP_SERVERS=broker, DATABASE_URL=sqlite_url, OUTLAY_LEDGER_GROUP="ledger-main")
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop))
    try:
        await wait_for(lambda: _rows_at_least(sqlite_url, len(records)), "rows in SQLite")
    finally:
        stop.set()
        stats = await asyncio.wait_for(task, TIMEOUT)
    assert stats.written == len(records)
    totals = await store_totals(sqlite_url)
    assert totals.hour[:3] == totals.day[:3] == expected_nanos(records)


async def _rows_at_least(url: str, n: int) -> bool:
    return await row_count(url) >= n


def _async(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def wrapper() -> bool:
        return check()

    return wrapper
