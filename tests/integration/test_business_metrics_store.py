"""The business_metrics table on both stores (migration 0018): upsert per id, tenant confinement, Decimal values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from outlay.events.business_metric import BusinessMetric
from outlay.store.business_metrics import BusinessMetricStore
from outlay.store.engine import make_engine

START = datetime(2026, 11, 1, tzinfo=UTC)


def _figure(metric_id: str, value: str, tenant: str = "acme", hour: int = 0) -> BusinessMetric:
    start = START + timedelta(hours=hour)
    return BusinessMetric(
        metric_id=metric_id, tenant_id=tenant, name="revenue", period_start=start, period_end=start + timedelta(hours=1),
        value=Decimal(value), currency="USD", dimension="feature", dimension_value="search",
    )  # fmt: skip


async def test_one_row_per_id_the_newest_figure_kept_each_tenant_alone(dialect_url: str) -> None:
    if dialect_url.startswith("postgresql"):  # the shared fixture empties the older tables only
        conn = await asyncpg.connect(dialect_url.replace("+asyncpg", ""))
        await conn.execute("TRUNCATE business_metrics")
        await conn.close()
    engine = make_engine(dialect_url)
    try:
        acme = BusinessMetricStore(engine).for_tenant("acme")
        assert await acme.add([_figure("a", "10.5"), _figure("b", "1234567.123456789", hour=1)]) == 2
        assert await acme.add([_figure("a", "11.25"), _figure("a", "12.75")]) == 1  # the batch's last figure wins
        assert await acme.add([_figure("x", "1", tenant="globex")]) == 0  # not acme's: skipped
        await BusinessMetricStore(engine).for_tenant("globex").add([_figure("a", "99", tenant="globex")])
        points = await acme.points(["revenue"], START, START + timedelta(days=1))
        assert [(p.period_start, p.value, p.dimension, p.dimension_value, p.grain) for p in points] == [
            (datetime(2026, 11, 1, 0), Decimal("12.75"), "feature", "search", "hour"),
            (datetime(2026, 11, 1, 1), Decimal("1234567.123456789"), "feature", "search", "hour"),
        ]
        assert await acme.count() == 2 and await BusinessMetricStore(engine).for_tenant("globex").count() == 1
        assert await acme.points(["requests"], START, START + timedelta(days=1)) == []
    finally:
        await engine.dispose()
