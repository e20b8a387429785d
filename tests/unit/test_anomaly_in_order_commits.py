"""`InOrder.processed` against faust's own commit bookkeeping (no broker): faust commits a partition only up to its
first offset not acked, and the messages read back by a plain consumer are never acked to faust, so without
`processed` the group's offset would stay before the first of them for good."""

from __future__ import annotations

from collections.abc import AsyncIterator

import faust
import pytest
from aiokafka.structs import ConsumerRecord
from faust.transport.conductor import Conductor
from faust.transport.consumer import Consumer
from faust.types import TP
from faust.types.tuples import Message

from services.anomaly.worker.in_order import InOrder

TOPIC = "outlay.usage.v1"
P0 = TP(TOPIC, 0)
DELIVERED = [0, 1, 2, 6, 7]  # acked by faust's stream
READ_BACK = [3, 4, 5]  # skipped by faust, read by InOrder's own consumer


def _message(offset: int) -> Message:
    return Message(TOPIC, 0, offset, 0.0, 0, None, b"k", b"v", None, tp=P0)


def _record(offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(TOPIC, 0, offset, 0, 0, b"k", b"v", None, 1, 1, ())


def _commit(app: faust.App) -> int | None:
    """What faust's commit does with its bookkeeping, the broker call left out (`Consumer.commit` ->
    `_filter_committable_offsets`, then `_commit_offsets` records what it committed). The group's offset after."""
    consumer = app.consumer
    assert isinstance(consumer, Consumer)  # the transport's real one, not a stand-in
    consumer._committed_offset.update(consumer._filter_committable_offsets({P0}))
    return consumer._committed_offset[P0]


@pytest.fixture
async def app() -> AsyncIterator[faust.App]:
    app = faust.App("t", broker="kafka://127.0.0.1:1", store="memory://", web_enabled=False)
    app.topics.add(app.topic(TOPIC, key_serializer="raw", value_serializer="raw"))
    assert isinstance(app.topics, Conductor)
    await app.topics._update_indices()  # what subscribing does: acks count for the topic from here
    assert app.topics.acks_enabled_for(TOPIC)
    yield app


def _deliver(app: faust.App) -> None:
    for offset in DELIVERED:
        assert app.consumer.ack(_message(offset))  # counted: an ack faust ignored would prove nothing below


async def test_without_processed_the_commit_stops_before_the_read_back_ones(app: faust.App) -> None:
    _deliver(app)
    assert _commit(app) == 3
    assert _commit(app) == 3  # and stays there: 6 and 7 wait behind the gap for good


async def test_processed_read_back_records_let_the_commit_pass_them(app: faust.App) -> None:
    in_order = InOrder(app, "127.0.0.1:1", "g")
    _deliver(app)
    await in_order.processed([_record(o) for o in READ_BACK])
    assert _commit(app) == 8


async def test_processed_after_faust_committed_up_to_the_gap(app: faust.App) -> None:
    """faust's periodic commit may run between the delivery of 0-2 and the read-back of 3-5."""
    in_order = InOrder(app, "127.0.0.1:1", "g")
    _deliver(app)
    assert _commit(app) == 3
    await in_order.processed([_record(o) for o in READ_BACK])
    assert _commit(app) == 8


async def test_faust_messages_are_left_to_their_events(app: faust.App) -> None:
    """Only records read back count: a faust message passed to `processed` is acked through its event, not here."""
    in_order = InOrder(app, "127.0.0.1:1", "g")
    _deliver(app)
    await in_order.processed([_message(o) for o in READ_BACK])
    assert _commit(app) == 3
