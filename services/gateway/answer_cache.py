"""Rendered cost answers kept until the ledger commits rows of their tenant in their time range.

A dashboard asks the same questions again and again (every viewer, every refresh) while the ledger changes a
tenant's costs only when it commits a batch, and says so on `outlay.ledger.progress.v1` with the batch's tenants
and charge period. The gateway's progress follower calls `invalidate` with each (tenant, period), which ends that
tenant's answers whose time range overlaps the period (an answer for last quarter outlives today's live minutes;
a restated bill for last quarter ends it). An answer is also dropped after `max_age` seconds, so a lost event
(the ledger committed, then could not publish) costs at most that much staleness.

The cache serves nothing while the follower has not heard from the broker lately (`active`): commits may be
passing unseen. When it hears again, `invalidate_all` starts over.

Concurrent misses for the same answer share one computation (a dashboard opened by ten people at once costs one
query); an answer whose computation overlapped a commit in its range is served, not kept. Entries are bounded in
bytes (body plus a fixed overhead per entry; keys are digests), least recently used first out.

Domain-free: the caller gives each answer its tenant, an opaque key and the time range it covers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime

# One answer may take at most this share of the cache: a handful of huge answers would otherwise evict the rest.
LARGEST_SHARE = 4
ENTRY_OVERHEAD = 512  # bytes counted per entry besides its body: key digest, bookkeeping, the index
COMMITS_KEPT = 256  # per tenant: commits remembered to judge computations that ran across them

Span = tuple[datetime, datetime]  # [start, end), naive UTC
Commit = tuple[str, datetime, datetime]  # (tenant, period start, period end), naive UTC


@dataclass(frozen=True, slots=True)
class _Entry:
    body: bytes
    span: Span
    epoch: int
    stored_at: float

    @property
    def size(self) -> int:
        return len(self.body) + ENTRY_OVERHEAD


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    shared: int = 0  # misses that waited for a computation another request had started
    invalidations: int = 0  # answers ended by a commit in their range
    commits: int = 0  # commits announced


def _overlaps(span: Span, start: datetime, end: datetime) -> bool:
    return start < span[1] and end > span[0]


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
        self._entries: OrderedDict[tuple[str, bytes], _Entry] = OrderedDict()  # least recently used first
        self._by_tenant: dict[str, set[bytes]] = {}
        self._bytes = 0
        self._epoch = 0
        self._seq = 0  # commits announced so far
        self._commits: dict[str, deque[tuple[int, datetime, datetime]]] = {}
        # Computations under way: (tenant, digest, epoch) -> (the task, the commit number when it started)
        self._inflight: dict[tuple[str, bytes, int], tuple[asyncio.Task[bytes], int]] = {}
        self.stats = CacheStats()

    @property
    def enabled(self) -> bool:
        return self._max_age > 0 and self._max_bytes > 0 and self._active()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def attach(self, active: Callable[[], bool]) -> None:
        """Serve only while `active()` holds (the progress follower hears from the broker)."""
        self._active = active

    def invalidate(self, commits: Iterable[Commit]) -> None:
        """The ledger committed rows of these tenants over these periods: answers overlapping them are over."""
        for tenant_id, start, end in commits:
            self._seq += 1
            self.stats.commits += 1
            log = self._commits.setdefault(tenant_id, deque(maxlen=COMMITS_KEPT))
            log.append((self._seq, start, end))
            for digest in list(self._by_tenant.get(tenant_id, ())):
                entry = self._entries.get((tenant_id, digest))
                if entry is not None and _overlaps(entry.span, start, end):
                    self._drop((tenant_id, digest))
                    self.stats.invalidations += 1

    def invalidate_all(self) -> None:
        self._epoch += 1
        self._entries.clear()
        self._by_tenant.clear()
        self._bytes = 0

    async def get(self, tenant_id: str, key: Hashable, span: Span, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        """The kept answer, or `compute()`'s (kept when no commit in `span` was announced while it ran)."""
        if not self.enabled:
            return await compute()
        # A digest, not the key: a key may hold whatever a caller put in its filters.
        digest = hashlib.blake2b(repr(key).encode(), digest_size=16).digest()
        slot = (tenant_id, digest)
        entry = self._entries.get(slot)
        if entry is not None:
            if entry.epoch == self._epoch and self._clock() - entry.stored_at <= self._max_age:
                self._entries.move_to_end(slot)
                self.stats.hits += 1
                return entry.body
            self._drop(slot)
        self.stats.misses += 1
        flight = (tenant_id, digest, self._epoch)
        running = self._inflight.get(flight)
        # Joined only if no commit in its range was announced since it started: a caller asking after a commit
        # gets an answer that includes it.
        if running is not None and not self._committed_since(tenant_id, running[1], span):
            self.stats.shared += 1
            return await asyncio.shield(running[0])
        # A task of its own: a caller that goes away (client disconnect) does not cancel the others' answer.
        task = asyncio.ensure_future(self._compute(slot, span, compute))
        self._inflight[flight] = (task, self._seq)
        task.add_done_callback(lambda done: self._landed(flight, done))
        return await asyncio.shield(task)

    async def _compute(self, slot: tuple[str, bytes], span: Span, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        epoch, seq, started = self._epoch, self._seq, self._clock()
        body = await compute()
        if (
            epoch == self._epoch
            and self.enabled
            and not self._committed_since(slot[0], seq, span)
            and (len(body) + ENTRY_OVERHEAD) * LARGEST_SHARE <= self._max_bytes
        ):
            self._store(slot, _Entry(body, span, epoch, started))
        return body

    def _committed_since(self, tenant_id: str, seq: int, span: Span) -> bool:
        """Whether a commit of `tenant_id` in `span` was announced after commit number `seq` (or may have been:
        the tenant's log no longer reaches back that far)."""
        log = self._commits.get(tenant_id)
        if not log or log[-1][0] <= seq:
            return False
        if len(log) == log.maxlen and log[0][0] > seq:
            return True  # commits after `seq` may have left the log
        return any(n > seq and _overlaps(span, start, end) for n, start, end in log)

    def _landed(self, flight: tuple[str, bytes, int], done: asyncio.Task[bytes]) -> None:
        running = self._inflight.get(flight)
        if running is not None and running[0] is done:  # (a newer computation may have taken the slot)
            del self._inflight[flight]
        if not done.cancelled():
            with contextlib.suppress(BaseException):
                done.exception()  # retrieved here: every waiter may have gone away

    def _store(self, slot: tuple[str, bytes], entry: _Entry) -> None:
        self._drop(slot)
        self._entries[slot] = entry
        self._by_tenant.setdefault(slot[0], set()).add(slot[1])
        self._bytes += entry.size
        while self._bytes > self._max_bytes and self._entries:
            self._drop(next(iter(self._entries)))

    def _drop(self, slot: tuple[str, bytes]) -> None:
        entry = self._entries.pop(slot, None)
        if entry is not None:
            self._bytes -= entry.size
            keys = self._by_tenant.get(slot[0])
            if keys is not None:
                keys.discard(slot[1])
                if not keys:
                    del self._by_tenant[slot[0]]
