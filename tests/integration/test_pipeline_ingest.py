"""The ingest pipeline against the real broker and PostgreSQL: records, dead letters, checkpoints."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.events import UsageRecord
from outlay.events.topics import INGEST_DLQ, USAGE
from outlay.kafka.producer import EventProducer
from outlay.money import to_nanos
from outlay.store.models import UsageRow
from services.ingest.checkpoints import DONE, STARTED, CheckpointStore
from services.ingest.ledger.writer import LedgerWriter
from services.ingest.locations import NoExportFiles
from services.ingest.pipeline import checkpoint_key, ingest
from services.ingest.report import FileStatus
from tests.integration.ingest_support import expected_cost, focus_export, read_topic, test_readers, write_csv


@pytest.fixture
async def producer(broker: str) -> AsyncIterator[EventProducer]:
    async with EventProducer(broker, linger_ms=5) as prod:
        yield prod


class FlakyProducer:
    """Delivers `limit` events, then dies the way a broker outage would surface: from send()."""

    def __init__(self, inner: EventProducer, limit: int) -> None:
        self.inner = inner
        self.limit = limit
        self.sent = 0

    async def send(self, event: BaseModel) -> asyncio.Future[Any]:
        if self.sent >= self.limit:
            raise ConnectionError("broker went away")
        self.sent += 1
        return await self.inner.send(event)

    async def send_batch(self, events: Sequence[BaseModel]) -> list[asyncio.Future[Any]]:
        return [await self.send(event) for event in events]


async def test_directory_streams_records_and_dead_letters(
    tmp_path: Path, broker: str, producer: EventProducer, engine: AsyncEngine
) -> None:
    a = focus_export(tmp_path / "exports" / "a.csv", 20, bad=(3, 7))
    b = focus_export(tmp_path / "exports" / "2024" / "b.csv.gz", 10)
    (tmp_path / "exports" / "create-table.sql").write_text("CREATE TABLE cur (x int);")
    (tmp_path / "exports" / "a-Manifest.json").write_text("{}")
    focus_export(tmp_path / "exports" / "cost_and_usage_data_status" / "status.csv", 3)

    ticks: list[tuple[str, int]] = []
    report = await ingest(
        str(tmp_path / "exports"),
        producer,
        engine,
        progress=lambda uri, rows: ticks.append((uri, rows)),
        readers=test_readers(),
        chunk_size=4,
    )

    assert [f.uri for f in report.files] == [str(b), str(a)]  # sorted path order; side files ignored
    assert all(f.status is FileStatus.PROCESSED and f.format == "focus" for f in report.files)
    totals = report.totals
    assert (totals.accepted, totals.rejected) == (28, 2)
    assert sum(count for (field, _), count in totals.reasons.items() if field == "BilledCost") == 2
    assert totals.cost == {"USD": expected_cost(20, bad=(3, 7)) + expected_cost(10)}
    assert (str(a), 20) in ticks and (str(b), 10) in ticks
    a_ticks = [rows for uri, rows in ticks if uri == str(a)]
    assert a_ticks == sorted(a_ticks) and a_ticks[0] == 0

    usage = await read_topic(broker, USAGE.name)
    assert len(usage) == 28
    assert len({m["record_id"] for m in usage}) == 28
    dead = await read_topic(broker, INGEST_DLQ.name)
    assert sorted((m["file"], m["row"], m["field"]) for m in dead) == [
        (str(a), 4, "BilledCost"),
        (str(a), 8, "BilledCost"),
    ]
    assert all(m["reason"] and m["source"] == "focus" and m["raw"]["BilledCost"] == "oops" for m in dead)

    checkpoint = await CheckpointStore(engine).get(str(a))
    assert checkpoint is not None
    assert (checkpoint.status, checkpoint.rows_accepted, checkpoint.rows_rejected) == (DONE, 18, 2)


async def test_second_run_skips_and_force_resends(
    tmp_path: Path, broker: str, producer: EventProducer, engine: AsyncEngine
) -> None:
    path = focus_export(tmp_path / "a.csv", 12)
    first = await ingest(str(path), producer, engine, readers=test_readers())
    assert first.files[0].status is FileStatus.PROCESSED

    second = await ingest(str(path), producer, engine, readers=test_readers())
    assert second.files[0].status is FileStatus.SKIPPED
    assert second.totals.accepted == 0
    assert second.ingested_anything  # skipped is fine: the data is already in
    assert len(await read_topic(broker, USAGE.name)) == 12  # nothing new was sent

    forced = await ingest(str(path), producer, engine, force=True, readers=test_readers())
    assert forced.files[0].status is FileStatus.PROCESSED
    usage = await read_topic(broker, USAGE.name)
    assert len(usage) == 24 and len({m["record_id"] for m in usage}) == 12  # same ids: the ledger dedupes


async def test_crash_mid_file_is_resent_from_the_start(
    tmp_path: Path, broker: str, producer: EventProducer, engine: AsyncEngine
) -> None:
    path = focus_export(tmp_path / "a.csv", 30)
    flaky = FlakyProducer(producer, limit=9)
    with pytest.raises(ConnectionError):
        await ingest(str(path), flaky, engine, readers=test_readers(), chunk_size=4)
    checkpoint = await CheckpointStore(engine).get(str(path))
    assert checkpoint is not None and checkpoint.status == STARTED

    report = await ingest(str(path), producer, engine, readers=test_readers(), chunk_size=4)
    assert report.files[0].status is FileStatus.PROCESSED
    assert report.files[0].accepted == 30
    usage = await read_topic(broker, USAGE.name)
    assert len({m["record_id"] for m in usage}) == 30  # nothing lost
    assert len(usage) == 30 + flaky.sent  # the resent prefix shares ids with the first attempt
    done = await CheckpointStore(engine).get(str(path))
    assert done is not None and done.status == DONE


async def test_started_but_not_done_is_reprocessed(
    tmp_path: Path, broker: str, producer: EventProducer, engine: AsyncEngine
) -> None:
    path = focus_export(tmp_path / "a.csv", 5)
    first = await ingest(str(path), producer, engine, readers=test_readers())
    store = CheckpointStore(engine)
    done = await store.get(str(path))
    assert done is not None and done.status == DONE
    await store.mark_started(str(path), done.fingerprint, "focus")  # as if the process died mid-file

    again = await ingest(str(path), producer, engine, readers=test_readers())
    assert again.files[0].status is FileStatus.PROCESSED
    assert first.files[0].accepted == again.files[0].accepted == 5
    assert len(await read_topic(broker, USAGE.name)) == 10


async def test_changed_file_is_reprocessed(
    tmp_path: Path, broker: str, producer: EventProducer, engine: AsyncEngine
) -> None:
    path = focus_export(tmp_path / "a.csv", 5)
    await ingest(str(path), producer, engine, readers=test_readers())
    focus_export(path, 8)  # the provider rewrote the month's file with more lines

    report = await ingest(str(path), producer, engine, readers=test_readers())
    assert report.files[0].status is FileStatus.PROCESSED
    assert report.files[0].accepted == 8
    assert report.totals.cost == {"USD": expected_cost(8)}
    assert len(await read_topic(broker, USAGE.name)) == 13


async def test_not_a_cost_export_is_refused_and_the_rest_goes_on(
    tmp_path: Path, broker: str, producer: EventProducer, engine: AsyncEngine
) -> None:
    write_csv(tmp_path / "a_people.csv", [{"name": "Ada", "price": "3"}], columns=("name", "price"))
    good = focus_export(tmp_path / "b_costs.csv", 4)

    report = await ingest(str(tmp_path), producer, engine, readers=test_readers())
    refused, processed = report.files
    assert refused.status is FileStatus.REFUSED and refused.accepted == 0
    assert refused.message and "missing columns" in refused.message
    assert "BilledCost" in refused.message and "ChargePeriodStart" in refused.message  # names them
    assert processed.uri == str(good) and processed.status is FileStatus.PROCESSED
    assert report.ingested_anything and report.refused == [refused]
    assert len(await read_topic(broker, USAGE.name)) == 4
    checkpoint = await CheckpointStore(engine).get(refused.uri)
    assert checkpoint is None  # a refused file is not marked: fixing it later gets it ingested


async def test_only_refused_files_means_nothing_ingested(
    tmp_path: Path, broker: str, producer: EventProducer, engine: AsyncEngine
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    by_type = await ingest(str(notes), producer, engine, readers=test_readers())
    assert by_type.files[0].status is FileStatus.REFUSED
    assert by_type.files[0].message and ".csv" in by_type.files[0].message

    table = write_csv(tmp_path / "people.csv", [{"name": "Ada"}], columns=("name",))
    by_columns = await ingest(str(table), producer, engine, readers=test_readers())
    assert by_columns.files[0].status is FileStatus.REFUSED
    assert not by_columns.ingested_anything
    assert by_columns.as_dict()["totals"] == {
        "files": {"processed": 0, "skipped": 0, "refused": 1, "failed": 0},
        "accepted": 0,
        "rejected": 0,
        "reasons": [],
        "cost": {},
    }
    assert await read_topic(broker, USAGE.name) == []


async def test_empty_location_raises(tmp_path: Path, producer: EventProducer, engine: AsyncEngine) -> None:
    (tmp_path / "readme.json").write_text("{}")
    with pytest.raises(NoExportFiles, match="no export files"):
        await ingest(str(tmp_path), producer, engine, readers=test_readers())
    with pytest.raises(NoExportFiles, match="no such file"):
        await ingest(str(tmp_path / "missing"), producer, engine, readers=test_readers())


async def test_broken_files_fail_alone(
    tmp_path: Path, broker: str, producer: EventProducer, engine: AsyncEngine
) -> None:
    (tmp_path / "a_garbage.parquet").write_bytes(b"this is not parquet at all")
    whole = focus_export(tmp_path / "b_cut.csv.gz", 3000).read_bytes()
    (tmp_path / "b_cut.csv.gz").write_bytes(whole[: len(whole) // 2])  # a download cut short
    focus_export(tmp_path / "c_fine.csv", 3)

    report = await ingest(str(tmp_path), producer, engine, readers=test_readers(), chunk_size=100)
    garbage, cut, fine = report.files
    assert garbage.status is FileStatus.REFUSED and garbage.message and "parquet" in garbage.message
    assert cut.status is FileStatus.FAILED and cut.message and "read error" in cut.message
    assert 0 < cut.accepted < 3000  # what came before the break was sent (ids are stable)
    assert fine.status is FileStatus.PROCESSED and fine.accepted == 3
    checkpoint = await CheckpointStore(engine).get(cut.uri)
    assert checkpoint is not None and checkpoint.status == STARTED  # the next run tries it again
    assert len(await read_topic(broker, USAGE.name)) == cut.accepted + 3


async def test_one_file_lands_once_per_tenant_and_a_rerun_for_either_is_a_no_op(
    tmp_path: Path, broker: str, producer: EventProducer, engine: AsyncEngine
) -> None:
    path = focus_export(tmp_path / "a.csv", 6, bad=(4,))
    for tenant in ("default", "acme"):
        report = await ingest(str(path), producer, engine, readers=test_readers(), tenant_id=tenant)
        (file,) = report.files  # acme's run is not skipped because the default tenant ingested the file
        assert (file.status, file.accepted, file.rejected) == (FileStatus.PROCESSED, 5, 1)
    usage = await read_topic(broker, USAGE.name)
    by_tenant = {t: {m["record_id"] for m in usage if m["tenant_id"] == t} for t in ("default", "acme")}
    assert len(usage) == 10 and len(by_tenant["acme"]) == 5 and by_tenant["acme"] == by_tenant["default"]

    # In the ledger: the file once per tenant, the same record ids, each tenant's own rows and costs.
    writer = LedgerWriter(engine)
    records = [UsageRecord.model_validate(m) for m in usage]
    assert (await writer.write(records)).written == 10
    assert (await writer.write(records)).written == 0  # a replay changes nothing, for either tenant
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(UsageRow.tenant_id, func.count(), func.sum(UsageRow.billed_nanos)).group_by(UsageRow.tenant_id)
            )
        ).all()
    cost = to_nanos(expected_cost(6, bad=(4,)))
    assert sorted(tuple(r) for r in rows) == [("acme", 5, cost), ("default", 5, cost)]

    # A rerun for either tenant is a no-op: each has its own checkpoint.
    for tenant in ("default", "acme"):
        again = await ingest(str(path), producer, engine, readers=test_readers(), tenant_id=tenant)
        assert again.files[0].status is FileStatus.SKIPPED
    assert len(await read_topic(broker, USAGE.name)) == 10
    checkpoints = CheckpointStore(engine)
    assert checkpoint_key("default", str(path)) == str(path)  # the default tenant's checkpoints are as before
    for key in (str(path), f"acme:{path}"):
        done = await checkpoints.get(key)
        assert done is not None and (done.status, done.rows_accepted) == (DONE, 5)

    # A third tenant still gets the file, once.
    other = await ingest(str(path), producer, engine, readers=test_readers(), tenant_id="globex")
    assert other.files[0].status is FileStatus.PROCESSED
    assert {m["tenant_id"] for m in await read_topic(broker, USAGE.name)} == {"default", "acme", "globex"}


async def test_an_invalid_tenant_is_refused_before_anything_is_read_or_sent(
    tmp_path: Path, broker: str, producer: EventProducer, engine: AsyncEngine
) -> None:
    path = focus_export(tmp_path / "a.csv", 3)
    for bad in ("Acme", "", "acme:corp", "-acme"):
        with pytest.raises(ValueError, match="tenant id .* must be 1-63 lowercase letters"):
            await ingest(str(path), producer, engine, readers=test_readers(), tenant_id=bad)
        assert await CheckpointStore(engine).get(f"{bad}:{path}") is None
    assert await CheckpointStore(engine).get(str(path)) is None
    assert await read_topic(broker, USAGE.name) == []
