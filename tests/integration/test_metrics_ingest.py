"""Ingest's Prometheus counters against the real broker and PostgreSQL: rows, dead letters and files.

The registry is process-wide (other tests count too), so every check compares before and after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from outlay.kafka.producer import EventProducer
from outlay.store.engine import make_engine
from services.ingest.pipeline import ingest
from services.ingest.report import FileStatus
from tests.integration.ingest_support import focus_export, test_readers, write_csv

SERIES = {
    "accepted": ("outlay_ingest_rows_total", {"source": "focus", "outcome": "accepted"}),
    "rejected": ("outlay_ingest_rows_total", {"source": "focus", "outcome": "rejected"}),
    "dead": ("outlay_dead_letters_total", {"stage": "ingest"}),
    **{status.value: ("outlay_ingest_files_total", {"status": status.value}) for status in FileStatus},
}


def snapshot() -> dict[str, float]:
    return {key: REGISTRY.get_sample_value(name, labels) or 0.0 for key, (name, labels) in SERIES.items()}


def moved(before: dict[str, float]) -> dict[str, float]:
    now = snapshot()
    return {key: now[key] - before[key] for key in SERIES if now[key] != before[key]}


@pytest.fixture
async def producer(broker: str) -> AsyncIterator[EventProducer]:
    async with EventProducer(broker, linger_ms=5) as prod:
        yield prod


async def test_ingest_counts_rows_dead_letters_and_files(
    tmp_path: Path, producer: EventProducer, store_url: str
) -> None:
    exports = tmp_path / "exports"
    focus_export(exports / "a.csv", 20, bad=(3, 7))
    focus_export(exports / "b.csv.gz", 10)
    write_csv(exports / "people.csv", [{"name": "Ada", "age": "36"}], columns=("name", "age"))
    engine = make_engine(store_url)
    try:
        before = snapshot()
        report = await ingest(str(exports), producer, engine, readers=test_readers(), chunk_size=4)
        first = moved(before)
        before = snapshot()
        await ingest(str(exports), producer, engine, readers=test_readers())
        second = moved(before)
    finally:
        await engine.dispose()
    assert [f.status for f in report.files].count(FileStatus.REFUSED) == 1  # people.csv is no cost export
    assert first == {"accepted": 28, "rejected": 2, "dead": 2, "processed": 2, "refused": 1}
    # Done files are skipped; the refused one is looked at again (it has no checkpoint) and refused again.
    assert second == {"skipped": 2, "refused": 1}
