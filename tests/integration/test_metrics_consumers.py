"""Consumer metrics on the real broker: messages in and out are counted per client and topic, and a group's lag
after each commit is the partition's high watermark minus the committed offset."""

from __future__ import annotations

from prometheus_client import REGISTRY

from outlay.events import UsageRecord
from outlay.kafka.consumer import BatchConsumer
from outlay.kafka.producer import EventProducer
from tests.unit.test_anomaly_series import usage


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_events_in_and_out_are_counted_and_lag_follows_the_commits(broker: str) -> None:
    lines = [usage(m, "1.0") for m in range(7)]  # one key: one partition
    sent_before = sample("outlay_events_total", client="metrics-test", topic="outlay.usage.v1", direction="out")
    async with EventProducer(broker, client_id="metrics-test") as producer:
        await producer.send_many(lines)
    sent = sample("outlay_events_total", client="metrics-test", topic="outlay.usage.v1", direction="out")
    assert sent - sent_before == 7
    async with BatchConsumer(broker, UsageRecord, "metrics-lag-test", max_records=3) as consumer:
        batch = await consumer.next_batch(timeout_ms=10_000)
        while not batch:
            batch = await consumer.next_batch(timeout_ms=1000)
        assert await consumer.commit(batch)
        [(tp, committed)] = batch.offsets.items()
        lag = sample(
            "outlay_consumer_lag_messages", group="metrics-lag-test", topic=tp.topic, partition=str(tp.partition)
        )
        assert lag == 7 - committed and committed == 3
        read = sample("outlay_events_total", client="metrics-lag-test", topic="outlay.usage.v1", direction="in")
        assert read == 3
