"""Send a person's verdict on an anomaly to its series' detector (`outlay.anomaly_feedback.v1`).

The producer starts on the first verdict, not with the gateway: the API serves reads while the broker
is away, and a verdict that cannot be delivered is refused (503) rather than half recorded.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka.errors import KafkaError

from outlay.events import AnomalyFeedback
from outlay.kafka.producer import EventProducer


class FeedbackUndelivered(RuntimeError):
    """The verdict did not reach the broker; nothing was recorded."""


class FeedbackSender:
    def __init__(
        self, bootstrap_servers: str | None, client_id: str = "outlay-gateway-feedback", timeout_seconds: float = 10.0
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        self._producer: EventProducer | None = None
        self._lock = asyncio.Lock()

    async def send(self, feedback: AnomalyFeedback) -> None:
        if self._bootstrap is None:
            raise FeedbackUndelivered("no Kafka broker is configured (KAFKA_BOOTSTRAP_SERVERS)")
        try:
            async with asyncio.timeout(self.timeout_seconds):
                producer = await self._started()
                delivery = await producer.send(feedback)
                await delivery
        except (TimeoutError, OSError, KafkaError) as exc:
            raise FeedbackUndelivered(f"the broker did not take the verdict: {exc!r}") from exc

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
