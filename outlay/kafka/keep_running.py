"""Background consumers keep going through broker and store outages (the gateway serves its API meanwhile; the
optimizer keeps its schedule)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from outlay.telemetry import metrics, tracing

if TYPE_CHECKING:
    from outlay.kafka.consumer import BatchConsumer

log = logging.getLogger(__name__)
E = TypeVar("E", bound=BaseModel)


async def keep_running(
    what: str, attempt: Callable[[], Awaitable[None]], on_failure: Callable[[], None] | None = None
) -> None:
    """Run `attempt` forever, again after each failure with a doubling backoff (0.5 s up to 10 s)."""
    backoff = 0.5
    while True:
        try:
            await attempt()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if on_failure is not None:
                on_failure()
            log.warning("%s failed (%s); retrying in %.1fs", what, exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)


async def consume_forever(
    what: str,
    consumer: Callable[[], BatchConsumer[E]],
    handle: Callable[[list[E]], Awaitable[None]],
    timeout_ms: int = 500,
) -> None:
    """A consumer group's loop: each batch handled (also an empty one: the handler may have timed work), then its
    offsets committed, so a crash re-delivers what was not handled (at least once); an outage starts a new
    consumer from `consumer()` after a back-off."""

    async def attempt() -> None:
        async with consumer() as started:
            while True:
                batch = await started.next_batch(timeout_ms=timeout_ms)
                if not batch:  # an empty poll: the handler's timed work only, neither traced nor timed
                    await handle(batch.events)
                    continue
                began = time.perf_counter()
                with tracing.batch_span(what, batch.headers, messages=len(batch.events)):
                    await handle(batch.events)
                await started.commit(batch)
                metrics.record_batch_seconds(what, time.perf_counter() - began)

    await keep_running(what, attempt)
