"""`make bench-api`: the gateway under load against the same query as raw SQL, on one PostgreSQL database.

Seeds a fresh database through the real ledger writer with 1,000 resources across 10 services and 90 days of daily
lines (which the ledger spreads into hourly rollups: 2.16 million hourly buckets), then, in the same run:

- the API: `GET /v1/costs?granularity=hour&group_by=service` over the 90 days (21,600 rows in the answer), from a
  real uvicorn server that follows the ledger's progress topic on the embedded broker: latency p50 / p99 of one
  client asking again and again (each request alone, as the raw SQL is timed), then requests/s and latency under
  load with `CONCURRENCY` clients at once. Twice: with the answer cache off, and on while a ledger commit of the
  tenant is announced on the real topic every COMMIT_EVERY seconds (each one ends the cached answer);
- the baseline: the SQL statement that answers that query with rows (the store's `rollup_statement`, which the
  gateway wraps to have PostgreSQL render the JSON), through asyncpg on the same database, one at a time,
  alternating with the uncached API's one-at-a-time requests, so both are timed under the same conditions: p50.

Goal (issue 6): p99 < 100 ms and API overhead (API p50 / raw SQL p50) <= 2. Last line: JSON (`p50_ms`, `p99_ms`,
`rps`: cache on, the default; `overhead_ratio`: uncached). The client runs on the same two cores as the server and
the database, so its share (reading the answer) is inside every API figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import httpx
from rich.console import Console
from rich.table import Table

from outlay.events import CostKind, LedgerProgress, UsageRecord
from outlay.kafka.embedded_broker import EmbeddedBroker, free_port
from outlay.kafka.producer import EventProducer
from outlay.kafka.topics_admin import ensure_topics
from outlay.settings import Settings
from outlay.store.engine import make_engine, upgrade
from services.gateway.answer_cache import CacheStats
from services.gateway.app import create_app
from services.gateway.costs_json import json_statement
from services.gateway.costs_query import CostStore
from services.gateway.main import serving
from services.gateway.query import build_query
from services.ingest.ledger.writer import LedgerWriter

PG_ADMIN = os.environ.get("OUTLAY_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
RESOURCES, SERVICES, DAYS = 1000, 10, 90  # ten services: a typical account's spread
START = datetime(2026, 6, 1, tzinfo=UTC)
CONCURRENCY, SECONDS = 8, 30.0
# Seconds between simulated commits in the answer's range: a restated bill every 5 s, and a backfill's pace.
COMMIT_EVERY, BUSY_COMMIT_EVERY = 5.0, 0.5
KEY = "bench-api-key-0123456789abcdef"
console = Console()


def records() -> list[UsageRecord]:
    out = []
    for r in range(RESOURCES):
        service = f"Service{r % SERVICES:02d}"
        for d in range(DAYS):
            day = START + timedelta(days=d)
            cost = Decimal(1 + (r * 7 + d * 3) % 50) / Decimal(10)
            out.append(
                UsageRecord(
                    record_id=f"r{r}-d{d}",
                    source="bench",
                    cost_kind=CostKind.BILLED,
                    charge_period_start=day,
                    charge_period_end=day + timedelta(days=1),
                    billing_account_id="111122223333",
                    service=service,
                    region="us-east-1",
                    resource_id=f"i-{r:012x}",
                    billed_cost=cost,
                    effective_cost=cost,
                    list_cost=cost,
                )  # fmt: skip
            )
    return out


async def seed(url: str) -> float:
    await upgrade(url)
    engine = make_engine(url)
    t0 = time.perf_counter()
    try:
        writer = LedgerWriter(engine)
        batch = records()
        for i in range(0, len(batch), 5000):
            await writer.write(batch[i : i + 5000])
    finally:
        await engine.dispose()
    return time.perf_counter() - t0


QUERY = {
    "start": START.date().isoformat(),
    "end": (START + timedelta(days=DAYS)).date().isoformat(),
    "granularity": "hour",
    "group_by": "service",
}


@dataclass
class ApiRun:
    alone: list[float]  # one client, each request alone (as the raw SQL is timed)
    loaded: list[float]  # CONCURRENCY clients at once
    rows: int
    hits: int = 0
    misses: int = 0
    commits: int = 0  # ledger progress events published during the run


async def announce_commits(bootstrap: str, every: float, run: ApiRun) -> None:
    """What a ledger does after each committed batch: a progress event for the tenant. The worst case for the cache:
    each commit is of a day inside the answer's range (a restated bill), so each one ends the answer."""
    day = START + timedelta(days=DAYS // 2)
    async with EventProducer(bootstrap, client_id="bench-api-ledger") as producer:
        while True:
            await asyncio.sleep(every)  # the cadence being simulated, not a synchronisation
            progress = LedgerProgress(written=1, duplicates=0, period_start=day, period_end=day + timedelta(days=1),
                                      cost_kinds=["billed"], committed_at=datetime.now(UTC))  # fmt: skip
            await producer.send_many([progress])
            run.commits += 1


async def api_run(
    url: str, bootstrap: str, cache_seconds: float, commit_every: float, raw: RawSql | None = None
) -> ApiRun:
    """The API timed one client at a time, then under load, with the gateway following ledger progress (as in a
    running platform) and the answer cache on (`cache_seconds` > 0) or off; a commit is announced every
    `commit_every` seconds throughout."""
    settings = Settings(DATABASE_URL=url, OUTLAY_API_KEY=KEY, OUTLAY_RATE_LIMIT_PER_MINUTE=0,
                        KAFKA_BOOTSTRAP_SERVERS=bootstrap, OUTLAY_API_CACHE_SECONDS=cache_seconds)  # fmt: skip
    app = create_app(settings)
    port = free_port()
    run = ApiRun(alone=[], loaded=[], rows=0)
    async with (
        serving(app, port, within=60),
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {KEY}"}, timeout=60
        ) as http,
    ):
        first = await http.get("/v1/costs", params=QUERY)  # warm-up (and the answer's size)
        first.raise_for_status()
        run.rows = len(first.json()["rows"])
        commits = asyncio.create_task(announce_commits(bootstrap, commit_every, run))

        async def client(deadline: float, out: list[float], baseline: RawSql | None = None) -> None:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                reply = await http.get("/v1/costs", params=QUERY)
                reply.raise_for_status()  # (the body has been read: parsing it is the client's own work)
                out.append(time.perf_counter() - t0)
                if baseline is not None:
                    await baseline.once()  # interleaved: both measured under the same conditions

        try:
            await client(time.perf_counter() + SECONDS / 2, run.alone, raw)
            deadline = time.perf_counter() + SECONDS / 2
            await asyncio.gather(*(client(deadline, run.loaded) for _ in range(CONCURRENCY)))
        finally:
            commits.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await commits
        stats: CacheStats = app.state.answers.stats
        run.hits, run.misses = stats.hits, stats.misses
    return run


