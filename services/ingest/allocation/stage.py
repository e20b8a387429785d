"""The Kafka adapter: consume `outlay.usage.v1` in batches in the stage's own consumer group, allocate each record,
publish the batch on `outlay.usage.allocated.v1`, and only then commit the batch's offsets.

At-least-once, like every Outlay consumer: a crash between publishing and committing publishes the batch again. A
consumer keeps the allocation with the highest `rules_version` per (`usage.tenant_id`, `usage.record_id`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass

from outlay.events import UsageRecord
from outlay.kafka.consumer import BatchConsumer
from outlay.kafka.producer import EventProducer
from outlay.store.engine import make_engine
from outlay.telemetry import tracing
from services.ingest.allocation.cache import RECHECK_S, RulesCache
from services.ingest.allocation.core import allocate_records
from services.ingest.allocation.decode import decode_usage
from services.ingest.allocation.store_source import StoreRulesSource

log = logging.getLogger(__name__)

BATCH_SIZE = 5000  # records per batch: allocation costs little per record, so a small batch keeps latency low


@dataclass
class AllocationStats:
    """Counters of one `run_allocation` call."""

    batches: int = 0
    published: int = 0
    skipped: int = 0  # messages that are no UsageRecord (the ledger dead-letters them)
    unallocatable: int = 0  # records whose rules failed (a pattern too slow) or could not be read: not published
    commits_skipped: int = 0  # commits lost to a rebalance (the new owner re-reads; nothing is lost)


async def run_allocation(
    bootstrap_servers: str,
    store_url: str,
    group_id: str,
    stop: asyncio.Event | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    client_id: str = "outlay-allocation",
    session_timeout_ms: int = 10_000,
    recheck_s: float = RECHECK_S,
    stats: AllocationStats | None = None,
) -> AllocationStats:
    """Run the stage until `stop` is set (forever when None); returns what it did (`stats`, when given, is updated
    as it goes, for a caller that watches). The topics must exist and the store be migrated (`main.run` does both)."""
    stop = stop or asyncio.Event()
    stats = stats if stats is not None else AllocationStats()
    engine = make_engine(store_url)
    cache = RulesCache(StoreRulesSource(engine), recheck_s)
    try:
        async with EventProducer(bootstrap_servers, client_id=client_id) as producer:
            consumer = BatchConsumer(
                bootstrap_servers,
                UsageRecord,
                group_id,
                producer=producer,
                client_id=client_id,
                max_records=batch_size,
                session_timeout_ms=session_timeout_ms,
            )
            async with consumer:
                while not stop.is_set():
                    await _one_batch(consumer, producer, cache, stats)
    finally:
        await engine.dispose()
    return stats


async def _one_batch(
    consumer: BatchConsumer[UsageRecord], producer: EventProducer, cache: RulesCache, stats: AllocationStats
) -> None:
    batch, decoded = await consumer.next_batch_decoded(decode_usage, timeout_ms=200)
    if not batch or decoded is None:
        return
    with tracing.batch_span("allocate usage", batch.headers, messages=len(decoded.records)):
        rules = await cache.for_tenants(Counter(r.tenant_id for r in decoded.records))
        # Pure CPU (regexes over resource ids): a thread keeps the loop free for the consumer's heartbeats.
        result = await asyncio.to_thread(allocate_records, decoded.records, rules)
        # Delivered before the commit: a crash in between re-publishes the batch rather than losing it.
        await asyncio.gather(*await producer.send_batch(result.events))
    if not await consumer.commit(batch):
        stats.commits_skipped += 1
    stats.batches += 1
    stats.published += len(result.events)
    stats.skipped += decoded.skipped
    stats.unallocatable += result.unallocatable
