"""Utilization samples (`outlay.utilization.v1`) kept for the optimizer's lookback: five-minute rows of per-minute
values, so scans read live metering's samples instead of asking CloudWatch again (GetMetricData is billed per
metric). Only the metrics the optimizer reads are kept."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from outlay.events.utilization import UtilizationSample
from outlay.spread import to_naive_utc
from outlay.store.models import UtilizationRow
from outlay.store.tenant_scope import TenantScoped
from outlay.store.upsert import dialect_insert

KEPT_METRICS = frozenset({"CPUUtilization", "FreeableMemory"})  # rightsizing: EC2 CPU, RDS CPU and memory
MINUTES = tuple(f"m{k}" for k in range(5))
_CHUNK = 2000

Series = dict[tuple[str, str], list[tuple[datetime, float]]]  # (resource id, metric) -> [(5-min start, mean)]


def _bucket(at: datetime) -> tuple[datetime, str]:
    minute = to_naive_utc(at).replace(second=0, microsecond=0)
    return minute - timedelta(minutes=minute.minute % 5), MINUTES[minute.minute % 5]


class UtilizationStore(TenantScoped):
    """One tenant's five-minute utilization (two tenants metering the same resource ids never mix samples)."""

    async def add(self, samples: Sequence[UtilizationSample]) -> int:
        """Keep the samples of kept metrics (a sample seen again overwrites its own minute); returns how many."""
        rows: dict[tuple[str, str, datetime], dict[str, Any]] = {}
        kept = 0
        for sample in samples:
            if sample.metric not in KEPT_METRICS or sample.tenant_id != self.tenant_id:
                continue
            bucket, column = _bucket(sample.timestamp)
            key = (sample.resource_id, sample.metric, bucket)
            row = rows.get(key)
            if row is None:
                row = rows[key] = {"tenant_id": self.tenant_id, "resource_id": sample.resource_id, "metric": sample.metric, "bucket": bucket,
                                   "region": sample.region} | dict.fromkeys(MINUTES)  # fmt: skip
            row[column] = sample.value
            kept += 1
        values = list(rows.values())
        if not values:
            return 0
        async with self._engine.begin() as conn:
            for i in range(0, len(values), _CHUNK):
                stmt = dialect_insert(conn, UtilizationRow.__table__)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["tenant_id", "resource_id", "metric", "bucket"],
                    set_={m: func.coalesce(stmt.excluded[m], UtilizationRow.__table__.c[m]) for m in MINUTES},
                )
                await conn.execute(stmt, values[i : i + _CHUNK])
        return kept

    async def series(self, region: str, start: datetime, end: datetime) -> Series:
        """Every kept series of the region in [start, end): five-minute means of the minutes sampled."""
        lo, hi = to_naive_utc(start), to_naive_utc(end)
        table = UtilizationRow.__table__
        stmt = (
            select(table.c.resource_id, table.c.metric, table.c.bucket, *(table.c[m] for m in MINUTES))
            .where(self._mine(table.c), table.c.region == region, table.c.bucket >= lo, table.c.bucket < hi)
            .order_by(table.c.resource_id, table.c.metric, table.c.bucket)
        )
        out: Series = {}
        async with self._engine.connect() as conn:
            for row in await conn.execute(stmt):
                minutes = [v for v in row[3:] if v is not None]
                if minutes:
                    out.setdefault((row[0], row[1]), []).append(
                        (row[2].replace(tzinfo=UTC), sum(minutes) / len(minutes))
                    )
        return out

    async def prune(self, before: datetime) -> int:
        """Drop rows older than `before` (the lookback's start, with a margin)."""
        cutoff = to_naive_utc(before)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(UtilizationRow).where(self._mine(UtilizationRow), UtilizationRow.bucket < cutoff)
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
