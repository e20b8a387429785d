"""Shared fixtures: a real Kafka-protocol broker, a real PostgreSQL database, a local moto server.

- `broker`: a fresh embedded broker per test (it starts in ~20 ms and keeps everything in memory), with
  Outlay's topics created; or the broker in KAFKA_BOOTSTRAP_SERVERS when set (then tests share it).
- `pg_url`: a PostgreSQL database made for this test session and migrated to head; `store_url` is the
  same database emptied before each test that asks for it.
- `moto_url`: one moto server for the session (AWS cannot run here; moto stands in for it).
- `shared_data`: ../shared/data, or the test is skipped with a message saying the data is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.kafka.embedded_broker import EmbeddedBroker, free_port, wait_for_port
from outlay.kafka.topics_admin import ensure_topics
from outlay.store.engine import make_engine, upgrade
from outlay.telemetry import tracing

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("OUTLAY_SHARED_DATA", ROOT.parent / "shared" / "data"))
# The gateway fixtures (a uvicorn gateway on a real broker and store) serve several test modules.
pytest_plugins = ["tests.integration.gateway_fixtures"]
PG_ADMIN_DSN = os.environ.get("OUTLAY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED_DATA} (set OUTLAY_SHARED_DATA); skipping")
    return SHARED_DATA


@pytest.fixture
async def broker() -> AsyncIterator[str]:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        await ensure_topics(external)
        yield external
        return
    with EmbeddedBroker() as embedded:
        await ensure_topics(embedded.bootstrap_servers)
        yield embedded.bootstrap_servers


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    name = f"outlay_test_{uuid.uuid4().hex[:8]}"
    try:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
    except OSError as exc:  # pragma: no cover - environment problem, say so plainly
        pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN_DSN}: {exc}")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    url = f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    await upgrade(url)
    yield url
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture
async def store_url(pg_url: str) -> str:
    """The session's PostgreSQL database, emptied for this test."""
    conn = await asyncpg.connect(pg_url.replace("+asyncpg", ""))
    await conn.execute(
        "TRUNCATE usage_records, cost_rollups, cost_rollups_service, ingest_checkpoints, anomalies, budgets, plans, recommendations,"
        " audit_events, synced_prices, utilization_5m, api_keys, webhooks, webhook_deliveries, tenants, users, policies,"
        " allocation_rules, business_metrics, iac_estimates, user_passwords, password_tokens, user_sessions, deployments"
        " RESTART IDENTITY"
    )
    await conn.close()
    return pg_url


@pytest.fixture
async def engine(store_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on this test's PostgreSQL database (`store_url`), disposed after it (a module may define its own
    `engine` on another database)."""
    made = make_engine(store_url)
    yield made
    await made.dispose()


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'outlay.db'}"
    await upgrade(url)
    return url


@pytest.fixture(params=["postgresql", "sqlite"])
def dialect_url(request: pytest.FixtureRequest) -> str:
    """The test runs once on each store: the emptied PostgreSQL database, then a fresh SQLite file."""
    return str(request.getfixturevalue("store_url" if request.param == "postgresql" else "sqlite_url"))


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def aws_env(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 at the moto server with dummy credentials."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return moto_url


_SPANS = InMemorySpanExporter()


@pytest.fixture
def traced() -> Iterator[InMemorySpanExporter]:
    """This process traced into memory for the test. A process keeps its first tracer provider, so every test
    shares one; the exporter is emptied before each, and tracing is off again after it."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_SPANS))
        tracing.use_provider(provider)
    else:
        tracing.use_provider(trace.get_tracer_provider())  # type: ignore[arg-type]
    _SPANS.clear()
    try:
        yield _SPANS
    finally:
        tracing.stop_tracing()
