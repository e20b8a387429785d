"""A consumer or producer whose start is cut short (cancelled at shutdown, or failing while the broker is away), or
whose broker went away before it stopped, closes its client: aiokafka's tasks would otherwise go on retrying a broker
that is gone, for the life of the process. In the test session they did, on one event loop, until late tests timed
out."""

from __future__ import annotations

import asyncio

import pytest

from outlay.events import LedgerProgress, UsageRecord
from outlay.events.topics import LEDGER_PROGRESS
from outlay.kafka.consumer import BatchConsumer
from outlay.kafka.embedded_broker import EmbeddedBroker, free_port
from outlay.kafka.producer import EventProducer
from outlay.kafka.topics_admin import ensure_topics
from services.gateway.stream import TopicFollower


def _others() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}


async def _until_no_task_beyond(before: set[asyncio.Task[object]]) -> None:
    async with asyncio.timeout(10):
        while _others() - before:
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("after_s", [0.01, 0.05, 0.2])
async def test_a_consumer_cancelled_while_starting_leaves_no_task(broker: str, after_s: float) -> None:
    before = _others()
    started = asyncio.Event()

    async def consume() -> None:
        async with BatchConsumer(broker, UsageRecord, "cut-short"):
            started.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(consume())
    await asyncio.sleep(after_s)  # the point of the test: a cancel at some moment of the start, not a wait for one
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _until_no_task_beyond(before)
    assert not _others() - before


async def test_a_producer_whose_broker_is_away_leaves_no_task() -> None:
    before = _others()
    producer = EventProducer(f"127.0.0.1:{free_port()}")
    with pytest.raises(Exception):  # noqa: B017 - aiokafka's KafkaConnectionError; what matters is what is left
        await producer.start()
    await _until_no_task_beyond(before)
    assert not _others() - before


class _Follower(TopicFollower[LedgerProgress]):
    async def handle(self, events: list[LedgerProgress]) -> None:
        pass


async def test_a_follower_stopped_after_its_broker_went_away_leaves_no_task() -> None:
    """aiokafka's fetcher re-raises the cancellation of its pending requests on close, which skipped closing the
    client: `stop_consumer` closes it all the same."""
    before = _others()
    with EmbeddedBroker() as own:
        await ensure_topics(own.bootstrap_servers)
        follower = _Follower(own.bootstrap_servers, LEDGER_PROGRESS)
        task = asyncio.create_task(follower.run())
        async with asyncio.timeout(30):
            await follower.ready.wait()
        own.stop()
        async with asyncio.timeout(30):
            while follower.live:  # it has been asking the gone broker for a while
                await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await _until_no_task_beyond(before)
    assert not _others() - before
