"""Send what people decide to the services that act on it: verdicts on anomalies (`outlay.anomaly_feedback.v1`)
and decisions on plans (`outlay.plan_decisions.v1`).

The producer starts on the first event, not with the gateway: the API serves reads while the broker is away,
and an event that cannot be delivered is refused (503) rather than half recorded.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka.errors import KafkaError
from pydantic import BaseModel

from outlay.kafka.producer import EventProducer


class Undelivered(RuntimeError):
    """The event did not reach the broker; nothing was recorded."""


class EventSender:
    def __init__(
        self, bootstrap_servers: str | None, client_id: str = "outlay-gateway-events", timeout_seconds: float = 10.0
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        self._producer: EventProducer | None = None
        self._lock = asyncio.Lock()

    async def send(self, event: BaseModel) -> None:
        if self._bootstrap is None:
            raise Undelivered("no Kafka broker is configured (KAFKA_BOOTSTRAP_SERVERS)")
        try:
            async with asyncio.timeout(self.timeout_seconds):
                producer = await self._started()
                delivery = await producer.send(event)
                await delivery
        except (TimeoutError, OSError, KafkaError) as exc:
            raise Undelivered(f"the broker did not take it: {exc!r}") from exc

    async def _started(self) -> EventProducer:
        async with self._lock:
            if self._producer is None:
                producer = EventProducer(self._bootstrap or "", client_id=self._client_id)
                try:
                    await producer.start()
                except BaseException:
                    with contextlib.suppress(Exception):
                        await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