class RawSql:
    """The statement CostStore runs for QUERY, compiled with its values, timed through asyncpg, one at a time."""

    def __init__(self, url: str) -> None:
        query = build_query(start=QUERY["start"], end=QUERY["end"], granularity="hour", group_by=["service"],
                            dimension_filters={}, tag_filters=[], metric=None)  # fmt: skip
        engine = make_engine(url)
        rows = CostStore(engine).rollup_statement(query)
        literal = {"literal_binds": True}
        self.sql = str(rows.compile(engine.sync_engine, compile_kwargs=literal))
        # The very statement the gateway sends (the rows rendered as JSON by PostgreSQL), for a second ratio.
        self.json_sql = str(json_statement(rows, query).compile(engine.sync_engine, compile_kwargs=literal))
        self._url = url.replace("+asyncpg", "")
        self._conn: asyncpg.Connection | None = None
        self.timings: list[float] = []
        self.json_timings: list[float] = []
        self.rows = 0

    async def open(self) -> None:
        self._conn = await asyncpg.connect(self._url)
        self.rows = len(await self._conn.fetch(self.sql))  # warm-up

    async def once(self) -> None:
        assert self._conn is not None
        for sql, timings in ((self.sql, self.timings), (self.json_sql, self.json_timings)):
            t0 = time.perf_counter()
            await self._conn.fetch(sql)
            timings.append(time.perf_counter() - t0)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def figures_of(run: ApiRun) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(run.alone, 50) * 1000, 2),
        "p99_ms": round(percentile(run.alone, 99) * 1000, 2),
        "p50_ms_under_load": round(percentile(run.loaded, 50) * 1000, 2),
        "p99_ms_under_load": round(percentile(run.loaded, 99) * 1000, 2),
        "rps": round(len(run.loaded) / (SECONDS / 2), 1),
    }


