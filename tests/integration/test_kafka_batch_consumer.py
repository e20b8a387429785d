"""`BatchConsumer` as the anomaly worker's split stage uses it, on the real broker: a fetch hands its dead letters
back unsent (sent once the caller has taken the lines), a paused partition delivers nothing until resumed, a
partition read to its end is caught up, and a rebalance calls the listener before the partition moves, so what
it commits there is where the next member starts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from outlay.events import UsageRecord
from outlay.events.dead_letter import DeadLetter
from outlay.events.topics import INGEST_DLQ, USAGE
from outlay.kafka.consumer import BatchConsumer, ConsumedBatch, KafkaMessage, decode_messages
from outlay.kafka.embedded_broker import EmbeddedBroker
from outlay.kafka.producer import EventProducer
from outlay.kafka.topics_admin import ensure_topics
from tests.unit.test_anomaly_series import usage

WITHIN = 60.0  # seconds: group joins on the embedded broker take several


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + WITHIN
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"


async def dead_letters_on_the_broker(bootstrap: str) -> int:
    consumer = AIOKafkaConsumer(INGEST_DLQ.name, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(INGEST_DLQ.name) or set()
        ends = await consumer.end_offsets([TopicPartition(INGEST_DLQ.name, p) for p in parts])
        return sum(ends.values())
    finally:
        await consumer.stop()


def decode_usage(messages: Sequence[KafkaMessage]) -> tuple[list[UsageRecord], list[DeadLetter]]:
    return decode_messages(UsageRecord, messages)


async def test_the_split_stage_reader_on_the_real_broker() -> None:
    with EmbeddedBroker() as broker:
        bootstrap = broker.bootstrap_servers
        await ensure_topics(bootstrap)
        lines = [usage(m, "1.0") for m in range(6)]  # one key: one partition
        async with EventProducer(bootstrap) as producer:
            await producer.send_many(lines)
        raw = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await raw.start()
        await raw.send_and_wait(USAGE.name, b"{not json", key=lines[0].key)
        revoked: list[set[TopicPartition]] = []

        async def on_revoked(partitions: set[TopicPartition]) -> None:
            revoked.append(partitions)
            await first.commit(ConsumedBatch(offsets=dict.fromkeys(partitions & {tp}, 7)))

        first = BatchConsumer(
            bootstrap, UsageRecord, "split-reader-test", on_revoked=on_revoked, decode_in_thread=False
        )
        await first.start()
        try:
            read: list[UsageRecord] = []
            dead: list[DeadLetter] = []
            tp = TopicPartition("", -1)

            async def all_read() -> bool:
                nonlocal tp
                batch, records, its_dead = await first.next_batch_held(decode_usage, timeout_ms=500)
                read.extend(records or [])
                dead.extend(its_dead)
                if batch.offsets:
                    [tp] = batch.offsets
                return len(read) + len(dead) == 7

            await until(all_read, "the seven messages")
            assert [r.record_id for r in read] == [r.record_id for r in lines]
            assert len(dead) == 1 and await dead_letters_on_the_broker(bootstrap) == 0, "handed back, not sent"
            await first.send_dead_letters(dead)
            assert await dead_letters_on_the_broker(bootstrap) == 1
            assert (await first.caught_up()).get(tp) is True

            first.pause({tp})
            assert first.paused() == {tp}
            async with EventProducer(bootstrap) as producer:
                await producer.send_many([usage(m, "2.0") for m in (6, 7)])
            _batch, paused, _dead = await first.next_batch_held(decode_usage, timeout_ms=1500)
            assert not paused, "a paused partition delivered lines"
            first.resume({tp})
            assert first.paused() == set()
            more: list[UsageRecord] = []

            async def resumed() -> bool:
                _batch, records, _dead = await first.next_batch_held(decode_usage, timeout_ms=500)
                more.extend(records or [])
                return len(more) == 2

            await until(resumed, "the lines sent while paused")

            second = BatchConsumer(bootstrap, UsageRecord, "split-reader-test", decode_in_thread=False)
            joining = asyncio.create_task(second.start())

            async def handed_on() -> bool:
                await first.next_batch_held(decode_usage, timeout_ms=200)  # the first member takes part
                return any(tp in partitions for partitions in revoked)

            await until(handed_on, "the listener called before the partition moved")
            await joining
            try:
                committed = await second._consumer.committed(tp)  # what the next owner of the partition starts from
                assert committed == 7
            finally:
                await second.stop()
        finally:
            await first.stop()
            await raw.stop()
