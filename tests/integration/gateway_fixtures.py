"""Ledger fixture data for the gateway tests, written through the real ledger writer.

The writer derives hour/day rollups with `outlay.spread.spread`; the gateway spreads usage rows into
minutes at query time, so the tests that compare grains check the two sides against each other.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection, connect

from outlay.events import CostKind, UsageRecord
from outlay.kafka.embedded_broker import free_port
from outlay.settings import Settings
from outlay.store.engine import make_engine
from services.gateway.app import create_app
from services.gateway.main import serving
from services.ingest.ledger.writer import LedgerWriter


def record(
    record_id: str,
    service: str,
    start: str,
    end: str,
    cost: str,
    *,
    kind: CostKind = CostKind.BILLED,
    currency: str = "USD",
    region: str = "us-east-1",
    account: str = "111111111111",
    resource: str | None = None,
    tags: dict[str, str] | None = None,
) -> UsageRecord:
    amount = Decimal(cost)
    return UsageRecord(
        record_id=record_id,
        source="test",
        cost_kind=kind,
        charge_period_start=datetime.fromisoformat(start),
        charge_period_end=datetime.fromisoformat(end),
        billing_account_id=account,
        region=region,
        service=service,
        resource_id=resource,
        billed_cost=amount,
        effective_cost=amount * Decimal("0.9"),
        list_cost=amount * 2,
        currency=currency,
        tags=tags or {},
    )


async def write_ledger(engine: AsyncEngine, records: list[UsageRecord]) -> None:
    result = await LedgerWriter(engine).write(records)
    assert result.written == len(records)


async def seed_scenario(store_url: str) -> str:
    """Write SCENARIO into the (migrated) store at `store_url`; returns the url for chaining."""
    engine = make_engine(store_url)
    try:
        await write_ledger(engine, SCENARIO)
    finally:
        await engine.dispose()
    return store_url


TIMEOUT = 30.0


def client(url: str) -> connect:
    # Unbounded client-side buffer: a test that stops reading early must still see the close frame
    # promptly (with flow control on, the client stops reading the socket and waits out close_timeout).
    return connect(url, max_queue=None)


async def wait_for(condition: Callable[[], bool], what: str, within: float = TIMEOUT) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def receive_until(
    ws: ClientConnection, accept: Callable[[dict[str, Any]], bool], within: float = TIMEOUT
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The first message `accept` takes, and every message seen before it."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while True:
            message = json.loads(await ws.recv())
            if accept(message):
                return message, seen
            seen.append(message)


@pytest.fixture
async def gateway(store_url: str, broker: str) -> AsyncIterator[tuple[str, FastAPI]]:
    await seed_scenario(store_url)
    app = create_app(Settings(DATABASE_URL=store_url, KAFKA_BOOTSTRAP_SERVERS=broker), heartbeat_seconds=0.3)
    port = free_port()
    async with serving(app, port, within=TIMEOUT):
        yield f"ws://127.0.0.1:{port}/v1/stream", app


@asynccontextmanager
async def api_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process HTTP client to `app`, with the app's lifespan (store engine, live stream) running."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


# The shared scenario: two days of bills, a live estimate overlapping one billed hour, and a EUR account.
SCENARIO: list[UsageRecord] = [
    # 1_000_000_007 nanos over 60 minutes: 47 minutes carry one extra nano-unit.
    record(
        "ec2-h10",
        "AmazonEC2",
        "2024-05-01T10:00",
        "2024-05-01T11:00",
        "1.000000007",
        tags={"team": "checkout"},
    ),
    record(
        "s3-d1",
        "AmazonS3",
        "2024-05-01T00:00",
        "2024-05-02T00:00",
        "2.40",
        region="us-west-2",
        tags={"team": "search"},
    ),
    record("ec2-d2", "AmazonEC2", "2024-05-02T05:00", "2024-05-02T06:00", "0.50", resource="i-0abc"),
    record("rds-eur", "AmazonRDS", "2024-05-01T12:00", "2024-05-01T13:00", "3.00", currency="EUR", account="222"),
    *[
        record(
            f"ec2-est-{m}",
            "AmazonEC2",
            f"2024-05-01T10:0{m}",
            f"2024-05-01T10:0{m + 1}",
            "0.33",
            kind=CostKind.ESTIMATED,
            tags={"team": "checkout"},
        )
        for m in range(3)
    ],
]
