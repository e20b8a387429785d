"""The ledger's Prometheus metrics move by exactly what it did: real broker, real PostgreSQL, `main.run`.

The registry is process-wide (other tests count too), so every check compares before and after.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY

from outlay.events.topics import USAGE
from outlay.settings import Settings
from outlay.store.engine import make_engine
from outlay.telemetry import start_metrics_server
from services.ingest.ledger.main import run
from services.ingest.ledger.writer import LedgerWriter
from tests.integration.ledger_support import usage
from tests.integration.test_ledger_consumer import TIMEOUT, produce, wait_for

SERIES = {
    "written": ("outlay_ledger_records_total", {"outcome": "written"}),
    "duplicate": ("outlay_ledger_records_total", {"outcome": "duplicate"}),
    "dead": ("outlay_dead_letters_total", {"stage": "ledger"}),
    "batches": ("outlay_ledger_batch_seconds_count", {}),
}


def snapshot() -> dict[str, float]:
    return {key: REGISTRY.get_sample_value(name, labels) or 0.0 for key, (name, labels) in SERIES.items()}


def moved(before: dict[str, float]) -> dict[str, float]:
    now = snapshot()
    return {key: now[key] - before[key] for key in SERIES}


async def test_ledger_counters_move_by_exactly_what_it_did(broker: str, store_url: str) -> None:
    # Live-like data: periods that ended a few minutes ago, so the lag gauge has a known upper bound.
    newest_end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    records = [usage(i, start=newest_end - timedelta(hours=1 + i % 3)) for i in range(40)]
    already = records[:6]  # written before the ledger runs: it must count them as duplicates
    engine = make_engine(store_url)
    try:
        assert (await LedgerWriter(engine).write(already)).written == len(already)
    finally:
        await engine.dispose()

    before = snapshot()
    raw = AIOKafkaProducer(bootstrap_servers=broker)
    await raw.start()
    try:
        for bad in (b"not json", b'{"record_id": "missing everything else"}'):
            await raw.send_and_wait(USAGE.name, bad, key=b"k")
    finally:
        await raw.stop()
    await produce(broker, records)

    settings = Settings(KAFKA_BOOTSTRAP_SERVERS=broker, DATABASE_URL=store_url, OUTLAY_LEDGER_GROUP="ledger-metrics")
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop))
    expected = {"written": 34.0, "duplicate": 6.0, "dead": 2.0}
    try:

        async def counted_everything() -> bool:
            delta = moved(before)
            return all(delta[key] >= value for key, value in expected.items())

        await wait_for(counted_everything, "the ledger counters to reach the records produced")
    finally:
        stop.set()
        stats = await asyncio.wait_for(task, TIMEOUT)

    delta = moved(before)
    assert {key: delta[key] for key in expected} == expected  # exactly: nothing counted twice
    assert stats.written == 34 and stats.duplicates == 6 and stats.dead_letters == 2
    assert delta["batches"] == stats.batches >= 1
    lag = REGISTRY.get_sample_value("outlay_ledger_lag_seconds")
    assert lag is not None
    # At most "now − the newest end written" (another test may have written newer data; never older).
    assert 0 <= lag <= time.time() - newest_end.timestamp() + 1


def test_metrics_server_serves_the_registry() -> None:
    server = start_metrics_server(0, "127.0.0.1")
    try:
        resp = httpx.get(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    for name in ("outlay_ledger_records_total", "outlay_ledger_batch_seconds", "outlay_dead_letters_total"):
        assert f"# TYPE {name.removesuffix('_total')}" in resp.text
    assert 'outlay_dead_letters_total{stage="metering"}' in resp.text  # series exist from the start
