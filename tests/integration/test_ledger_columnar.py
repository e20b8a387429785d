"""The column-wise ledger path against real PostgreSQL: the same table contents as the record path."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from outlay.events import UsageRecord
from outlay.kafka.consumer import decode_messages
from outlay.store.engine import make_engine
from outlay.store.models import SERVICE_ROLLUP_KEY
from services.ingest.ledger.columnar import prepare_messages
from services.ingest.ledger.consumer import write_isolating_bad_records
from services.ingest.ledger.writer import (
    ROLLUP_COLUMNS,
    SERVICE_ROLLUP_COLUMNS,
    USAGE_COLUMNS,
    LedgerWriter,
    PreparedRows,
    WriteResult,
)
from services.ingest.live.generator import generate
from services.ingest.live.profiles import demo_company
from tests.integration.ledger_support import usage
from tests.unit.test_ledger_columnar import Message

TABLES = {
    "usage_records": (USAGE_COLUMNS, "tenant_id, record_id"),
    "cost_rollups": (ROLLUP_COLUMNS, "key_hash"),
    "cost_rollups_service": (SERVICE_ROLLUP_COLUMNS, ", ".join(SERVICE_ROLLUP_KEY)),
}
Contents = dict[str, list[tuple[Any, ...]]]


@pytest.fixture
async def writer(store_url: str) -> AsyncIterator[LedgerWriter]:
    engine = make_engine(store_url)
    ledger = LedgerWriter(engine)
    assert ledger.copies
    yield ledger
    await engine.dispose()


async def contents(url: str) -> Contents:
    """Every row of the three tables, each value as PostgreSQL's text (scale, JSON spelling and all)."""
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        out = {}
        for table, (columns, order) in TABLES.items():
            cols = ", ".join(f"{c}::text" for c in columns)
            out[table] = [tuple(r) for r in await conn.fetch(f"SELECT {cols} FROM {table} ORDER BY {order}")]
    finally:
        await conn.close()
    return out


async def empty(url: str) -> None:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await conn.execute("TRUNCATE usage_records, cost_rollups, cost_rollups_service RESTART IDENTITY")
    finally:
        await conn.close()


def messages(values: Sequence[bytes | None]) -> list[Message]:
    return [Message(v, offset=i) for i, v in enumerate(values)]


async def write_rows(writer: LedgerWriter, values: Sequence[bytes | None]) -> WriteResult:
    records, _ = decode_messages(UsageRecord, messages(values))
    return await writer.write(records)


async def write_columns(writer: LedgerWriter, values: Sequence[bytes | None]) -> WriteResult:
    prepared, _ = prepare_messages(writer, messages(values))
    assert isinstance(prepared, PreparedRows)
    return await writer.write_prepared(prepared)


async def both_paths(url: str, writer: LedgerWriter, batches: list[list[bytes | None]]) -> list[WriteResult]:
    """Write `batches` by the record path, then (emptied) by the column-wise path: same results, same rows."""
    by_rows = [await write_rows(writer, batch) for batch in batches]
    expected = await contents(url)
    await empty(url)
    by_columns = [await write_columns(writer, batch) for batch in batches]
    assert by_columns == by_rows
    got = await contents(url)
    for table in TABLES:
        assert got[table] == expected[table], table
    assert expected["usage_records"] and expected["cost_rollups"] and expected["cost_rollups_service"]
    return by_columns


def dumped(records: Sequence[UsageRecord]) -> list[bytes | None]:
    return [r.model_dump_json().encode() for r in records]


def mixed_batch() -> list[bytes | None]:
    """Hourly, daily and monthly lines, live minutes, other tenants, odd and invalid messages."""
    records = [usage(i, hours=(1, 24, 24 * 31, 3)[i % 4]) for i in range(600)]
    records += [r.model_copy(update={"tenant_id": "acme", "consumed_quantity": Decimal("2.50")}) for r in records[:50]]
    start = datetime(2026, 6, 1, 23, 50, tzinfo=UTC)
    records += list(generate(demo_company(), start, start + timedelta(minutes=20)))
    values = dumped(records)
    odd = values[7].replace(b"rec-0000007", b"rec-odd-1").replace(b':00:00Z"', b':00:00.000Z"', 1)
    values[100:100] = [None, b"{}", odd, values[3]]  # a tombstone, an invalid one, a model-only one, a duplicate
    return values


