"""Business figures (`outlay.business_metrics.v1`) in the store: written by the metrics service's sink, read by the
gateway's unit-economics routes. One tenant per instance (`TenantScoped`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select

from outlay.events.business_metric import BusinessMetric
from outlay.spread import to_naive_utc
from outlay.store.models import BusinessMetricRow
from outlay.store.tenant_scope import TenantScoped
from outlay.store.upsert import upsert
from outlay.unit_economics.figures import MetricPoint

_CHUNK = 2000  # rows per INSERT: far below PostgreSQL's 32,767 bound parameters at 11 columns
_REPLACED = ("name", "grain", "period_start", "period_end", "value", "currency", "dimension", "dimension_value",
             "updated_at")  # fmt: skip


def _row(metric: BusinessMetric, now: datetime) -> dict[str, object]:
    return {
        "tenant_id": metric.tenant_id,
        "metric_id": metric.metric_id,
        "name": metric.name,
        "grain": metric.grain.value,
        "period_start": to_naive_utc(metric.period_start),
        "period_end": to_naive_utc(metric.period_end),
        "value": metric.value,
        "currency": metric.currency or "",
        "dimension": metric.dimension.value if metric.dimension else "",
        "dimension_value": metric.dimension_value or "",
        "updated_at": now,
    }


class BusinessMetricStore(TenantScoped):
    async def add(self, metrics: Sequence[BusinessMetric]) -> int:
        """Store this tenant's figures (others' are skipped); a known id gets the newer figure, so redelivery and
        replay leave one row per id. Returns how many were given to the store."""
        now = to_naive_utc(datetime.now(UTC))
        # The last figure of an id in the batch wins (the topic keeps a series' figures in order).
        rows = list({m.metric_id: _row(m, now) for m in metrics if m.tenant_id == self.tenant_id}.values())
        if not rows:
            return 0
        async with self._engine.begin() as conn:
            await upsert(conn, BusinessMetricRow.__table__, rows, ("tenant_id", "metric_id"), _REPLACED, _CHUNK)
        return len(rows)

    async def points(self, names: Sequence[str], start: datetime, end: datetime) -> list[MetricPoint]:
        """This tenant's figures of `names` whose periods start in [start, end) (naive or aware UTC)."""
        r = BusinessMetricRow
        stmt = (
            select(r.name, r.grain, r.period_start, r.value, r.currency, r.dimension, r.dimension_value)
            .where(
                self._mine(r),
                r.name.in_(list(names)),
                r.period_start >= to_naive_utc(start),
                r.period_start < to_naive_utc(end),
            )
            .order_by(r.period_start, r.metric_id)
        )
        async with self._engine.connect() as conn:
            result = (await conn.execute(stmt)).all()
        return [
            MetricPoint(
                name=name,
                grain=grain,
                period_start=period_start,
                value=value,
                currency=currency or None,
                dimension=dimension or None,
                dimension_value=dimension_value if dimension else None,
            )  # fmt: skip
            for name, grain, period_start, value, currency, dimension, dimension_value in result
        ]

    async def catalogue(self, start: datetime, end: datetime, limit: int = 10_000) -> dict[str, dict[str, list[str]]]:
        """The names of this tenant's figures whose periods start in [start, end), each with the customers and
        features its figures name (`POST /v1/ask` checks a question's metric and values against them). At most
        `limit` (name, dimension, value) triples are read."""
        r = BusinessMetricRow
        stmt = (
            select(r.name, r.dimension, r.dimension_value)
            .where(self._mine(r), r.period_start >= to_naive_utc(start), r.period_start < to_naive_utc(end))
            .distinct()
            .order_by(r.name, r.dimension, r.dimension_value)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            result = (await conn.execute(stmt)).all()
        out: dict[str, dict[str, list[str]]] = {}
        for name, dimension, value in result:
            by = out.setdefault(name, {})
            if dimension:
                by.setdefault(dimension, []).append(value)
        return out

    async def count(self) -> int:
        """Rows this tenant has (tests and operators check replays with it)."""
        r = BusinessMetricRow
        async with self._engine.connect() as conn:
            return len((await conn.execute(select(r.metric_id).where(self._mine(r)))).all())
