"""A typed producer: events go to the topic that carries their type, keyed by their series identity."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from types import TracebackType
from typing import Protocol

from aiokafka import AIOKafkaProducer
from pydantic import BaseModel

from outlay.events.topics import topic_for


class KeyedEvent(Protocol):
    @property
    def key(self) -> bytes: ...

    def model_dump_json(self) -> str: ...


class EventProducer:
    """Wraps aiokafka with acks=all and lz4 batches.

    Idempotent/transactional producers are not used: the embedded broker rejects them, and every sink
    is idempotent on the record id, so at-least-once delivery is enough.
    """

    def __init__(self, bootstrap_servers: str, client_id: str = "outlay", linger_ms: int = 20) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            acks="all",
            compression_type="lz4",
            linger_ms=linger_ms,
            max_batch_size=512 * 1024,
            max_request_size=4 * 1024 * 1024,
        )

    async def start(self) -> EventProducer:
        await self._producer.start()
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
        topic = topic_for(type(event))
        keyed: KeyedEvent = event  # type: ignore[assignment]
        return await self._producer.send(topic.name, keyed.model_dump_json().encode(), key=keyed.key)

    async def send_many(self, events: Iterable[BaseModel]) -> int:
        futures = [await self.send(event) for event in events]
        if futures:
            await asyncio.gather(*futures)
        return len(futures)

    async def flush(self) -> None:
        await self._producer.flush()
