"""Savings measured from the ledger, not estimated: what the resources of an applied plan cost a day before it was
applied and since.

For each applied plan: the daily cost of its resources over the `BEFORE_DAYS` whole days before the day it was
applied, and over the whole days after that day (the day itself is mixed, so left out), from billed cost where a
day has a bill and live estimates where it has none (never both: estimates and bills of one day overlap). The
measured monthly saving is (daily before - daily after) x 730 / 24. Too few days after (under `MIN_DAYS_AFTER`) or
no cost before gives no figure, with the reason: it is not guessed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from outlay.events.plan import ActionPlan
from outlay.money import cents, from_nanos
from outlay.pricing import HOURS_PER_MONTH
from outlay.spread import Grain
from services.gateway.costs_query import CostStore
from services.gateway.query import CostQuery, Filters, GroupKey, TimeRange

BEFORE_DAYS = 7
MIN_DAYS_AFTER = 3
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
MAX_RESOURCES = 1000  # resources measured in one request
MAX_AGE_DAYS = 90  # plans applied longer ago than this are not measured (their "before" is history)


@dataclass(frozen=True)
class MeasuredSaving:
    plan_id: str
    applied_on: date
    days_before: int
    days_after: int
    daily_before: Decimal | None
    daily_after: Decimal | None
    monthly: Decimal | None  # None: not measurable yet (see reason)
    reason: str = ""


def measure(plan_id: str, applied_on: date, today: date, daily: dict[date, Decimal]) -> MeasuredSaving:
    """From the plan's resources' cost per day (missing days cost nothing once the ledger covers them)."""
    before = [applied_on - timedelta(days=k) for k in range(1, BEFORE_DAYS + 1)]
    after = [applied_on + timedelta(days=k) for k in range(1, (today - applied_on).days)]
    cost_before = sum((daily.get(d, Decimal(0)) for d in before), Decimal(0))
    daily_before = cost_before / len(before)
    daily_after = sum((daily.get(d, Decimal(0)) for d in after), Decimal(0)) / len(after) if after else None
    recorded = sum(1 for d in before if d in daily)
    reason = ""
    if cost_before == 0:
        reason = f"no cost recorded for its resources in the {BEFORE_DAYS} days before it was applied"
    elif recorded < BEFORE_DAYS:  # a young ledger (or resource): the days without data would read as free
        reason = f"cost recorded on only {recorded} of the {BEFORE_DAYS} days before it was applied"
    elif len(after) < MIN_DAYS_AFTER:
        reason = f"{len(after)} whole days since it was applied; measured after {MIN_DAYS_AFTER}"
    monthly = None if reason or daily_after is None else cents((daily_before - daily_after) * DAYS_PER_MONTH)
    return MeasuredSaving(plan_id, applied_on, len(before), len(after), cents(daily_before),
                          None if daily_after is None else cents(daily_after), monthly, reason)  # fmt: skip


def _daily_by_resource(rows: Sequence[tuple[datetime, str, str, int]]) -> dict[str, dict[date, Decimal]]:
    """(day, resource, cost kind, nanos) -> per resource, per day: the bill where the day has one, else estimates."""
    kinds: dict[tuple[str, date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for start, resource, kind, nanos in rows:
        kinds[(resource, start.date())][kind] += nanos
    out: dict[str, dict[date, Decimal]] = defaultdict(dict)
    for (resource, day), by_kind in kinds.items():
        out[resource][day] = from_nanos(by_kind.get("billed", by_kind.get("estimated", 0)))
    return out


async def measured_savings(store: CostStore, plans: Sequence[ActionPlan], now: datetime) -> list[MeasuredSaving]:
    """Measured savings of applied plans (USD ledger costs of their resources)."""
    today = now.astimezone(UTC).date()
    plans = [p for p in plans if (today - p.updated_at.astimezone(UTC).date()).days <= MAX_AGE_DAYS]
    if not plans:
        return []
    applied = {p.plan_id: p.updated_at.astimezone(UTC).date() for p in plans}
    resources = sorted({c.resource_id for p in plans for c in p.changes})[:MAX_RESOURCES]
    first = min(applied.values()) - timedelta(days=BEFORE_DAYS)
    query = CostQuery(
        range=TimeRange(datetime(first.year, first.month, first.day), datetime(today.year, today.month, today.day)),
        grain=Grain.DAY,
        group_by=(GroupKey("resource_id"), GroupKey("currency"), GroupKey("cost_kind")),
        filters=Filters(dimensions={"resource_id": tuple(resources), "currency": ("USD",)}),
        # Bounded by MAX_AGE_DAYS and MAX_RESOURCES, not by the interactive cost API's cell limit.
        max_cells=(MAX_AGE_DAYS + BEFORE_DAYS + 2) * MAX_RESOURCES * 2,
    )
    report = await store.costs(query)
    daily = _daily_by_resource([(r.period_start, r.group[0] or "", r.group[2] or "", r.nanos) for r in report.rows])
    out = []
    for plan in plans:
        per_day: dict[date, Decimal] = defaultdict(Decimal)
        for change in plan.changes:
            for day, cost in daily.get(change.resource_id, {}).items():
                per_day[day] += cost
        out.append(measure(plan.plan_id, applied[plan.plan_id], today, per_day))
    return out
