"""`make bench-ingest`: WorkshopCUR parquet (334,911 hourly lines) file → Kafka → ledger in PostgreSQL.

In the same run it measures the raw baselines on the same machine, broker and database:
- raw producer: aiokafka (acks=all, lz4 at the same fast level, same linger) sending the same number of equally
  sized messages;
- raw COPY: asyncpg COPY of the same rows into a table shaped like the ledger's.
End-to-end runs `outlay ingest` and `outlay services run ledger` as two processes: the ledger is started first
and proven to be consuming (a warm-up record reaches PostgreSQL), as in a running platform; then the clock runs
from the start of the `outlay ingest` process (its imports and checks included) until the last row is in
PostgreSQL. Prints a table, then one JSON line with the figures.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from rich.console import Console
from rich.table import Table

from outlay.events import CostKind, LedgerProgress, UsageRecord
from outlay.events.topics import topic_for
from outlay.kafka.compression import use_fast_lz4
from outlay.kafka.embedded_broker import EmbeddedBroker
from outlay.kafka.producer import EventProducer
from outlay.kafka.topics_admin import ensure_topics
from outlay.spread import to_naive_utc
from outlay.store.engine import upgrade
from services.ingest.ledger.rollups import record_amounts
from services.ingest.ledger.writer import USAGE_COLUMNS, usage_values
from services.ingest.sources.detect import parser_for
from services.ingest.sources.tabular import iter_table

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("OUTLAY_SHARED_DATA", ROOT.parent / "shared" / "data"))
CUR_DIR = DATA / "cur_samples" / "wa_labs_workshop_cur" / "cur" / "data"
PG_ADMIN = os.environ.get("OUTLAY_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
console = Console()


def load_records() -> list:  # type: ignore[type-arg]
    records = []
    for path in sorted(CUR_DIR.rglob("*.parquet")):
        columns, rows = iter_table(path)
        for item in parser_for(columns).parse(rows, path.as_uri()):
            records.append(item)
    return records


async def raw_producer(bootstrap: str, payloads: list[tuple[bytes, bytes]]) -> float:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic("bench.raw.v1", num_partitions=4, replication_factor=1)])
    await admin.close()
    n = len(payloads)
    use_fast_lz4()  # the codec setting Outlay's producers use: the baseline differs only in being bare
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", compression_type="lz4", linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    t0 = time.perf_counter()
    pending = []
    for key, payload in payloads:
        pending.append(await producer.send("bench.raw.v1", payload, key=key))
        if len(pending) >= 20_000:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    elapsed = time.perf_counter() - t0
    await producer.stop()
    return n / elapsed


async def raw_copy(dsn: str, records: list) -> float:  # type: ignore[type-arg]
    """asyncpg COPY of the same rows, built by the ledger's own row function, into a twin table."""
    rows = [
        usage_values(
            r,
            to_naive_utc(r.charge_period_start),
            to_naive_utc(r.charge_period_end),
            record_amounts(r),
            json.dumps(r.tags),
        )
        for r in records
    ]
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TABLE bench_copy (LIKE usage_records INCLUDING ALL)")
    await conn.execute("ALTER TABLE bench_copy ALTER COLUMN tags TYPE text")
    t0 = time.perf_counter()
    await conn.copy_records_to_table("bench_copy", records=rows, columns=list(USAGE_COLUMNS))
    elapsed = time.perf_counter() - t0
    await conn.execute("DROP TABLE bench_copy")
    await conn.close()
    return len(rows) / elapsed


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def store_backend_cpu(conn: asyncpg.Connection) -> float:
    """CPU seconds of the PostgreSQL backends serving the bench database, except this connection."""
    pids = await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return sum(cpu_seconds(int(r["pid"])) for r in pids)


