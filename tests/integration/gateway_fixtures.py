"""Ledger fixture data for the gateway tests, written through the real ledger writer.

The writer derives hour/day rollups with `outlay.spread.spread`; the gateway spreads usage rows into
minutes at query time, so the tests that compare grains check the two sides against each other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.events import CostKind, UsageRecord
from outlay.store.engine import make_engine
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
