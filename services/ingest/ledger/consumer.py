"""The ledger loop: consume `outlay.usage.v1` in batches, write them, then commit the offsets.

At-least-once: a batch's offsets are committed only after its transaction has committed, so a crash
in between re-delivers the batch and the idempotent writer absorbs it. After each committed batch a
`LedgerProgress` event tells the gateway and the forecast service which periods changed.

Two tasks form a short pipeline: one fetches, decodes and prepares the next batch (CPU, in a worker
thread) while the other waits on the database for the current one; the offsets are still committed
strictly in fetch order because only the writing task commits.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from outlay import telemetry
from outlay.events import DeadLetter, LedgerProgress, UsageRecord
from outlay.kafka.consumer import BatchConsumer, ConsumedBatch
from outlay.kafka.producer import EventProducer
from outlay.settings import get_settings
from outlay.store.engine import make_engine
from outlay.telemetry import tracing
from services.ingest.ledger.columnar import prepare_messages
from services.ingest.ledger.writer import LedgerWriter, PreparedBatch, PreparedRows, WriteResult, is_data_error

log = logging.getLogger(__name__)

ProgressCallback = Callable[[LedgerProgress], Awaitable[object] | object]


@dataclass
class LedgerStats:
    """Counters of one `run_ledger` call."""

    batches: int = 0
    written: int = 0
    duplicates: int = 0
    dead_letters: int = 0  # undecodable messages plus records the store refused
    commits_skipped: int = 0  # commits lost to a rebalance (the new owner re-reads; nothing is lost)


@dataclass
class _Work:
    batch: ConsumedBatch[UsageRecord]
    prepared: PreparedBatch | PreparedRows


def progress_event(result: WriteResult) -> LedgerProgress | None:
    if result.period_start is None or result.period_end is None:
        return None
    return LedgerProgress(
        written=result.written,
        duplicates=result.duplicates,
        period_start=result.period_start,
        period_end=result.period_end,
        cost_kinds=list(result.cost_kinds),
        committed_at=datetime.now(UTC),
        tenant_ids=list(result.tenant_ids),
    )


def merge_results(results: Sequence[WriteResult]) -> WriteResult:
    starts = [r.period_start for r in results if r.period_start is not None]
    ends = [r.period_end for r in results if r.period_end is not None]
    return WriteResult(
        written=sum(r.written for r in results),
        duplicates=sum(r.duplicates for r in results),
        period_start=min(starts) if starts else None,
        period_end=max(ends) if ends else None,
        cost_kinds=tuple(sorted({k for r in results for k in r.cost_kinds})),
        tenant_ids=tuple(sorted({t for r in results for t in r.tenant_ids})),
    )


async def write_isolating_bad_records(
    writer: LedgerWriter,
    prepared: PreparedBatch | PreparedRows,
    dead_letter: Callable[[UsageRecord, BaseException], Awaitable[None]],
) -> WriteResult:
    """Write the batch; if the store refuses its data (a value too long for a column, say), halve the
    batch until the offending records are alone, dead-letter them and write the rest.

    A refused batch rolls back whole, so the halves never double count. The halves are made of every
    valid record the batch received, duplicates included (a refused first copy of an id must not hide
    a good later one), decoded anew when the batch was prepared column-wise.
    """
    try:
        return await writer.write_prepared(prepared)
    except Exception as exc:
        if not is_data_error(exc):
            raise
        records = prepared.accepted()
        if len(records) == 1:
            await dead_letter(records[0], exc)
            return WriteResult(0, 0, None, None)
    mid = len(records) // 2
    halves = (records[:mid], records[mid:])
    return merge_results(
        [await write_isolating_bad_records(writer, writer.prepare(half), dead_letter) for half in halves]
    )


async def run_ledger(
    bootstrap_servers: str,
    store_url: str,
    group_id: str | None = None,
    stop: asyncio.Event | None = None,
    on_progress: ProgressCallback | None = None,
    *,
    batch_size: int | None = None,
    client_id: str = "outlay-ledger",
    session_timeout_ms: int = 10_000,
) -> LedgerStats:
    """Run the ledger until `stop` is set (forever when None); returns what it did.

    Defaults come from `outlay.settings` (ledger_group_id, ledger_batch_size). The store must be
    migrated and the topics created beforehand (`main.run` does both).
    """
    settings = get_settings()
    group = group_id or settings.ledger_group_id
    size = batch_size or settings.ledger_batch_size
    stop = stop or asyncio.Event()
    stats = LedgerStats()
    engine = make_engine(store_url)
    writer = LedgerWriter(engine)
    try:
        async with EventProducer(bootstrap_servers, client_id=client_id) as producer:
            consumer = BatchConsumer(
                bootstrap_servers,
                UsageRecord,
                group,
                producer=producer,
                client_id=client_id,
                max_records=size,
                session_timeout_ms=session_timeout_ms,
            )
            async with consumer:
                queue: asyncio.Queue[_Work | None] = asyncio.Queue(maxsize=2)
                async with asyncio.TaskGroup() as tasks:
                    tasks.create_task(_fetch(consumer, writer, queue, stop))
                    tasks.create_task(_sink(consumer, writer, producer, queue, stats, on_progress))
            stats.dead_letters += consumer.rejected
    finally:
        await engine.dispose()
    return stats


async def _fetch(
    consumer: BatchConsumer[UsageRecord],
    writer: LedgerWriter,
    queue: asyncio.Queue[_Work | None],
    stop: asyncio.Event,
) -> None:
    while not stop.is_set():
        prepared: PreparedBatch | PreparedRows | None
        if writer.copies:
            # Straight from the messages' values to rows, column-wise (decoded and prepared in a thread).
            batch, prepared = await consumer.next_batch_decoded(partial(prepare_messages, writer), timeout_ms=200)
        else:
            batch = await consumer.next_batch(timeout_ms=200)
            # Rows and rollups are pure CPU: a thread keeps the loop free for the other batch's I/O.
            prepared = await asyncio.to_thread(writer.prepare, batch.events) if batch else None
        if not batch or prepared is None:
            continue
        await queue.put(_Work(batch, prepared))
    await queue.put(None)  # the sink drains what was fetched, then ends


async def _sink(
    consumer: BatchConsumer[UsageRecord],
    writer: LedgerWriter,
    producer: EventProducer,
    queue: asyncio.Queue[_Work | None],
    stats: LedgerStats,
    on_progress: ProgressCallback | None,
) -> None:
    async def refuse(record: UsageRecord, exc: BaseException) -> None:
        stats.dead_letters += 1
        telemetry.count_dead_letters("ledger")
        letter = DeadLetter(
            source="ledger",
            file=record.source_ref or f"record:{record.record_id}",
            reason=f"the store refused record {record.record_id}: {type(exc).__name__}: {exc}"[:2000],
            raw={"record": record.model_dump_json()},
        )
        log.warning("dead letter %s: %s", letter.file, letter.reason)
        await producer.send_many([letter])

    while (work := await queue.get()) is not None:
        started = time.perf_counter()
        accepted = work.batch.messages - work.batch.rejected
        with tracing.batch_span("ledger write", work.batch.headers, messages=accepted):
            result = await write_isolating_bad_records(writer, work.prepared, refuse)
        if not await consumer.commit(work.batch):
            stats.commits_skipped += 1
        elapsed = time.perf_counter() - started
        telemetry.record_ledger_batch(
            result.written, result.duplicates, work.batch.rejected, elapsed, result.period_end
        )
        stats.batches += 1
        stats.written += result.written
        stats.duplicates += result.duplicates
        event = progress_event(result)
        if event is None:
            continue
        # Not awaited: progress is advisory, and waiting for its ack would stall the pipeline.
        delivery = await producer.send(event)
        delivery.add_done_callback(_log_failed_delivery)
        if on_progress is not None:
            outcome = on_progress(event)
            if inspect.isawaitable(outcome):
                await outcome


def _log_failed_delivery(future: asyncio.Future[object]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("ledger progress event not delivered: %s", future.exception())
