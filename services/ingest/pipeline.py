"""The ingest pipeline: stream every export file at a location into Kafka, file by file.

For each file: skip it if its checkpoint says it is done with the same fingerprint; read its header and
pick a parser (a table that is not a cost export is refused, and the rest of the directory goes on);
mark it started; send accepted rows to `outlay.usage.v1` and rejected rows to `outlay.ingest.dlq.v1`;
wait until the broker acknowledged every one of them; only then mark it done.

Tenants: every record is stamped with the tenant the run is for (`tenant_id`, checked before anything is read
or sent), through the parsers' per-file scope (one string shared by the file's records, no per-record copy).
Record ids do not depend on the tenant (the ledger keys on tenant and id), so the same file ingested for two
tenants lands once in each. Checkpoints are per tenant without a column of their own: the default tenant's
checkpoint is keyed by the file's URI as before, another tenant's by `<tenant>:<uri>` (`checkpoint_key`), so
tenant B never skips a file because tenant A ingested it.

Throughput: sends are not awaited one by one. Rows go out in chunks, and a chunk's delivery futures are
awaited only after the next chunk has been queued, so the producer always has a chunk in flight while
the parser works on the next. Legacy CUR parquet files skip the per-row records altogether: they are mapped
column-wise, record batch by record batch, straight to the bytes the row path would send
(`services.ingest.sources.cur_columnar`, `EventProducer.send_encoded`), each batch being one chunk.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay import telemetry
from outlay.events import DeadLetter, UsageRecord
from outlay.events.topics import topic_for
from outlay.tenancy import DEFAULT_TENANT, checked_tenant
from services.ingest.checkpoints import CheckpointStore, CheckpointTotals
from services.ingest.locations import EXPORT_SUFFIXES, ExportFile, S3Client, opened, resolve, s3_client
from services.ingest.report import FileReport, FileStatus, IngestReport
from services.ingest.sources.base import ExportParser, NotACostExport, ParsedRow, RejectedRow

if TYPE_CHECKING:
    from services.ingest.sources.cur_columnar import EncodedBatch

    # What a file is sent as, chunk by chunk: parsed rows, or a record batch mapped column-wise.
    Chunk = list[ParsedRow] | EncodedBatch

Progress = Callable[[str, int], None]
TableRows = Iterator[dict[str, object]]
DEFAULT_CHUNK = 2_000
# Rows per record batch on the column-wise path (at least the chunk size): Arrow's per-call overhead is paid per
# batch, and bigger batches repeat more values, so fewer are converted (WorkshopCUR: 2,000-row batches cost ~35%
# more CPU than 8,192-row ones).
COLUMNAR_BATCH = 8_192
USAGE_TOPIC = topic_for(UsageRecord).name


class Sender(Protocol):
    """What the pipeline needs of `outlay.kafka.producer.EventProducer`."""

    async def send(self, event: BaseModel) -> asyncio.Future[Any]: ...

    async def send_batch(self, events: Sequence[BaseModel]) -> list[asyncio.Future[Any]]: ...


class EncodedSender(Sender, Protocol):
    """A sender that also takes messages already encoded (`EventProducer.send_encoded`): the column-wise path."""

    async def send_encoded(self, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> list[asyncio.Future[Any]]: ...


@dataclass(frozen=True)
class Readers:
    """How files become rows and rows become records: the sources package, injectable for tests."""

    read_table: Callable[[Path, str], tuple[Sequence[str], TableRows]]
    parser_for: Callable[[Sequence[str]], ExportParser]


def default_readers() -> Readers:
    from services.ingest.sources import detect, tabular

    return Readers(read_table=tabular.iter_table, parser_for=detect.parser_for)


async def ingest(
    uri: str,
    producer: Sender,
    engine: AsyncEngine,
    progress: Progress | None = None,
    force: bool = False,
    *,
    readers: Readers | None = None,
    s3: S3Client | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    tenant_id: str = DEFAULT_TENANT,
) -> IngestReport:
    """Ingest every export file at `uri` (file, directory or s3://bucket/prefix/) for `tenant_id`.

    `force` re-sends files whose checkpoint says done. Raises `ValueError` for an invalid tenant id (before
    anything is read) and `NoExportFiles` when the location holds no export file; Kafka delivery errors
    propagate (the file's checkpoint then stays `started`).
    """
    checked_tenant(tenant_id)
    if s3 is None and uri.startswith("s3://"):
        s3 = await asyncio.to_thread(s3_client)
    files = await resolve(uri, s3)
    ingestor = _FileIngestor(
        producer=producer,
        checkpoints=CheckpointStore(engine),
        readers=readers or default_readers(),
        progress=progress,
        force=force,
        s3=s3,
        chunk_size=chunk_size,
        tenant_id=tenant_id,
    )
    report = IngestReport(location=uri)
    for export in files:
        file_report = await ingestor.ingest_file(export)
        telemetry.count_ingest_file(file_report.status)
        report.files.append(file_report)
    return report


@dataclass
class _FileIngestor:
    producer: Sender
    checkpoints: CheckpointStore
    readers: Readers
    progress: Progress | None
    force: bool
    s3: S3Client | None
    chunk_size: int
    tenant_id: str

    async def ingest_file(self, export: ExportFile) -> FileReport:
        checkpoint = checkpoint_key(self.tenant_id, export.uri)
        if not self.force and not await self.checkpoints.should_process(checkpoint, export.fingerprint):
            return FileReport(export.uri, FileStatus.SKIPPED)
        if not export.kind:
            expected = ", ".join(s for s, _ in EXPORT_SUFFIXES)
            message = f"not an export file (expected {expected})"
            return FileReport(export.uri, FileStatus.REFUSED, message=message)
        async with opened(export, self.s3) as path:
            try:
                columns, rows = await asyncio.to_thread(self.readers.read_table, path, export.kind)
            except (OSError, ValueError) as exc:  # unreadable table: truncated gzip, bad parquet, …
                return FileReport(export.uri, FileStatus.REFUSED, message=f"cannot read {export.kind}: {exc}")
            try:
                try:
                    parser = self.readers.parser_for(columns)
                except NotACostExport as exc:
                    return FileReport(export.uri, FileStatus.REFUSED, message=str(exc))
                await self.checkpoints.mark_started(checkpoint, export.fingerprint, parser.format)
                report = FileReport(export.uri, FileStatus.PROCESSED, format=parser.format)
                chunks: Iterator[Chunk] | None = self._encoded(parser, rows, export.uri)
                if chunks is None:
                    chunks = self._row_chunks(parser.parse(rows, export.uri, self.tenant_id))
                await self._stream(chunks, parser.format, export.uri, report)
            finally:
                _close(rows)  # the reader holds the file open until its rows are exhausted or closed
        if report.status is FileStatus.PROCESSED:
            totals = CheckpointTotals(parser.format, report.accepted, report.rejected)
            await self.checkpoints.mark_done(checkpoint, export.fingerprint, totals)
        return report

    async def _stream(self, chunks: Iterator[Chunk], source: str, uri: str, report: FileReport) -> None:
        # Parsing stays on the event loop: a worker thread only fought the loop for the GIL (measured
        # ~15% slower on WorkshopCUR); the overlap that matters is the producer's network round trips.
        in_flight: list[asyncio.Future[Any]] = []
        self._tick(uri, 0)
        while True:
            try:
                chunk = next(chunks, None)
            except NotACostExport as exc:  # a parser that checks lazily, on its first row
                report.status = FileStatus.REFUSED if report.rows == 0 else FileStatus.FAILED
                report.message = str(exc)
                break
            except Exception as exc:  # any reader/parser break fails this file only, not the run
                report.status = FileStatus.FAILED
                report.message = f"read error after row {report.rows}: {type(exc).__name__}: {exc}"
                break
            if chunk is None:
                break
            accepted, rejected = report.accepted, report.rejected
            if isinstance(chunk, list):
                queued = await self._send_rows(chunk, source, uri, report)
            else:
                queued = await self._send_encoded(chunk, source, uri, report)
            telemetry.count_ingest_chunk(source, report.accepted - accepted, report.rejected - rejected)
            # Await the previous chunk only now: it was in flight while this one was parsed and queued.
            if in_flight:
                await asyncio.gather(*in_flight)
            in_flight = queued
            self._tick(uri, report.rows)
        if in_flight:
            await asyncio.gather(*in_flight)

    def _row_chunks(self, parsed: Iterator[ParsedRow]) -> Iterator[list[ParsedRow]]:
        while chunk := list(itertools.islice(parsed, self.chunk_size)):
            yield chunk

    async def _send_rows(
        self, chunk: list[ParsedRow], source: str, uri: str, report: FileReport
    ) -> list[asyncio.Future[Any]]:
        events: list[BaseModel] = []
        for item in chunk:
            if isinstance(item, UsageRecord):
                report.count_record(item)
                events.append(item)
            else:
                report.count_rejected(item)
                events.append(dead_letter(item, source, uri))
        return await self.producer.send_batch(events)

    async def _send_encoded(
        self, batch: EncodedBatch, source: str, uri: str, report: FileReport
    ) -> list[asyncio.Future[Any]]:
        """A column-wise batch: its usage messages already encoded, its rejected rows as dead letters."""
        sender: EncodedSender = self.producer  # type: ignore[assignment]  # checked by `_encoded`
        report.count_encoded(batch.costs)
        for item in batch.rejected:
            report.count_rejected(item)
        queued = await sender.send_encoded(USAGE_TOPIC, batch.messages)
        if batch.rejected:
            queued += await sender.send_batch([dead_letter(item, source, uri) for item in batch.rejected])
        return queued

    def _encoded(self, parser: ExportParser, rows: TableRows, uri: str) -> Iterator[EncodedBatch] | None:
        """The file mapped column-wise, one record batch per chunk, when it is a legacy CUR parquet file read by the
        sources package's reader and the producer takes encoded messages; else None (the row path reads it)."""
        from services.ingest.sources.cur_columnar import columnar_cur, encode_batches
        from services.ingest.sources.tabular import TableRows as ReaderRows

        mapper = columnar_cur(parser)
        if mapper is None or not isinstance(rows, ReaderRows) or not hasattr(self.producer, "send_encoded"):
            return None
        rows.project(mapper.columns_needed)
        batches = rows.record_batches(max(self.chunk_size, COLUMNAR_BATCH))
        return None if batches is None else encode_batches(mapper, batches, uri, self.tenant_id)

    def _tick(self, uri: str, rows: int) -> None:
        if self.progress is not None:
            self.progress(uri, rows)


def checkpoint_key(tenant_id: str, uri: str) -> str:
    """The `ingest_checkpoints` key of a file ingested for a tenant: the URI itself for the default tenant (as
    before tenants, so existing checkpoints still count), `<tenant>:<uri>` for any other. A tenant id has no
    ':', so two tenants' keys never meet; nor do they meet the default tenant's absolute paths ('/...'). The one
    look-alike, tenant `s3` with a local path starting '//', has a file fingerprint, never an S3 one, so at worst
    a file is sent again, never skipped."""
    return uri if tenant_id == DEFAULT_TENANT else f"{tenant_id}:{uri}"


def _close(rows: object) -> None:
    close = getattr(rows, "close", None)
    if callable(close):
        close()


def dead_letter(rejected: RejectedRow, source: str, uri: str) -> DeadLetter:
    raw = {str(k): None if v is None else str(v) for k, v in rejected.raw.items()}
    return DeadLetter(
        source=source,
        file=uri,
        row=rejected.row,
        field=rejected.field,
        reason=rejected.reason,
        raw=raw,
    )
