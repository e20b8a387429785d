"""Cost answers and their JSON shape (plain Python, no I/O). Money leaves as exact decimal strings."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from outlay.money import nanos_text as money
from outlay.spread import iso_z as iso
from services.gateway.query import CostQuery, GroupKey


@dataclass(frozen=True)
class CostRow:
    period_start: datetime
    group: tuple[str | None, ...]  # aligned with CostQuery.group_by
    nanos: int


@dataclass(frozen=True)
class CostReport:
    query: CostQuery
    rows: list[CostRow]

    def _index(self, name: str) -> int:
        return self.query.group_by.index(GroupKey(name))

    def totals(self) -> dict[tuple[str, str], int]:
        """Nano-units per (currency, cost_kind): the only sums that mean something."""
        cur, kind = self._index("currency"), self._index("cost_kind")
        sums: dict[tuple[str, str], int] = defaultdict(int)
        for row in self.rows:
            sums[(row.group[cur] or "", row.group[kind] or "")] += row.nanos
        return dict(sorted(sums.items()))

    def to_json(self) -> dict[str, Any]:
        labels = [key.label for key in self.query.group_by]
        totals = [{"currency": c, "cost_kind": k, "cost": money(n)} for (c, k), n in self.totals().items()]
        when: dict[datetime, str] = {}  # one ISO text per bucket, not per row
        rows = [
            {
                "period_start": when.get(row.period_start) or when.setdefault(row.period_start, iso(row.period_start)),
                "group": dict(zip(labels, row.group, strict=True)),
                "cost": money(row.nanos),
            }
            for row in self.rows
        ]
        return answer(self.query, rows, totals)


def answer(query: CostQuery, rows: Any, totals: list[dict[str, str]]) -> dict[str, Any]:
    """The body of a cost answer around its rows, from its totals per (currency, cost_kind), sorted."""
    currencies = sorted({t["currency"] for t in totals})
    kinds = sorted({t["cost_kind"] for t in totals})
    return {
        "granularity": query.grain.value,
        "start": iso(query.range.start),
        "end": iso(query.range.end),
        "metric": query.metric.value,
        "group_by": [key.label for key in query.group_by],
        "currency": currencies[0] if len(currencies) == 1 else None,
        "cost_kind": kinds[0] if len(kinds) == 1 else None,
        "rows": rows,
        # One number only when it adds like with like; otherwise read `totals`.
        "total": totals[0]["cost"] if len(totals) == 1 else (money(0) if not totals else None),
        "totals": totals,
    }


@dataclass(frozen=True)
class KindAmounts:
    estimated: int = 0
    billed: int = 0


def percent(part: int, whole: int) -> str | None:
    if whole == 0:
        return None
    return format((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01")), "f")


@dataclass(frozen=True)
class ReconciliationReport:
    """Estimated (live metering) against billed (exports) per service and day."""

    start: datetime
    end: datetime
    metric: str
    # (day, service, currency) -> amounts
    cells: dict[tuple[datetime, str, str], KindAmounts]

    def to_json(self) -> dict[str, Any]:
        rows = []
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for (day, service, currency), amounts in sorted(self.cells.items()):
            diff = amounts.billed - amounts.estimated
            rows.append(
                {
                    "day": iso(day),
                    "service": service,
                    "currency": currency,
                    "estimated": money(amounts.estimated),
                    "billed": money(amounts.billed),
                    "difference": money(diff),
                    "difference_pct": percent(diff, amounts.estimated),
                }
            )
            totals[currency][0] += amounts.estimated
            totals[currency][1] += amounts.billed
        return {
            "start": iso(self.start),
            "end": iso(self.end),
            "metric": self.metric,
            "rows": rows,
            "totals": [
                {
                    "currency": currency,
                    "estimated": money(est),
                    "billed": money(billed),
                    "difference": money(billed - est),
                    "difference_pct": percent(billed - est, est),
                }
                for currency, (est, billed) in sorted(totals.items())
            ],
        }
