"""Offsets outside a consumer's own reading: a group's committed offsets (admin API), and a range of one
partition read by a group-less consumer (which leaves the group's positions alone)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from outlay.kafka.consumer import stop_consumer


class GroupOffsets:
    """Reads `group`'s committed offsets; one admin connection, opened on first use."""

    def __init__(self, bootstrap_servers: str, group: str) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._group = group
        self._admin: AIOKafkaAdminClient | None = None

    async def committed(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int | None]:
        """Each (topic, partition)'s committed offset; None where the group has committed none."""
        wanted = [TopicPartition(topic, partition) for topic, partition in partitions]
        if self._admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap_servers, client_id=f"{self._group}-offsets")
            await admin.start()
            self._admin = admin
        found = await self._admin.list_consumer_group_offsets(self._group, partitions=wanted)
        return {
            (tp.topic, tp.partition): (found[tp].offset if tp in found and found[tp].offset >= 0 else None)
            for tp in wanted
        }

    async def close(self) -> None:
        if self._admin is not None:
            await self._admin.close()
            self._admin = None


async def read_range(
    bootstrap_servers: str, topic: str, partition: int, offsets: range, timeout_s: float = 10.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """The messages at `offsets` of one partition, in order (fewer if some no longer exist)."""
    tp = TopicPartition(topic, partition)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    found: list[ConsumerRecord[bytes, bytes]] = []
    try:
        await consumer.start()  # inside the try: a start cut short still stops the client
        consumer.assign([tp])
        consumer.seek(tp, offsets.start)
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(tp, timeout_ms=200)
            found += [r for r in batch.get(tp, []) if r.offset in offsets]
            if await consumer.position(tp) >= offsets.stop:
                break
    finally:
        await stop_consumer(consumer)
    return found
