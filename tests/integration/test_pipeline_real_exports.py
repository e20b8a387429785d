"""The pipeline on a real public export (FinOps Foundation FOCUS sample) into the real broker."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.events.topics import USAGE
from outlay.kafka.producer import EventProducer
from outlay.store.engine import make_engine
from services.ingest.pipeline import ingest
from services.ingest.report import FileStatus
from tests.integration.ingest_support import read_topic, test_readers


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(sqlite_url)  # the zero-setup store: checkpoints must work there too
    yield eng
    await eng.dispose()


async def test_focus_sample_reconciles_with_the_file(shared_data: Path, broker: str, engine: AsyncEngine) -> None:
    path = shared_data / "focus_sample" / "focus_sample.csv"
    # The expected total, computed independently of the parsers: sum BilledCost per currency.
    expected: dict[str, Decimal] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            currency = row["BillingCurrency"]
            expected[currency] = expected.get(currency, Decimal(0)) + Decimal(row["BilledCost"])

    async with EventProducer(broker) as producer:
        report = await ingest(str(path), producer, engine, readers=test_readers())
        (file,) = report.files
        assert (file.status, file.format) == (FileStatus.PROCESSED, "focus")
        assert (file.accepted, file.rejected) == (1000, 0)  # a clean, real export: every line in
        assert file.cost == expected
        usage = await read_topic(broker, USAGE.name)
        assert len(usage) == 1000 and len({m["record_id"] for m in usage}) == 1000
        assert sum((Decimal(m["billed_cost"]) for m in usage), Decimal(0)) == expected["USD"]

        again = await ingest(str(path), producer, engine, readers=test_readers())
        assert again.files[0].status is FileStatus.SKIPPED
