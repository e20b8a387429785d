"""Background consumers keep going through broker and store outages (the gateway serves its API meanwhile; the
optimizer keeps its schedule)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


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
