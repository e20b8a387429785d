"""The pipeline's column-wise path for legacy CUR parquet, against the real broker: what lands on the topics, the
report and the checkpoints are what the row path gives."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.events import UsageRecord
from outlay.events.topics import INGEST_DLQ, USAGE
from outlay.kafka.producer import EventProducer
from outlay.store.engine import make_engine
from services.ingest.checkpoints import DONE, CheckpointStore
from services.ingest.pipeline import checkpoint_key, dead_letter, ingest
from services.ingest.report import FileStatus
from services.ingest.sources.base import RejectedRow
from services.ingest.sources.detect import parse_export
from tests.integration.ingest_support import read_topic, test_readers
from tests.unit.test_cur_columnar import CASES, write_cases

WORKSHOP_DIR = "cur_samples/wa_labs_workshop_cur/cur/data"


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(sqlite_url)
    yield eng
    await eng.dispose()


class CountingProducer:
    """The real producer, counting which of its methods the pipeline used."""

    def __init__(self, inner: EventProducer) -> None:
        self.inner = inner
        self.encoded = 0
        self.batches = 0

    async def send(self, event: BaseModel) -> asyncio.Future[Any]:
        return await self.inner.send(event)

    async def send_batch(self, events: Sequence[BaseModel]) -> list[asyncio.Future[Any]]:
        self.batches += 1
        return await self.inner.send_batch(events)

    async def send_encoded(self, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> list[asyncio.Future[Any]]:
        self.encoded += len(messages)
        return await self.inner.send_encoded(topic, messages)


class RowsOnlyProducer:
    """A sender without `send_encoded` (as test doubles and older senders are): the row path serves it."""

    def __init__(self, inner: EventProducer) -> None:
        self.inner = inner

    async def send(self, event: BaseModel) -> asyncio.Future[Any]:
        return await self.inner.send(event)

    async def send_batch(self, events: Sequence[BaseModel]) -> list[asyncio.Future[Any]]:
        return await self.inner.send_batch(events)


def expected_messages(path: Path, tenant: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    usage, dead = [], []
    for item in parse_export(path, str(path), tenant_id=tenant):
        if isinstance(item, UsageRecord):
            usage.append(json.loads(item.model_dump_json()))
        else:
            assert isinstance(item, RejectedRow)
            dead.append(json.loads(dead_letter(item, "cur", str(path)).model_dump_json()))
    return usage, dead


def ordered(messages: list[dict[str, Any]]) -> list[str]:
    """The messages comparable as a multiset (a dead letter's `rejected_at` is when it was made: left out)."""
    return sorted(json.dumps({k: v for k, v in m.items() if k != "rejected_at"}, sort_keys=True) for m in messages)


@pytest.mark.parametrize("tenant", ["default", "acme"])
async def test_synthetic_cur_parquet_lands_as_the_row_path_would(
    tmp_path: Path, broker: str, engine: AsyncEngine, tenant: str
) -> None:
    path = tmp_path / "cases.parquet"
    write_cases(path, repeat=3)
    usage, dead = expected_messages(path, tenant)
    ticks: list[int] = []
    async with EventProducer(broker, linger_ms=5) as inner:
        producer = CountingProducer(inner)
        report = await ingest(
            str(path), producer, engine, tenant_id=tenant, chunk_size=4, progress=lambda _, rows: ticks.append(rows)
        )
    (file,) = report.files
    assert (file.status, file.format) == (FileStatus.PROCESSED, "cur")
    assert (file.accepted, file.rejected) == (len(usage), len(dead))
    assert producer.encoded == len(usage) and producer.batches == 1  # column-wise; the dead letters in one batch
    assert file.cost == {
        "USD": sum((Decimal(m["billed_cost"]) for m in usage if m["currency"] == "USD"), Decimal(0)),
        "EUR": sum((Decimal(m["billed_cost"]) for m in usage if m["currency"] == "EUR"), Decimal(0)),
    }
    assert ticks == [0, 3 * len(CASES)]  # one batch: chunk_size=4 is below the column-wise batch size

    assert ordered(await read_topic(broker, USAGE.name)) == ordered(usage)
    assert ordered(await read_topic(broker, INGEST_DLQ.name)) == ordered(dead)
    assert all(m["tenant_id"] == tenant for m in usage)
    checkpoint = await CheckpointStore(engine).get(checkpoint_key(tenant, str(path)))
    assert checkpoint is not None
    assert (checkpoint.status, checkpoint.rows_accepted, checkpoint.rows_rejected) == (DONE, len(usage), len(dead))


async def test_a_sender_without_encoded_messages_gets_the_row_path(
    tmp_path: Path, broker: str, engine: AsyncEngine
) -> None:
    path = tmp_path / "cases.parquet"
    write_cases(path)
    usage, dead = expected_messages(path, "default")
    async with EventProducer(broker, linger_ms=5) as inner:
        report = await ingest(str(path), RowsOnlyProducer(inner), engine, readers=test_readers())
    assert (report.files[0].accepted, report.files[0].rejected) == (len(usage), len(dead))
    assert ordered(await read_topic(broker, USAGE.name)) == ordered(usage)


async def test_workshop_cur_is_ingested_column_wise(shared_data: Path, broker: str, engine: AsyncEngine) -> None:
    # One month (91,264 rows) of the three: the byte-for-byte equality of every month is the unit tests' job.
    root = shared_data / WORKSHOP_DIR / "year=2018" / "month=12"
    files = sorted(root.rglob("*.parquet"))
    # Expected totals computed from the files alone: every row's unblended cost, read as its shortest repr.
    expected_rows = 0
    expected_cost = Decimal(0)
    for path in files:
        column = pq.read_table(path, columns=["line_item_unblended_cost"]).column(0).to_pylist()
        expected_rows += len(column)
        for value in column:
            expected_cost += Decimal(repr(value))
    async with EventProducer(broker) as inner:
        producer = CountingProducer(inner)
        report = await ingest(str(root), producer, engine, readers=test_readers())
    assert [f.status for f in report.files] == [FileStatus.PROCESSED]
    assert (report.totals.accepted, report.totals.rejected) == (expected_rows, 0) == (91_264, 0)
    assert report.totals.cost == {"USD": expected_cost}
    assert producer.encoded == expected_rows and producer.batches == 0

    usage = await read_topic(broker, USAGE.name, wait_s=120)
    assert len(usage) == expected_rows
    assert len({m["record_id"] for m in usage}) == expected_rows
    assert sum((Decimal(m["billed_cost"]) for m in usage), Decimal(0)) == expected_cost
    first = next(m for m in usage if m["source_ref"].endswith("Dec2018-WorkshopCUR-00001.snappy.parquet#1"))
    assert first["record_id"] == "34b86f1f8cebc5c45ad0f4a8f761f8da"  # the row path's id for this row
