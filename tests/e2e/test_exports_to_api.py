"""End to end through the real broker and PostgreSQL: export files → Kafka → ledger → /v1/costs.

The expected totals are computed here, independently of the parsers, straight from the files with
Decimal; the API's answer by service and by day must match them.
"""

from __future__ import annotations

import asyncio
import csv
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import pyarrow.parquet as pq
import pytest

from outlay.kafka.producer import EventProducer
from outlay.settings import Settings
from outlay.store.engine import make_engine
from services.gateway.app import create_app
from services.ingest.ledger.main import run as run_ledger
from services.ingest.pipeline import ingest
from tests.integration.gateway_fixtures import api_client

pytestmark = pytest.mark.e2e

Totals = dict[tuple[str, str], Decimal]  # (service, day) -> billed cost


def _day_shares(amount: Decimal, start: datetime, end: datetime) -> Iterator[tuple[str, Decimal]]:
    """Split an amount over the days of [start, end) in proportion to minutes (the ledger spreads evenly)."""
    minutes = Decimal(int((end - start).total_seconds() // 60))
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        lo, hi = max(day, start), min(day + timedelta(days=1), end)
        yield day.date().isoformat(), amount * Decimal(int((hi - lo).total_seconds() // 60)) / minutes
        day += timedelta(days=1)


def _focus_expected(path: Path) -> Totals:
    totals: Totals = defaultdict(Decimal)
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            start = datetime.fromisoformat(row["ChargePeriodStart"])
            end = datetime.fromisoformat(row["ChargePeriodEnd"])
            for day, share in _day_shares(Decimal(row["BilledCost"]), start, end):
                totals[(row["ServiceName"], day)] += share
    return totals


def _minute_floor(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0, tzinfo=None)


def _minute_ceil(ts: datetime) -> datetime:
    floor = _minute_floor(ts)
    return floor if floor == ts.replace(tzinfo=None) else floor + timedelta(minutes=1)


def _cur_expected(paths: list[Path]) -> Totals:
    totals: Totals = defaultdict(Decimal)
    columns = [
        "line_item_usage_start_date",
        "line_item_usage_end_date",
        "line_item_unblended_cost",
        "product_product_name",
        "line_item_product_code",
    ]
    for path in paths:
        for batch in pq.ParquetFile(path).iter_batches(columns=columns, batch_size=50_000):
            for row in batch.to_pylist():
                service = row["product_product_name"] or row["line_item_product_code"]
                start = _minute_floor(row["line_item_usage_start_date"])
                end = _minute_ceil(row["line_item_usage_end_date"])
                for day, share in _day_shares(Decimal(str(row["line_item_unblended_cost"])), start, end):
                    totals[(service, day)] += share
    return totals


async def _row_count(store_url: str) -> int:
    conn = await asyncpg.connect(store_url.replace("+asyncpg", ""))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM usage_records"))
    finally:
        await conn.close()


async def _wait_for_rows(store_url: str, expected: int, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (count := await _row_count(store_url)) < expected:
        assert asyncio.get_running_loop().time() < deadline, f"ledger wrote {count} of {expected} rows in {timeout}s"
        await asyncio.sleep(0.2)


@asynccontextmanager
async def _ledger(settings: Settings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_ledger(settings, stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)


async def _api_totals(settings: Settings, start: str, end: str) -> Totals:
    totals: Totals = defaultdict(Decimal)
    async with api_client(create_app(settings)) as client:
        response = await client.get(
            "/v1/costs",
            params={"start": start, "end": end, "granularity": "day", "group_by": "service"},
        )
    assert response.status_code == 200, response.text
    for row in response.json()["rows"]:
        totals[(row["group"]["service"], row["period_start"][:10])] += Decimal(row["cost"])
    return totals


def _assert_match(actual: Totals, expected: Totals) -> None:
    keys = {k for k, v in expected.items() if abs(v) >= Decimal("0.005")} | set(actual)
    mismatches = {k: (actual.get(k, Decimal(0)), expected.get(k, Decimal(0))) for k in keys}
    bad = {k: v for k, v in mismatches.items() if abs(v[0] - v[1]) >= Decimal("0.005")}
    assert not bad, f"{len(bad)} (service, day) totals differ, e.g. {sorted(bad.items())[:5]}"
    assert abs(sum(actual.values()) - sum(expected.values())) < Decimal("0.01")


async def _replay(broker: str, store_url: str, location: Path) -> int:
    engine = make_engine(store_url)
    try:
        async with EventProducer(broker) as producer:
            report = await ingest(str(location), producer, engine)
    finally:
        await engine.dispose()
    assert report.totals.rejected == 0, report.totals.reasons
    return report.totals.accepted


async def test_focus_sample_through_kafka_to_api(broker: str, store_url: str, shared_data: Path) -> None:
    path = shared_data / "focus_sample" / "focus_sample.csv"
    settings = Settings(KAFKA_BOOTSTRAP_SERVERS=broker, DATABASE_URL=store_url, OUTLAY_LEDGER_GROUP="e2e-focus")
    async with _ledger(settings):
        accepted = await _replay(broker, store_url, path)
        assert accepted == 1000
        await _wait_for_rows(store_url, accepted, timeout=60)
    actual = await _api_totals(settings, "2024-08-01", "2024-11-01")
    _assert_match(actual, _focus_expected(path))


async def test_workshop_cur_through_kafka_to_api(broker: str, store_url: str, shared_data: Path) -> None:
    # One month of WorkshopCUR (91,264 lines): every path the full export takes, in a quarter of the time (the whole
    # export's row counts are checked by test_sources_cur, its speed by make bench-ingest).
    path = (
        shared_data
        / "cur_samples/wa_labs_workshop_cur/cur/data/year=2018/month=12/Dec2018-WorkshopCUR-00001.snappy.parquet"
    )
    settings = Settings(KAFKA_BOOTSTRAP_SERVERS=broker, DATABASE_URL=store_url, OUTLAY_LEDGER_GROUP="e2e-cur")
    async with _ledger(settings):
        accepted = await _replay(broker, store_url, path)
        assert accepted == pq.ParquetFile(path).metadata.num_rows == 91_264
        await _wait_for_rows(store_url, accepted, timeout=240)
    actual = await _api_totals(settings, "2018-09-01", "2019-01-01")
    _assert_match(actual, _cur_expected([path]))
