"""`outlay costs`: the ledger's costs by one dimension over a period, as a table, JSON or Markdown."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from rich.table import Table

from outlay.settings import get_settings
from outlay.spread import GRAIN_STEP, Grain, floor_to
from outlay.store.engine import make_engine, upgrade
from services.gateway.costs_query import CostStore
from services.gateway.query import build_query
from services.gateway.report import CostReport, iso, money


def _aligned(start: datetime, end: datetime, grain: Grain) -> tuple[datetime, datetime]:
    lo = floor_to(start, grain)
    hi = floor_to(end, grain)
    return lo, (hi if hi == end else hi + GRAIN_STEP[grain])


def summarise(report: CostReport, by: str, per_period: bool) -> list[dict[str, str]]:
    """Rows of {period?, <by>, currency, cost_kind, cost}, largest first within a period."""
    labels = [key.label for key in report.query.group_by]
    sums: dict[tuple[str, ...], int] = defaultdict(int)
    for row in report.rows:
        group = dict(zip(labels, row.group, strict=True))
        period = iso(row.period_start) if per_period else ""
        sums[(period, group.get(by) or "(none)", group["currency"] or "", group["cost_kind"] or "")] += row.nanos
    ordered = sorted(sums.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
    out = []
    for (period, value, currency, kind), nanos in ordered:
        item = {"period": period} if per_period else {}
        item.update({by: value, "currency": currency, "cost_kind": kind, "cost": money(nanos)})
        out.append(item)
    return out


async def render_costs(by: str, start: datetime, end: datetime, granularity: str, fmt: str) -> object:
    grain = Grain.DAY if granularity == "total" else Grain(granularity)
    lo, hi = _aligned(start, end, grain)
    query = build_query(
        start=lo.isoformat(),
        end=hi.isoformat(),
        granularity=grain.value,
        group_by=[by],
        dimension_filters={},
        tag_filters=[],
        metric=None,
    )
    settings = get_settings()
    await upgrade(settings.store_url)  # a fresh store answers with no rows rather than "no such table"
    engine = make_engine(settings.store_url)
    try:
        report = await CostStore(engine).costs(query)
    finally:
        await engine.dispose()
    rows = summarise(report, by, per_period=granularity != "total")
    if fmt == "json":
        return json.dumps({"start": iso(lo), "end": iso(hi), "group_by": by, "rows": rows}, indent=2)
    columns = list(rows[0]) if rows else ["period", by, "currency", "cost_kind", "cost"]
    if fmt == "markdown":
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(r.get(c, "") for c in columns) + " |" for r in rows]
        return "\n".join(lines)
    table = Table(title=f"Costs by {by}, {iso(lo)} → {iso(hi)}")
    for col in columns:
        table.add_column(col, justify="right" if col == "cost" else "left")
    for r in rows:
        table.add_row(*[f"{Decimal(r[c]):,.2f}" if c == "cost" else r.get(c, "") for c in columns])
    return table