async def main() -> None:
    name = f"outlay_bench_api_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    broker = EmbeddedBroker().start()
    try:
        await ensure_topics(broker.bootstrap_servers)
        console.print(f"seeding {RESOURCES} resources x {DAYS} days through the ledger writer…")
        seeded = await seed(url)
        console.print(f"  {seeded:.1f} s")
        baseline = RawSql(url)
        await baseline.open()
        console.print(
            f"API, answer cache off (raw SQL interleaved): 1 client then {CONCURRENCY} clients, {SECONDS:.0f} s…"
        )
        cold = await api_run(url, broker.bootstrap_servers, cache_seconds=0, commit_every=COMMIT_EVERY, raw=baseline)
        await baseline.close()
        raw, raw_rows = baseline.timings, baseline.rows
        console.print(f"API, answer cache on, a commit in the answer's range every {COMMIT_EVERY:.0f} s: the same…")
        warm = await api_run(url, broker.bootstrap_servers, cache_seconds=60, commit_every=COMMIT_EVERY)
        console.print(f"API, answer cache on, a commit in the answer's range every {BUSY_COMMIT_EVERY} s: the same…")
        busy = await api_run(url, broker.bootstrap_servers, cache_seconds=60, commit_every=BUSY_COMMIT_EVERY)
    finally:
        broker.stop()
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    raw_p50 = statistics.median(raw) * 1000
    c, w, b = figures_of(cold), figures_of(warm), figures_of(busy)
    lookups = warm.hits + warm.misses
    figures = {
        **w,
        "raw_sql_p50_ms": round(raw_p50, 2),
        # The query path's own overhead: uncached API p50 against the same SQL run raw.
        "overhead_ratio": round(c["p50_ms"] / raw_p50, 3),
        # Against the very statement the gateway runs (its JSON rendered by PostgreSQL), run raw.
        "raw_same_statement_p50_ms": round(statistics.median(baseline.json_timings) * 1000, 2),
        "overhead_ratio_same_statement": round(c["p50_ms"] / (statistics.median(baseline.json_timings) * 1000), 3),
        "cached_overhead_ratio": round(w["p50_ms"] / raw_p50, 3),
        "uncached": c,
        "commit_every_0_5s": {**b, "cache_hit_ratio": round(busy.hits / max(1, busy.hits + busy.misses), 3)},
        "cache_hit_ratio": round(warm.hits / lookups, 3) if lookups else 0.0,
        "commits_announced": warm.commits, "commit_every_s": COMMIT_EVERY,
        "requests": sum(len(r.alone) + len(r.loaded) for r in (cold, warm, busy)),
        "concurrency": CONCURRENCY, "rows_per_answer": warm.rows, "raw_rows": raw_rows, "seed_seconds": round(seeded, 1),
    }  # fmt: skip
    table = Table("measure", "cache off", f"cache on, commit/{COMMIT_EVERY:.0f} s", f"cache on, commit/{BUSY_COMMIT_EVERY} s",
                  "raw SQL", title="bench-api: GET /v1/costs, 90 days hourly by service")  # fmt: skip
    table.add_row("p50 ms (one at a time)", *(f"{f['p50_ms']:.1f}" for f in (c, w, b)), f"{raw_p50:.1f}")
    table.add_row("p99 ms (one at a time)", *(f"{f['p99_ms']:.1f}" for f in (c, w, b)),
                  f"{percentile(raw, 99) * 1000:.1f}")  # fmt: skip
    table.add_row(f"p50 / p99 ms ({CONCURRENCY} clients)",
                  *(f"{f['p50_ms_under_load']:.1f} / {f['p99_ms_under_load']:.1f}" for f in (c, w, b)), "")  # fmt: skip
    table.add_row(f"requests/s ({CONCURRENCY} clients)", *(f"{f['rps']}" for f in (c, w, b)),
                  f"{1000 / raw_p50:.1f} (one at a time)")  # fmt: skip
    console.print(table)
    console.print(
        f"cache (commit every {COMMIT_EVERY:.0f} s): {warm.hits} hits, {warm.misses} misses, {warm.commits} commits; "
        f"every {BUSY_COMMIT_EVERY} s: {busy.hits} hits, {busy.misses} misses, {busy.commits} commits. Overhead ratio "
        f"(uncached API p50 / raw SQL p50): {figures['overhead_ratio']} (goal <= 2); against the gateway's own "
        f"statement run raw: {figures['overhead_ratio_same_statement']}; p99 goal < 100 ms"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
