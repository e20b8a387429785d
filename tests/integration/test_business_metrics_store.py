"""The business_metrics table on both stores (migration 0018): upsert per id, tenant confinement, Decimal values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
from sqlalchemy import text

from outlay.events.business_metric import BusinessMetric
from outlay.store.business_metrics import BusinessMetricStore
from outlay.store.engine import make_engine, upgrade

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
        assert await acme.add([_figure("a", "10.5"), _figure("b", "123456789012.123456789", hour=1)]) == 2
        assert await acme.add([_figure("a", "11.25"), _figure("a", "12.75")]) == 1  # the batch's last figure wins
        assert await acme.add([_figure("x", "1", tenant="globex")]) == 0  # not acme's: skipped
        await BusinessMetricStore(engine).for_tenant("globex").add([_figure("a", "99", tenant="globex")])
        points = await acme.points(["revenue"], START, START + timedelta(days=1))
        assert [(p.period_start, p.value, p.dimension, p.dimension_value, p.grain) for p in points] == [
            (datetime(2026, 11, 1, 0), Decimal("12.75"), "feature", "search", "hour"),
            # 21 significant digits: a float keeps 16-17, so this is exact only if the store keeps decimals exactly
            (datetime(2026, 11, 1, 1), Decimal("123456789012.123456789"), "feature", "search", "hour"),
        ]
        assert await acme.count() == 2 and await BusinessMetricStore(engine).for_tenant("globex").count() == 1
        assert await acme.points(["requests"], START, START + timedelta(days=1)) == []
    finally:
        await engine.dispose()


async def test_sqlite_figures_from_before_0022_read_back_as_decimals(tmp_path: Path) -> None:
    """A SQLite store migrated before 0022 kept figures as floats: after the upgrade they read back as the Decimal of
    their shortest repr, and new figures keep every digit."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await upgrade(url, "0021")
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO business_metrics (tenant_id, metric_id, name, grain, period_start, period_end, value,"
                    " currency, dimension, dimension_value, updated_at) VALUES ('acme', 'old', 'revenue', 'hour',"
                    " '2026-11-01 00:00:00.000000', '2026-11-01 01:00:00.000000', 10.25, 'USD', '', '',"
                    " '2026-11-01 00:00:00.000000')"
                )
            )
        await upgrade(url)
        acme = BusinessMetricStore(engine).for_tenant("acme")
        await acme.add([_figure("new", "98765432109876.000000001", hour=1)])
        points = await acme.points(["revenue"], START, START + timedelta(days=1))
        assert [p.value for p in points] == [Decimal("10.25"), Decimal("98765432109876.000000001")]
    finally:
        await engine.dispose()
