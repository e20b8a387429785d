"""An allocation report: the engine's buckets with totals and shares, rendered as the API and the CLI show it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from outlay.allocation.engine import Allocator, BucketAllocation, CostLine, ValueAmounts, allocate_lines, summarise
from outlay.allocation.periods import ReportGrain
from outlay.allocation.rules import UNALLOCATED, AllocationRules
from outlay.money import nanos_text as money
from outlay.spread import iso_z as iso


@dataclass(frozen=True)
class Totals:
    currency: str
    cost_kind: str
    values: dict[str, ValueAmounts]
    gross: int
    unallocated_gross: int

    @property
    def total(self) -> int:
        return sum(v.total for v in self.values.values())

    @property
    def unallocated(self) -> int:
        found = self.values.get(UNALLOCATED)
        return 0 if found is None else found.total

    @property
    def allocated(self) -> int:
        return self.total - self.unallocated

    @property
    def allocated_share(self) -> float | None:
        """The share of gross cost (every line's amount regardless of sign) that reached an owner, directly or
        through a shared rule; None when there is no cost. Signed amounts would make allocating a credit lower the
        share; this way a credit left unallocated counts against it like any cost."""
        return None if self.gross == 0 else 1 - self.unallocated_gross / self.gross


@dataclass(frozen=True)
class AllocationReport:
    dimension: str
    start: datetime
    end: datetime
    grain: ReportGrain
    metric: str
    rules_version: int
    buckets: list[BucketAllocation]

    @property
    def totals(self) -> list[Totals]:
        return [
            Totals(c, k, s.values, s.gross, s.unallocated_gross)
            for (c, k), s in sorted(summarise(self.buckets).items())
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "start": iso(self.start),
            "end": iso(self.end),
            "grain": self.grain.value,
            "metric": self.metric,
            "rules_version": self.rules_version,
            "unallocated_value": UNALLOCATED,
            "totals": [
                {
                    "currency": t.currency,
                    "cost_kind": t.cost_kind,
                    "total": money(t.total),
                    "allocated": money(t.allocated),
                    "unallocated": money(t.unallocated),
                    "allocated_share": None if t.allocated_share is None else round(t.allocated_share, 6),
                    "values": _values(t.values),
                }  # fmt: skip
                for t in self.totals
            ],
            "buckets": [
                {
                    "period_start": iso(b.period_start),
                    "currency": b.currency,
                    "cost_kind": b.cost_kind,
                    "total": money(b.total),
                    "values": _values(b.values),
                }  # fmt: skip
                for b in self.buckets
            ],
        }


def _values(values: dict[str, ValueAmounts]) -> list[dict[str, Any]]:
    # Largest first, `(unallocated)` always last so it is never lost below the fold; ties by name.
    ordered = sorted(values.items(), key=lambda item: (item[0] == UNALLOCATED, -item[1].total, item[0]))
    return [
        {
            "value": name,
            "direct": money(a.direct),
            "shared": {r: money(n) for r, n in sorted(a.shared.items())},
            "total": money(a.total),
        }  # fmt: skip
        for name, a in ordered
    ]


def build_report(
    lines: Sequence[CostLine],
    rules: AllocationRules,
    rules_version: int,
    dimension: str,
    start: datetime,
    end: datetime,
    grain: ReportGrain,
    metric: str,
) -> AllocationReport:
    buckets = allocate_lines(lines, Allocator(rules), dimension)
    return AllocationReport(dimension, start, end, grain, metric, rules_version, buckets)
