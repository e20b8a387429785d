"""`stop_consumer`: the client is closed whatever `stop()` raises; aiokafka's own cancellation passes for a shutdown
only when the calling task is being cancelled. (The real broker cases: tests/integration/test_kafka_start_cut_short.py.)"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from outlay.kafka.consumer import stop_consumer


class _Client:
    def __init__(self) -> None:
        self.closed = False

    async def close(self) -> None:
        self.closed = True


class _Consumer:
    """What aiokafka's consumer does with its broker gone: `stop()` re-raises its pending requests' cancellation."""

    def __init__(self, error: BaseException) -> None:
        self._client = _Client()
        self._error = error

    async def stop(self) -> None:
        raise self._error


async def test_an_inner_cancellation_is_not_a_shutdown_and_the_client_is_closed() -> None:
    consumer = _Consumer(asyncio.CancelledError())
    await stop_consumer(consumer)  # type: ignore[arg-type]
    assert consumer._client.closed


async def test_other_errors_propagate_after_the_client_is_closed() -> None:
    consumer = _Consumer(RuntimeError("broker gone"))
    with pytest.raises(RuntimeError):
        await stop_consumer(consumer)  # type: ignore[arg-type]
    assert consumer._client.closed


async def test_a_cancelled_task_stays_cancelled() -> None:
    consumer = _Consumer(asyncio.CancelledError())
    started = asyncio.Event()

    async def stopping() -> Any:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            await stop_consumer(consumer)  # type: ignore[arg-type]

    task = asyncio.create_task(stopping())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert consumer._client.closed