def peak_rss_mb_of_running(pid: int) -> float:
    """VmHWM of a live process (reset at exec, unlike a forked child's ru_maxrss)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    for line in lines:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def count_rows(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM usage_records"))


class ProgressCounter:
    """Counts the rows the ledger reports committed on `outlay.ledger.progress.v1`.

    The finish line of the timed run: the ledger publishes one event per committed transaction, so
    following it costs a few messages. (Polling `count(*)` ten times a second, as this bench once
    did, spent ~2.5 CPU-s of PostgreSQL scanning the growing table on the same two cores.)
    """

    def __init__(self, bootstrap: str) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        self.written = 0

    async def start(self) -> None:
        await self._consumer.start()
        partitions = [TopicPartition(topic_for(LedgerProgress).name, 0)]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        await self._consumer.position(partitions[0])  # positioned now, before the timed run starts

    async def poll(self) -> int:
        batch = await self._consumer.getmany(timeout_ms=100)
        for messages in batch.values():
            for message in messages:
                if message.value is not None:
                    self.written += LedgerProgress.model_validate_json(message.value).written
        return self.written

    async def stop(self) -> None:
        await self._consumer.stop()


async def _wait_until_ledger_consumes(
    bootstrap: str, dsn: str, ledger: subprocess.Popen[bytes], within: float = 60
) -> None:
    warm_up = UsageRecord(
        record_id="bench-warm-up",
        source="generator",
        cost_kind=CostKind.ESTIMATED,
        charge_period_start=datetime(2018, 9, 30, 23, 0, tzinfo=UTC),
        charge_period_end=datetime(2018, 9, 30, 23, 1, tzinfo=UTC),
        billing_account_id="bench",
        service="bench",
        billed_cost=Decimal(0),
        effective_cost=Decimal(0),
        list_cost=Decimal(0),
    )
    async with EventProducer(bootstrap, client_id="bench-warm-up") as producer:
        await producer.send_many([warm_up])
    conn = await asyncpg.connect(dsn.replace("+asyncpg", ""))
    try:
        deadline = time.perf_counter() + within
        while await count_rows(conn) < 1:
            if ledger.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError("the ledger did not start consuming; see /tmp/outlay-bench-ledger.log")
            await asyncio.sleep(0.05)  # polling the database for the warm-up row
    finally:
        await conn.close()


async def end_to_end(bootstrap: str, dsn: str, expected: int, broker_pid: int, timeout: float = 900) -> dict[str, Any]:
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=bootstrap, DATABASE_URL=dsn, OUTLAY_STATE_DIR="/tmp/outlay-bench")
    outlay = [sys.executable, "-m", "outlay.cli.main"]
    ledger = subprocess.Popen(
        [*outlay, "services", "run", "ledger"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open("/tmp/outlay-bench-ledger.log", "wb"),
    )  # noqa: SIM115
    # The replay goes through a running platform: the ledger is up and consuming (its group joined)
    # before the clock starts, as when a user runs `outlay ingest` beside `make run`. A warm-up record
    # proves it; the ingest process's whole start-up (imports, migration and topic checks) is timed.
    await _wait_until_ledger_consumes(bootstrap, dsn, ledger)
    progress = ProgressCounter(bootstrap)
    await progress.start()
    t0 = time.perf_counter()
    ingest = subprocess.Popen(
        [*outlay, "ingest", str(CUR_DIR), "--force"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open("/tmp/outlay-bench-ingest.log", "wb"),
    )  # noqa: SIM115
    ingest_rss = 0.0
    ledger_rss = 0.0
    ingest_seconds = float("nan")
    ingest_cpu = 0.0
    broker_cpu_start = cpu_seconds(broker_pid)
    conn = await asyncpg.connect(dsn.replace("+asyncpg", ""))
    try:
        while True:
            if ingest.returncode is None:
                ingest_rss = max(ingest_rss, peak_rss_mb_of_running(ingest.pid))
                pid, status, usage = os.wait4(ingest.pid, os.WNOHANG)
                if pid:
                    ingest.returncode = os.waitstatus_to_exitcode(status)
                    if ingest.returncode != 0:
                        raise RuntimeError("ingest failed; see /tmp/outlay-bench-ingest.log")
                    ingest_seconds = time.perf_counter() - t0
                    ingest_cpu = usage.ru_utime + usage.ru_stime
            if ledger.poll() is not None:
                raise RuntimeError("ledger exited; see /tmp/outlay-bench-ledger.log")
            ledger_rss = max(ledger_rss, peak_rss_mb_of_running(ledger.pid))
            if await progress.poll() >= expected:  # waits up to 100 ms for progress events
                break
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError("end-to-end did not finish in time")
        elapsed = time.perf_counter() - t0
        stored = await count_rows(conn) - 1  # the warm-up row
        if stored != expected:
            raise RuntimeError(f"the ledger reported {progress.written} rows written but {stored} are stored")
        ledger_cpu = cpu_seconds(ledger.pid)
        store_cpu = await store_backend_cpu(conn)
        broker_cpu = cpu_seconds(broker_pid) - broker_cpu_start
    finally:
        await conn.close()
        await progress.stop()
        ledger_rss = max(ledger_rss, peak_rss_mb_of_running(ledger.pid)) if ledger.poll() is None else ledger_rss
        ledger.send_signal(signal.SIGTERM)
        ledger.wait(timeout=30)
        if ingest.returncode is None:
            ingest.kill()
    return {
        "seconds": elapsed,
        "per_s": expected / elapsed,
        "ingest_seconds": ingest_seconds,
        "ingest_rss": ingest_rss,
        "ledger_rss": ledger_rss,
        "cpu": {
            "ingest": round(ingest_cpu, 2),
            "ledger": round(ledger_cpu, 2),
            "postgres": round(store_cpu, 2),
            "broker": round(broker_cpu, 2),
        },
    }


async def main() -> None:
    if not CUR_DIR.is_dir():
        console.print(f"shared data not found at {CUR_DIR}; set OUTLAY_SHARED_DATA")
        raise SystemExit(2)
    console.print("parsing WorkshopCUR once to size the baselines…")
    parsed = load_records()
    records = [r for r in parsed if hasattr(r, "record_id")]
    n = len(records)
    # The raw client sends the very bytes Outlay sends (same sizes, same compressibility), already encoded.
    payloads = [(r.key, r.model_dump_json().encode()) for r in records]
    avg_size = sum(len(p) for _, p in payloads) // n
    # The harness holds every record in memory for the baselines; keep the collector from walking
    # them, so the raw clients are not slowed by our harness (their own allocations are collected as usual).
    gc.collect()
    gc.freeze()
    name = f"outlay_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    await upgrade(dsn.replace("postgresql://", "postgresql+asyncpg://"))
    broker = EmbeddedBroker().start()
    try:
        await ensure_topics(broker.bootstrap_servers)
        console.print(f"raw producer baseline: {n} messages of {avg_size} bytes…")
        producer_rate = await raw_producer(broker.bootstrap_servers, payloads)
        del payloads
        console.print("raw COPY baseline…")
        copy_rate = await raw_copy(dsn, records)
        del parsed, records
        console.print("end to end: outlay ingest → Kafka → ledger → PostgreSQL…")
        assert broker.pid
        e2e = await end_to_end(
            broker.bootstrap_servers, dsn.replace("postgresql://", "postgresql+asyncpg://"), n, broker.pid
        )
        broker_rss = peak_rss_mb_of_running(broker.pid) if broker.pid else float("nan")
    finally:
        broker.stop()
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    slower = min(producer_rate, copy_rate)
    ratio = e2e["per_s"] / slower
    table = Table(title=f"bench-ingest: WorkshopCUR, {n} records")
    for col in ("measure", "records/s", "vs slower raw baseline"):
        table.add_column(col)
    table.add_row("raw aiokafka producer", f"{producer_rate:,.0f}", f"{producer_rate / slower:.2f}")
    table.add_row("raw asyncpg COPY", f"{copy_rate:,.0f}", f"{copy_rate / slower:.2f}")
    table.add_row("end to end (file→Kafka→ledger)", f"{e2e['per_s']:,.0f}", f"{ratio:.2f}")
    console.print(table)
    rss = {"ingest": round(e2e["ingest_rss"], 1), "ledger": round(e2e["ledger_rss"], 1), "broker": round(broker_rss, 1)}
    console.print(f"peak RSS (MB): {rss}")
    console.print(f"CPU seconds during end to end (2 cores = {2 * e2e['seconds']:.1f} available): {e2e['cpu']}")
    print(
        json.dumps(
            {
                "records": n,
                "e2e_records_per_s": round(e2e["per_s"]),
                "e2e_seconds": round(e2e["seconds"], 2),
                "ingest_done_seconds": round(e2e["ingest_seconds"], 2),
                "raw_producer_per_s": round(producer_rate),
                "raw_copy_per_s": round(copy_rate),
                "ratio": round(ratio, 3),
                "goal_ratio": 0.5,
                "peak_rss_mb": rss,
                "cpu_seconds": e2e["cpu"],
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
