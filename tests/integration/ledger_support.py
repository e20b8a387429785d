"""Helpers for the ledger tests: usage records with known costs, and what the store holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from outlay.events import CostKind, UsageRecord
from outlay.money import to_nanos
from outlay.store.engine import make_engine
from outlay.store.models import CostRollup, UsageRow

T0 = datetime(2024, 10, 1, tzinfo=UTC)


def usage(i: int, *, hours: int = 1, start: datetime | None = None, resource: str | None = None) -> UsageRecord:
    """Record number `i`: deterministic id and cost, spread over a few accounts, services and tags."""
    begin = start or T0 + timedelta(hours=i % 500)
    return UsageRecord(
        record_id=f"rec-{i:07d}",
        source="cur",
        source_ref=f"file:///test.csv#{i}",
        cost_kind=CostKind.BILLED,
        charge_period_start=begin,
        charge_period_end=begin + timedelta(hours=hours),
        billing_account_id=f"11112222333{i % 3}",
        sub_account_id=None if i % 4 == 0 else "444455556666",
        region="eu-west-1",
        service=("AmazonEC2", "AmazonS3", "AWSLambda")[i % 3],
        resource_id=resource if resource is not None else f"res-{i % 40}",
        usage_type="BoxUsage:m5.large",
        consumed_quantity=Decimal("1.5"),
        consumed_unit="Hrs",
        billed_cost=Decimal(i * 104729 % 9973) / Decimal(997),
        effective_cost=Decimal(i % 101) / Decimal(7),
        list_cost=Decimal("0.123456789"),
        tags={"team": f"t{i % 5}"} if i % 2 else {},
    )


@dataclass(frozen=True)
class StoreTotals:
    rows: int
    billed: int  # nano-units, from usage_records
    hour: tuple[int, int, int, int]  # billed, effective, list, records from hour rollups
    day: tuple[int, int, int, int]


def expected_nanos(records: list[UsageRecord]) -> tuple[int, int, int]:
    return (
        sum(to_nanos(r.billed_cost) for r in records),
        sum(to_nanos(r.effective_cost) for r in records),
        sum(to_nanos(r.list_cost) for r in records),
    )


async def store_totals(url: str) -> StoreTotals:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows, billed = (
                await conn.execute(select(func.count(), func.coalesce(func.sum(UsageRow.billed_nanos), 0)))
            ).one()
            grains = {}
            for grain in ("hour", "day"):
                q = select(
                    func.coalesce(func.sum(CostRollup.billed_nanos), 0),
                    func.coalesce(func.sum(CostRollup.effective_nanos), 0),
                    func.coalesce(func.sum(CostRollup.list_nanos), 0),
                    func.coalesce(func.sum(CostRollup.records), 0),
                ).where(CostRollup.grain == grain)
                grains[grain] = tuple(int(v) for v in (await conn.execute(q)).one())
    finally:
        await engine.dispose()
    return StoreTotals(int(rows), int(billed), grains["hour"], grains["day"])  # type: ignore[arg-type]


async def row_count(url: str) -> int:
    return (await store_totals(url)).rows
