"""A typed producer: events go to the topic that carries their type, keyed by their series identity."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from types import TracebackType
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from pydantic import BaseModel

from outlay.events.topics import topic_for
from outlay.kafka.compression import use_fast_lz4
from outlay.telemetry import metrics, tracing


def key_partition(key: bytes, partitions: int) -> int:
    """The partition of a topic of `partitions` partitions that Kafka's default partitioner (aiokafka's, so ours
    and faust's producers) gives `key`."""
    every = list(range(partitions))
    return int(_PARTITIONER(key, every, every))


_PARTITIONER = DefaultPartitioner()


class KeyedEvent(Protocol):
    @property
    def key(self) -> bytes: ...

    def model_dump_json(self) -> str: ...


class EventProducer:
    """Wraps aiokafka with acks=all and lz4 batches (at LZ4's fast level: `outlay.kafka.compression`).

    Idempotent/transactional producers are not used: the embedded broker rejects them, and every sink
    is idempotent on the record id, so at-least-once delivery is enough.
    """

    def __init__(self, bootstrap_servers: str, client_id: str = "outlay", linger_ms: int = 20) -> None:
        use_fast_lz4()
        self._client_id = client_id
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            acks="all",
            compression_type="lz4",
            linger_ms=linger_ms,
            max_batch_size=512 * 1024,
            max_request_size=4 * 1024 * 1024,
        )
        self._partition_cache: dict[tuple[str, bytes], int] = {}

    async def start(self) -> EventProducer:
        try:
            await self._producer.start()
        except BaseException:
            # A start cut short would leave the client's tasks retrying (see BatchConsumer.start).
            with contextlib.suppress(Exception):
                await self._producer.stop()
            raise
        return self

    async def stop(self) -> None:
        await self._producer.stop()

    async def __aenter__(self) -> EventProducer:
        return await self.start()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def send(self, event: BaseModel) -> asyncio.Future[object]:
        """Queue one event; returns the delivery future (await it, or call flush)."""
        self._count_out([event])
        if not tracing.enabled():
            return await self._send(event, None)
        with tracing.span(f"publish {topic_for(type(event)).name}", tracing.SpanKind.PRODUCER):
            return await self._send(event, tracing.kafka_headers())

    async def _send(self, event: BaseModel, headers: list[tuple[str, bytes]] | None) -> asyncio.Future[object]:
        keyed: KeyedEvent = event  # type: ignore[assignment]
        value = keyed.model_dump_json().encode()
        return await self._producer.send(topic_for(type(event)).name, value, key=keyed.key, headers=headers)

    def _count_out(self, events: Iterable[BaseModel]) -> None:
        """Messages sent, counted once per call and topic (not per message: sends are a hot path)."""
        for topic, count in Counter(topic_for(type(event)).name for event in events).items():
            metrics.count_events(self._client_id, topic, "out", count)

    async def send_batch(self, events: Sequence[BaseModel]) -> list[asyncio.Future[object]]:
        """Queue many events as whole record batches, one per (topic, partition).

        Per message this skips aiokafka's per-send future and accumulator bookkeeping (about half the
        cost of `send` on the hot path). Partitions come from the same murmur2 partitioner `send`
        uses, so a key lands on the same partition whichever method sent it. Returns one delivery
        future per batch.
        """
        return await self._traced(len(events), self._encoded_events(events))

    async def send_encoded(self, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> list[asyncio.Future[object]]:
        """`send_batch` for messages already encoded: (key, value) pairs of one topic, exactly the bytes `send_batch`
        would make of their events (`services.ingest.sources.cur_columnar` builds them column-wise)."""
        return await self._traced(len(messages), ((topic, key, value) for key, value in messages))

    def _encoded_events(self, events: Iterable[BaseModel]) -> Iterator[tuple[str, bytes, bytes]]:
        for event in events:
            keyed: KeyedEvent = event  # type: ignore[assignment]
            yield topic_for(type(event)).name, keyed.key, keyed.model_dump_json().encode()

    async def _traced(self, count: int, messages: Iterable[tuple[str, bytes, bytes]]) -> list[asyncio.Future[object]]:
        if not tracing.enabled():
            return await self._send_batch(messages, [])
        with tracing.span("publish batch", tracing.SpanKind.PRODUCER, messages=count):
            # One context for the whole batch: its messages are one piece of work (a chunk of a file).
            return await self._send_batch(messages, tracing.kafka_headers())

    async def _send_batch(
        self, messages: Iterable[tuple[str, bytes, bytes]], headers: list[tuple[str, bytes]]
    ) -> list[asyncio.Future[object]]:
        """Queue (topic, key, value) messages as whole record batches, one per (topic, partition)."""
        builders: dict[tuple[str, int], object] = {}
        futures: list[asyncio.Future[object]] = []
        counts: Counter[str] = Counter()
        cached = self._partition_cache.get
        for topic, key, value in messages:
            counts[topic] += 1
            partition = cached((topic, key))
            if partition is None:
                partition = await self._partition(topic, key)
            builder = builders.get((topic, partition))
            if builder is None:
                builder = builders[(topic, partition)] = self._producer.create_batch()
            if builder.append(key=key, value=value, timestamp=None, headers=headers) is None:  # type: ignore[attr-defined]
                futures.append(await self._producer.send_batch(builder, topic, partition=partition))
                builder = builders[(topic, partition)] = self._producer.create_batch()
                builder.append(key=key, value=value, timestamp=None, headers=headers)  # type: ignore[attr-defined]
        for (topic, partition), builder in builders.items():
            futures.append(await self._producer.send_batch(builder, topic, partition=partition))
        for topic, count in counts.items():  # (counted here: the loop above already knows each topic)
            metrics.count_events(self._client_id, topic, "out", count)
        return futures

    async def _partition(self, topic: str, key: bytes) -> int:
        cached = self._partition_cache.get((topic, key))
        if cached is not None:
            return cached
        partition = key_partition(key, len(await self._producer.partitions_for(topic)))
        if len(self._partition_cache) > 100_000:  # keys are series ids; bound the cache anyway
            self._partition_cache.clear()
        self._partition_cache[(topic, key)] = partition
        return partition

    async def send_many(self, events: Iterable[BaseModel]) -> int:
        events = list(events)
        self._count_out(events)
        with tracing.span("publish many", tracing.SpanKind.PRODUCER):
            headers = tracing.kafka_headers() or None
            futures = [await self._send(event, headers) for event in events]
        if futures:
            await asyncio.gather(*futures)
        return len(futures)

    async def flush(self) -> None:
        await self._producer.flush()
