"""The store adapter behind /v1/costs: SQL for the rollups, usage records spread for minutes.

Hour and day answers come straight from the rollups (`cost_rollups_service` when the query neither groups nor
filters by resource or tag, else `cost_rollups`; on PostgreSQL rendered by the database: `costs_json`); minute
answers spread the overlapping
`usage_records` (see `minutes.MinuteGrid`). Both dialects (PostgreSQL, SQLite) run the same statements;
tag access uses SQLAlchemy's JSON index + `as_string()`, which both understand.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, func, select, text

from outlay.events import CostKind
from outlay.events.usage import MAX_CHARGE_PERIOD
from outlay.spread import Grain
from outlay.store.models import SERVICE_ROLLUP_KEY, CostRollup, ServiceRollup, UsageRow
from outlay.store.tenant_scope import TenantScoped
from services.gateway.costs_json import body, json_statement
from services.gateway.minutes import MinuteGrid, TooManyCells
from services.gateway.query import DIMENSIONS, CostQuery, Filters, GroupKey, Metric, TimeRange, too_many_cells
from services.gateway.report import CostReport, CostRow, KindAmounts, ReconciliationReport

# The minute grid may hold this many times the answer's row cap while it accumulates: groups with
# sparse coverage take cells in the grid that never become rows.
GRID_SLACK = 10

Model = type[CostRollup] | type[UsageRow] | type[ServiceRollup]


def rollup_model(query: CostQuery) -> type[CostRollup] | type[ServiceRollup]:
    """The coarsest rollups that answer `query`: per service when it neither groups nor filters by resource or tag
    (the same sums, from far fewer buckets), else per resource and tag set."""
    service_level = set(SERVICE_ROLLUP_KEY)
    fine = (
        any(key.tag or key.name not in service_level for key in query.group_by)
        or query.filters.tags
        or any(dim not in service_level for dim in query.filters.dimensions)
    )
    return CostRollup if fine else ServiceRollup


def group_expr(model: Model, key: GroupKey) -> ColumnElement[Any]:
    if key.tag:  # (never asked of ServiceRollup: rollup_model keeps tag queries on the per-resource rollups)
        return model.tags[key.name].as_string()  # type: ignore[union-attr]
    return getattr(model, key.name)  # type: ignore[no-any-return]


def filter_clauses(model: Model, filters: Filters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [getattr(model, dim).in_(values) for dim, values in filters.dimensions.items()]
    clauses.extend(model.tags[key].as_string().in_(values) for key, values in filters.tags.items())  # type: ignore[union-attr]
    return clauses


def _sort_key(row: CostRow) -> tuple[datetime, tuple[tuple[bool, str], ...]]:
    # Sorted here rather than in SQL: PostgreSQL and SQLite place NULLs (missing tags) differently.
    return row.period_start, tuple((value is None, value or "") for value in row.group)


# The dimensions listed by `dimensions` (resource ids are too many to list; they are found through costs).
LISTED_DIMENSIONS = tuple(d for d in DIMENSIONS if d in SERVICE_ROLLUP_KEY)


class CostStore(TenantScoped):
    """Read-only queries of one tenant's ledger for the gateway."""

    async def ping(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def costs_body(self, query: CostQuery) -> bytes:
        """The JSON answer to `query`: rendered by PostgreSQL for rollups there (large answers), else in Python."""
        if query.grain is Grain.MINUTE or self._engine.dialect.name != "postgresql":
            return orjson.dumps((await self.costs(query)).to_json())
        async with self._engine.connect() as conn:
            cells, rows, totals = (await conn.execute(json_statement(self.rollup_statement(query), query))).one()
        return body(query, cells, rows, totals)

    async def costs(self, query: CostQuery) -> CostReport:
        if query.grain is Grain.MINUTE:
            rows = await self._minute_rows(query)
        else:
            rows = await self._rollup_rows(query)
        rows.sort(key=_sort_key)
        return CostReport(query=query, rows=rows)

    async def _rollup_rows(self, query: CostQuery) -> list[CostRow]:
        stmt = self.rollup_statement(query)
        async with self._engine.connect() as conn:
            result = (await conn.execute(stmt)).all()
        if len(result) > query.max_cells:
            raise too_many_cells(query)
        return [CostRow(period_start=r[0], group=tuple(r[1:-1]), nanos=int(r[-1])) for r in result]

    def rollup_statement(self, query: CostQuery) -> Select[Any]:
        """The SQL a rollup query runs (the API benchmark times it raw)."""
        model = rollup_model(query)
        metric_col = getattr(model, query.metric.column)
        # Group in an outer query over labelled columns: PostgreSQL would not match `tags ->> $1` in
        # SELECT with `tags ->> $2` in GROUP BY, since each bound tag key is a separate parameter.
        inner = (
            select(
                model.period_start.label("period_start"),
                *[group_expr(model, key).label(f"g{i}") for i, key in enumerate(query.group_by)],
                metric_col.label("nanos"),
            )
            .where(
                self._mine(model),
                model.grain == query.grain.value,
                model.period_start >= query.range.start,
                model.period_start < query.range.end,
                *filter_clauses(model, query.filters),
            )
            .subquery()
        )
        groups = [inner.c[f"g{i}"] for i in range(len(query.group_by))]
        return (
            select(inner.c.period_start, *groups, func.sum(inner.c.nanos))
            .group_by(inner.c.period_start, *groups)
            .limit(query.max_cells + 1)
        )

    def _usage_select(self, query: CostQuery) -> Select[Any]:
        metric_col = getattr(UsageRow, query.metric.column)
        return select(
            UsageRow.charge_period_start,
            UsageRow.charge_period_end,
            metric_col,
            *[group_expr(UsageRow, key) for key in query.group_by],
        ).where(
            self._mine(UsageRow),
            UsageRow.charge_period_start < query.range.end,
            # No record is longer than MAX_CHARGE_PERIOD, so this lower bound loses nothing and lets the
            # period index bound the scan (live ticks ask for the last minutes of a long history).
            UsageRow.charge_period_start > query.range.start - MAX_CHARGE_PERIOD,
            UsageRow.charge_period_end > query.range.start,
            *filter_clauses(UsageRow, query.filters),
        )

    async def _minute_rows(self, query: CostQuery) -> list[CostRow]:
        grid = MinuteGrid(query.range.start, query.range.end, max_cells=query.max_cells * GRID_SLACK)
        async with self._engine.connect() as conn:
            result = await conn.stream(self._usage_select(query))
            try:
                async for part in result.partitions(2000):
                    for period_start, period_end, nanos, *group in part:
                        grid.add(tuple(group), int(nanos), period_start, period_end)
            except TooManyCells:
                raise too_many_cells(query) from None
            finally:
                await result.close()
        rows: list[CostRow] = []
        for minute, group, nanos in grid.cells():
            if len(rows) >= query.max_cells:
                raise too_many_cells(query)
            rows.append(CostRow(period_start=minute, group=group, nanos=nanos))  # type: ignore[arg-type]
        return rows

    async def dimensions(self, time_range: TimeRange, cap: int) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """The values costs can be grouped and filtered by over `time_range` (days): per dimension, and per tag key
        (at most `cap` of each, in order)."""
        r, c = ServiceRollup, CostRollup
        days = (Grain.DAY.value, time_range.start, time_range.end)
        values: dict[str, list[str]] = {}
        async with self._engine.connect() as conn:
            for name in LISTED_DIMENSIONS:
                col = getattr(r, name)
                stmt = (
                    select(col).distinct()
                    .where(self._mine(r), r.grain == days[0], r.period_start >= days[1], r.period_start < days[2])
                    .order_by(col).limit(cap)
                )  # fmt: skip
                values[name] = [v for (v,) in await conn.execute(stmt) if v != ""]
            tag_sets = (
                select(c.tags_hash, func.min(c.id))
                .where(self._mine(c), c.grain == days[0], c.period_start >= days[1], c.period_start < days[2])
                .group_by(c.tags_hash)
            )  # one row per distinct tag set
            ids = [row_id for _, row_id in await conn.execute(tag_sets)]
            tags: dict[str, set[str]] = {}
            for start in range(0, len(ids), 5000):
                for (tag_set,) in await conn.execute(select(c.tags).where(c.id.in_(ids[start : start + 5000]))):
                    for key, value in (tag_set or {}).items():
                        tags.setdefault(key, set()).add(value)
        return values, {k: sorted(v)[:cap] for k, v in sorted(tags.items())[:cap]}

    async def reconciliation(self, time_range: TimeRange, metric: Metric) -> ReconciliationReport:
        r = ServiceRollup  # per service and day: the service-level rollups hold every such sum
        metric_col = getattr(r, metric.column)
        stmt = (
            select(r.period_start, r.service, r.currency, r.cost_kind, func.sum(metric_col))
            .where(
                self._mine(r),
                r.grain == Grain.DAY.value,
                r.period_start >= time_range.start,
                r.period_start < time_range.end,
                r.cost_kind.in_((CostKind.ESTIMATED.value, CostKind.BILLED.value)),
            )
            .group_by(r.period_start, r.service, r.currency, r.cost_kind)
        )
        async with self._engine.connect() as conn:
            result = (await conn.execute(stmt)).all()
        return ReconciliationReport(
            start=time_range.start, end=time_range.end, metric=metric.value, cells=_by_kind(result)
        )


def _by_kind(result: Sequence[Any]) -> dict[tuple[datetime, str, str], KindAmounts]:
    cells: dict[tuple[datetime, str, str], KindAmounts] = {}
    for day, service, currency, kind, nanos in result:
        key = (day, service, currency)
        current = cells.get(key, KindAmounts())
        if kind == CostKind.ESTIMATED:
            current = KindAmounts(estimated=current.estimated + int(nanos), billed=current.billed)
        else:
            current = KindAmounts(estimated=current.estimated, billed=current.billed + int(nanos))
        cells[key] = current
    return cells
