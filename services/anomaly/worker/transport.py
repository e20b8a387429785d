"""faust's aiokafka transport with a short fetch wait, registered as the `outlaykafka://` broker scheme.

faust builds its consumer with a fixed `fetch_max_wait_ms=1500`: when a fetch finds no new data the broker may
hold it that long. Kafka answers as soon as data arrives, but a broker that does not (the embedded one) then
adds up to 1.5 s to each hop of the worker — measured: p50 from usage produced to anomaly at a WebSocket client
went from 1.2 s to 0.17 s with a 50 ms wait (`make bench-anomaly`). An idle worker sends a few more fetches.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

FETCH_MAX_WAIT_MS = 100
SCHEME = "outlaykafka"


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads it when the consumer starts, which is after this returns.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    Consumer = _Consumer
