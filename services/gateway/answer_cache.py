"""Rendered cost answers kept until the ledger commits more of their tenant's rows.

A dashboard asks the same questions again and again (every viewer, every refresh) while the ledger changes a
tenant's costs only when it commits a batch, and it says so on `outlay.ledger.progress.v1`. The gateway's progress
follower calls `invalidate` with the tenants of each progress event, which ends every answer of those tenants; an
answer is also dropped after `max_age` seconds, so one missed event (a progress event lost after its commit) costs
at most that much staleness. The cache serves nothing while the follower is not positioned on the topic (broker
down, or no broker configured): events may be passing unseen. When it positions again, `invalidate_all` starts over.

Concurrent misses for the same answer share one computation (a dashboard opened by ten people at once costs one
query). Entries are bounded in bytes, least recently used first out.

Domain-free: keys and bodies are opaque; the caller says which tenant an answer belongs to.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass

# One answer may take at most this share of the cache: a handful of huge answers would otherwise evict the rest.
LARGEST_SHARE = 4


@dataclass(frozen=True, slots=True)
class _Entry:
    body: bytes
    generation: tuple[int, int]  # (all-tenant epoch, the tenant's generation) when the computation started
    stored_at: float


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    shared: int = 0  # misses that waited for a computation another request had started
    invalidations: int = 0


class AnswerCache:
    """Answer bodies per (tenant, key); see the module doc for when they end."""

    def __init__(
        self,
        *,
        max_age: float,
        max_bytes: int,
        active: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_age = max_age
        self._max_bytes = max_bytes
        self._active = active
        self._clock = clock
        self._entries: OrderedDict[tuple[str, Hashable], _Entry] = OrderedDict()
        self._bytes = 0
        self._epoch = 0
        self._generations: dict[str, int] = {}
        self._inflight: dict[tuple[str, Hashable, tuple[int, int]], asyncio.Task[bytes]] = {}
        self.stats = CacheStats()

    @property
    def enabled(self) -> bool:
        return self._max_age > 0 and self._max_bytes > 0 and self._active()

    def attach(self, active: Callable[[], bool]) -> None:
        """Serve only while `active()` holds (the progress follower is positioned on its topic)."""
        self._active = active

    def invalidate(self, tenant_ids: Iterable[str]) -> None:
        """The ledger committed rows of these tenants: their answers are over."""
        for tenant_id in set(tenant_ids):
            self._generations[tenant_id] = self._generations.get(tenant_id, 0) + 1
            for key in [k for k in self._entries if k[0] == tenant_id]:
                self._drop(key)
        self.stats.invalidations += 1

    def invalidate_all(self) -> None:
        self._epoch += 1
        self._entries.clear()
        self._bytes = 0
        self.stats.invalidations += 1

    async def get(self, tenant_id: str, key: Hashable, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        """The cached answer, or `compute()`'s (stored when nothing has ended it meanwhile)."""
        if not self.enabled:
            return await compute()
        slot = (tenant_id, key)
        generation = (self._epoch, self._generations.get(tenant_id, 0))
        entry = self._entries.get(slot)
        if entry is not None:
            if entry.generation == generation and self._clock() - entry.stored_at <= self._max_age:
                self._entries.move_to_end(slot)
                self.stats.hits += 1
                return entry.body
            self._drop(slot)
        self.stats.misses += 1
        flight = (tenant_id, key, generation)
        task = self._inflight.get(flight)
        if task is None:
            # A task of its own: a caller that goes away (client disconnect) does not cancel the others' answer.
            task = asyncio.ensure_future(self._compute(slot, generation, compute))
            self._inflight[flight] = task
            task.add_done_callback(lambda done: self._landed(flight, done))
        else:
            self.stats.shared += 1
        return await asyncio.shield(task)

    async def _compute(
        self, slot: tuple[str, Hashable], generation: tuple[int, int], compute: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        started = self._clock()
        body = await compute()
        # Stored only if no commit of this tenant was announced while it ran (its rows may predate the commit).
        current = (self._epoch, self._generations.get(slot[0], 0))
        if current == generation and self.enabled and len(body) * LARGEST_SHARE <= self._max_bytes:
            self._store(slot, _Entry(body, generation, started))
        return body

    def _landed(self, flight: tuple[str, Hashable, tuple[int, int]], done: asyncio.Task[bytes]) -> None:
        self._inflight.pop(flight, None)
        if not done.cancelled():
            with contextlib.suppress(BaseException):
                done.exception()  # retrieved here: every waiter may have gone away

    def _store(self, slot: tuple[str, Hashable], entry: _Entry) -> None:
        self._drop(slot)
        self._entries[slot] = entry
        self._bytes += len(entry.body)
        while self._bytes > self._max_bytes and self._entries:
            self._drop(next(iter(self._entries)))

    def _drop(self, slot: tuple[str, Hashable]) -> None:
        entry = self._entries.pop(slot, None)
        if entry is not None:
            self._bytes -= len(entry.body)
