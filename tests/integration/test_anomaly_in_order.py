"""The worker's stages read each partition once, in order, on the real broker: a message faust did not deliver
is read back (from the group's committed offset on, for the first one) before the message that showed it
missing, and repeats are passed over."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faust.types import TP

from services.anomaly.worker.in_order import InOrder

TOPIC = "outlay.usage.v1"


@dataclass
class Delivered:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @property
    def tp(self) -> TP:
        return TP(self.topic, self.partition)


async def _earliest(*tps: TP) -> dict[TP, int]:
    return dict.fromkeys(tps, 0)


def event(offset: int) -> Any:
    return SimpleNamespace(message=Delivered(TOPIC, 2, offset, b"k", f"line {offset}".encode()))


async def test_missing_messages_are_read_back_in_order_and_repeats_passed_over(broker: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=broker)
    await producer.start()
    for n in range(8):
        await producer.send_and_wait(TOPIC, f"line {n}".encode(), key=b"k", partition=2)
    await producer.stop()
    # The group committed offset 2 before it stopped: the restarted stage expects offset 2 first.
    member = AIOKafkaConsumer(TOPIC, bootstrap_servers=broker, group_id="outlay-anomaly", enable_auto_commit=False)
    await member.start()
    await member.commit({TopicPartition(TOPIC, 2): 2})
    await member.stop()
    app = SimpleNamespace(consumer=SimpleNamespace(earliest_offsets=_earliest))
    in_order = InOrder(app, broker, "outlay-anomaly")  # type: ignore[arg-type]
    try:
        first = await in_order.messages([event(3), event(4), event(6)])
        again = await in_order.messages([event(5), event(6), event(7)])
    finally:
        await in_order.close()
    assert [(m.offset, m.value) for m in first] == [(n, f"line {n}".encode()) for n in range(2, 7)]
    assert [m.offset for m in again] == [7]