async def test_same_contents_as_the_record_path(store_url: str, writer: LedgerWriter) -> None:
    values = mixed_batch()
    results = await both_paths(store_url, writer, [values[:400], values[400:]])
    assert sum(r.written for r in results) == len(values) - 3  # less the tombstone, the invalid one and the duplicate


async def test_replayed_batch_writes_nothing_twice(store_url: str, writer: LedgerWriter) -> None:
    values = mixed_batch()
    first = await write_columns(writer, values)
    before = await contents(store_url)
    again = await write_columns(writer, values)
    assert (again.written, again.duplicates) == (0, first.written + first.duplicates)
    assert await contents(store_url) == before
    # The record path's answer to the same replay.
    await empty(store_url)
    await write_rows(writer, values)
    assert await write_rows(writer, values) == again


async def test_partly_stored_batch_adds_only_the_new_ones(store_url: str, writer: LedgerWriter) -> None:
    a = dumped([usage(i, hours=1 + i % 30) for i in range(0, 200)])
    b = dumped([usage(i, hours=1 + i % 30) for i in range(100, 350)])
    first, second = await both_paths(store_url, writer, [a, b])
    assert (second.written, second.duplicates) == (150, 100)
    assert second.period_start == min(usage(i, hours=1 + i % 30).charge_period_start for i in range(200, 350))


async def test_a_row_the_store_refuses_is_isolated(store_url: str, writer: LedgerWriter) -> None:
    records = [usage(i) for i in range(120)]
    records[70] = records[70].model_copy(update={"region": "r" * 300})  # longer than the column
    values = dumped(records)
    refused: list[str] = []

    async def dead_letter(record: UsageRecord, exc: BaseException) -> None:
        refused.append(record.record_id)

    prepared, _ = prepare_messages(writer, messages(values))
    assert isinstance(prepared, PreparedRows)
    result = await write_isolating_bad_records(writer, prepared, dead_letter)
    assert refused == ["rec-0000070"] and result.written == 119
    got = await contents(store_url)
    await empty(store_url)
    by_rows: list[str] = []

    async def row_letter(record: UsageRecord, exc: BaseException) -> None:
        by_rows.append(record.record_id)

    decoded, _ = decode_messages(UsageRecord, messages(values))
    assert await write_isolating_bad_records(writer, writer.prepare(decoded), row_letter) == result
    assert by_rows == refused and await contents(store_url) == got


async def isolate(writer: LedgerWriter, values: list[bytes | None]) -> tuple[WriteResult, list[str]]:
    refused: list[str] = []

    async def dead_letter(record: UsageRecord, exc: BaseException) -> None:
        refused.append(record.record_id)

    prepared, _ = prepare_messages(writer, messages(values))
    return await write_isolating_bad_records(writer, prepared, dead_letter), refused


async def test_a_refused_row_in_a_batch_that_took_the_record_path_loses_nothing_else(
    store_url: str, writer: LedgerWriter
) -> None:
    """One tag set in two key orders sends the batch to the record path; a row the store then refuses is
    dead-lettered alone and the other 99 are written (not the whole batch lost)."""
    records = [usage(i).model_copy(update={"tags": {"a": "1", "b": "2"} if i % 2 else {"b": "2", "a": "1"}})
               for i in range(100)]  # fmt: skip
    records[40] = records[40].model_copy(update={"region": "r" * 300})  # longer than the column
    result, refused = await isolate(writer, dumped(records))
    assert refused == ["rec-0000040"] and result.written == 99
    assert len((await contents(store_url))["usage_records"]) == 99


async def test_a_refused_first_copy_of_an_id_does_not_hide_its_good_later_copy(
    store_url: str, writer: LedgerWriter
) -> None:
    good = [usage(i) for i in range(6)]
    bad_first = good[1].model_copy(update={"region": "r" * 300})
    result, refused = await isolate(writer, dumped([good[0], bad_first, *good[1:]]))
    assert refused == ["rec-0000001"] and result.written == 6
    stored = {row[1]: row for row in (await contents(store_url))["usage_records"]}
    assert set(stored) == {r.record_id for r in good} and "r" * 300 not in stored["rec-0000001"]
