"""LedgerWriter against real PostgreSQL (COPY fast path and portable path) and SQLite."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import column, func, insert, inspect, select, table

from outlay.events import UsageRecord
from outlay.store.engine import make_engine, upgrade
from outlay.store.models import ROLLUP_KEY, SERVICE_ROLLUP_KEY, CostRollup, ServiceRollup, rollup_key_hash
from services.ingest.ledger.consumer import write_isolating_bad_records
from services.ingest.ledger.rollups import rollup_increments
from services.ingest.ledger.writer import LedgerWriter, rollup_row
from tests.conftest import PG_ADMIN_DSN
from tests.integration.ledger_support import T0, expected_nanos, store_totals, usage

MODES = ["pg-copy", "pg-portable", "sqlite"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> tuple[str, bool]:
    """(store url, COPY fast path on?) for each way the ledger can write."""
    name: str = request.param
    url: str = request.getfixturevalue("sqlite_url" if name == "sqlite" else "store_url")
    return url, name == "pg-copy"


@pytest.fixture
async def target(mode: tuple[str, bool]) -> AsyncIterator[tuple[str, LedgerWriter]]:
    url, fast = mode
    engine = make_engine(url)
    yield url, LedgerWriter(engine, fast_path=fast)
    await engine.dispose()


async def assert_reconciles(url: str, records: list[UsageRecord]) -> None:
    totals = await store_totals(url)
    billed, effective, listed = expected_nanos(records)
    assert totals.rows == len(records)
    assert totals.billed == billed
    assert totals.hour[:3] == (billed, effective, listed)
    assert totals.day[:3] == (billed, effective, listed)
    fine, coarse = await service_level_sums(url)
    assert coarse == fine and len(coarse) > 0  # every service bucket is its resources' buckets summed


async def service_level_sums(url: str) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    """(per-resource rollups summed per service key, the service-level rollups), bucket by bucket."""
    amounts = ("billed_nanos", "effective_nanos", "list_nanos", "records")
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            keys = [getattr(CostRollup, k) for k in SERVICE_ROLLUP_KEY]
            summed = select(*keys, *(func.sum(getattr(CostRollup, a)) for a in amounts)).group_by(*keys)
            fine = {tuple(int(v) if isinstance(v, int) else v for v in r) for r in await conn.execute(summed)}
            stored = select(*(getattr(ServiceRollup, k) for k in (*SERVICE_ROLLUP_KEY, *amounts)))
            coarse = {tuple(r) for r in await conn.execute(stored)}
    finally:
        await engine.dispose()
    return fine, coarse


async def test_same_batch_twice_writes_once(target: tuple[str, LedgerWriter]) -> None:
    url, writer = target
    batch = [usage(i) for i in range(300)]
    first = await writer.write(batch)
    assert (first.written, first.duplicates) == (300, 0)
    assert first.period_start == min(r.charge_period_start for r in batch)
    assert first.period_end == max(r.charge_period_end for r in batch)
    assert first.cost_kinds == ("billed",)
    before = await store_totals(url)
    again = await writer.write(batch)
    assert (again.written, again.duplicates) == (0, 300)
    assert await store_totals(url) == before  # rollups did not move either
    await assert_reconciles(url, batch)
    assert before.hour[3] == before.day[3] == 300  # each hourly record counted once per grain


async def test_partially_overlapping_batch_adds_only_new_records(target: tuple[str, LedgerWriter]) -> None:
    url, writer = target
    a = [usage(i) for i in range(0, 200)]
    b = [usage(i) for i in range(100, 350)]
    await writer.write(a)
    result = await writer.write(b)
    assert (result.written, result.duplicates) == (150, 100)
    # The period reported is that of the records actually written.
    assert result.period_start == min(r.charge_period_start for r in b[100:])
    await assert_reconciles(url, [usage(i) for i in range(350)])


async def test_duplicate_ids_within_one_batch(target: tuple[str, LedgerWriter]) -> None:
    url, writer = target
    batch = [usage(1), usage(2), usage(1), usage(3), usage(2)]
    result = await writer.write(batch)
    assert (result.written, result.duplicates) == (3, 2)
    await assert_reconciles(url, [usage(1), usage(2), usage(3)])


async def test_hourly_daily_and_month_long_records_reconcile(target: tuple[str, LedgerWriter]) -> None:
    url, writer = target
    month_start = T0 + timedelta(minutes=30)
    batch = [
        usage(1),  # hourly
        usage(2, hours=24, start=T0 + timedelta(days=3)),  # daily
        usage(3, hours=24 * 31, start=month_start, resource="volume-1"),  # a month, off the hour
    ]
    await writer.write(batch)
    await assert_reconciles(url, batch)
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(CostRollup.grain, CostRollup.period_start, CostRollup.billed_nanos).where(
                        CostRollup.resource_id == "volume-1"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    hours = [r for r in rows if r.grain == "hour"]
    days = [r for r in rows if r.grain == "day"]
    assert len(hours) == 31 * 24 + 1 and len(days) == 32
    assert sum(r.billed_nanos for r in hours) == sum(r.billed_nanos for r in days)
    assert min(r.period_start for r in hours) == month_start.replace(minute=0, tzinfo=None)


async def test_rollups_accumulate_across_batches(target: tuple[str, LedgerWriter]) -> None:
    url, writer = target
    start = T0 + timedelta(hours=7)
    # Same rollup key and hour, different record ids: the second batch adds to the first's buckets.
    one = usage(10, start=start, resource="shared")
    two = usage(20, start=start, resource="shared")
    two = two.model_copy(
        update={
            "billing_account_id": one.billing_account_id,
            "service": one.service,
            "sub_account_id": one.sub_account_id,
            "tags": one.tags,
        }
    )
    await writer.write([one])
    await writer.write([two])
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(CostRollup.grain, CostRollup.records, CostRollup.billed_nanos).where(
                        CostRollup.resource_id == "shared"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    assert sorted((r.grain, r.records) for r in rows) == [("day", 2), ("hour", 2)]
    await assert_reconciles(url, [one, two])


async def test_store_refused_record_is_isolated(store_url: str) -> None:
    """A value PostgreSQL refuses (resource id longer than its column) is dead-lettered alone."""
    engine = make_engine(store_url)
    writer = LedgerWriter(engine)
    refused: list[str] = []

    async def dead_letter(record: UsageRecord, exc: BaseException) -> None:
        refused.append(record.record_id)

    good = [usage(i) for i in range(40)]
    bad = usage(99, resource="r" * 2000)
    try:
        result = await write_isolating_bad_records(writer, writer.prepare([*good[:25], bad, *good[25:]]), dead_letter)
    finally:
        await engine.dispose()
    assert refused == [bad.record_id]
    assert result.written == 40
    await assert_reconciles(store_url, good)


async def test_a_large_stream_through_the_copy_path_reconciles(store_url: str) -> None:
    """30k records in batches of 5,000 through the COPY path, each hour its own bucket: every row and rollup
    (both levels) adds up. (Its speed is measured by `make bench-ingest`, not asserted here.)"""
    records = [usage(i, start=T0 + timedelta(hours=i % 2000)) for i in range(30_000)]
    engine = make_engine(store_url)
    writer = LedgerWriter(engine)
    try:
        for i in range(0, len(records), 5000):
            result = await writer.write(records[i : i + 5000])
            assert (result.written, result.duplicates) == (5000, 0)
    finally:
        await engine.dispose()
    await assert_reconciles(store_url, records)


@pytest.fixture(params=["postgresql", "sqlite"])
async def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each dialect, not yet migrated (the migration test drives alembic)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}"
        return
    name = f"outlay_migrate_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_migrations_backfill_key_hash_the_writer_then_finds(fresh_url: str) -> None:
    """Rollups written under 0001 get the writer's key_hash (0002, hashed again with the tenant by 0011), so later
    batches add to those buckets."""
    await upgrade(fresh_url, "0001")
    records = [usage(i) for i in range(30)]
    old_rows = [rollup_row(key, b"", inc) for key, inc in rollup_increments(records).items()]
    for row in old_rows:
        del row["key_hash"], row["tenant_id"]  # the 0001 schema has no such columns
    engine = make_engine(fresh_url)
    try:
        async with engine.begin() as conn:
            # Only the 0001 columns: the model's table would fill in tenant_id's default.
            old = table("cost_rollups", *(column(c, CostRollup.__table__.c[c].type) for c in old_rows[0]))
            await conn.execute(insert(old), old_rows)
        await upgrade(fresh_url)
        async with engine.connect() as conn:
            stored = (await conn.execute(select(CostRollup))).all()
            indexes = await conn.run_sync(lambda sync: inspect(sync).get_indexes("usage_records"))
        assert len(stored) == len(old_rows)
        assert all(r.key_hash == rollup_key_hash([getattr(r, c) for c in ROLLUP_KEY]) for r in stored)
        fine, coarse = await service_level_sums(fresh_url)
        assert coarse == fine and coarse  # 0013 summed the existing rollups per service
        assert "ix_usage_records_service" not in {ix["name"] for ix in indexes}
        # The same records again (the usage table is empty): every bucket is found and doubled.
        result = await LedgerWriter(engine).write(records)
        assert result.written == len(records)
        async with engine.connect() as conn:
            after = (await conn.execute(select(CostRollup.records, func.count()).group_by(CostRollup.records))).all()
    finally:
        await engine.dispose()
    assert sorted(tuple(r) for r in after) == sorted(
        (2 * n, k) for n, k in Counter(r["records"] for r in old_rows).items()
    )
