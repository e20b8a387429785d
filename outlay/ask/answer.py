"""Numbers and a short explanation from the public API's answers (plain Python, no I/O).

Everything here is computed from `GET /v1/costs` bodies (and `GET /v1/anomalies` items) exactly as the API
returns them, in integer nano-units, so an answer's numbers are the API's numbers. Amounts in different
currencies or cost kinds (billed, estimated) are never added together, as in the API.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from outlay.ask.model import Amount, AnswerRow, AskGrain, Intent, Metric, OrderBy, StructuredQuery
from outlay.money import nanos_text as money

NANOS = 1_000_000_000
SHOWN = 5  # groups named in the explanation (all are in `rows`)


def to_nanos(text: str) -> int:
    return int(Decimal(text) * NANOS)


def shown(nanos: int, currency: str) -> str:
    """Rounded to cents for reading ("1,234.50 USD"); the exact amount is in the rows."""
    return f"{Decimal(nanos) / NANOS:,.2f} {currency}"


def signed(nanos: int, currency: str) -> str:
    return ("+" if nanos >= 0 else "-") + shown(abs(nanos), currency)


def percent(change: int, before: int) -> str | None:
    if before == 0:
        return None
    return format((Decimal(change) * 100 / Decimal(before)).quantize(Decimal("0.1")), "f")


Key = tuple[str | None, tuple[str | None, ...], str, str]  # (bucket or None, group values, currency, cost kind)


def _sums(body: Mapping[str, Any], query: StructuredQuery) -> dict[Key, int]:
    per_bucket = query.grain is not AskGrain.TOTAL
    sums: dict[Key, int] = defaultdict(int)
    for row in body.get("rows", []):
        group = row["group"]
        values = tuple(group.get(name) for name in query.group_by)
        bucket = row["period_start"] if per_bucket else None
        sums[(bucket, values, group.get("currency") or "", group.get("cost_kind") or "")] += to_nanos(row["cost"])
    return dict(sums)


def _totals(body: Mapping[str, Any]) -> dict[tuple[str, str], int]:
    return {(t["currency"], t["cost_kind"]): to_nanos(t["cost"]) for t in body.get("totals", [])}


@dataclass(frozen=True)
class _Ranked:
    group: tuple[str | None, ...]
    currency: str
    kind: str
    cost: int
    previous: int | None

    @property
    def change(self) -> int | None:
        return None if self.previous is None else self.cost - self.previous


def _ranking(query: StructuredQuery, now: dict[Key, int], before: dict[Key, int] | None) -> list[_Ranked]:
    """Groups over the whole period (buckets summed), ranked as asked, cut to the top N."""
    totals: dict[tuple[tuple[str | None, ...], str, str], int] = defaultdict(int)
    earlier: dict[tuple[tuple[str | None, ...], str, str], int] = defaultdict(int)
    for (_, group, currency, kind), nanos in now.items():
        totals[(group, currency, kind)] += nanos
    for (_, group, currency, kind), nanos in (before or {}).items():
        earlier[(group, currency, kind)] += nanos
    keys = set(totals) | (set(earlier) if query.group_by else set())  # a group that vanished shrank to 0
    ranked = [
        _Ranked(g, c, k, totals.get((g, c, k), 0), None if before is None else earlier.get((g, c, k), 0))
        for g, c, k in keys
    ]

    def measure(item: _Ranked) -> int:
        value = item.change if query.order_by is OrderBy.CHANGE else item.cost
        return value or 0

    # Ties broken by the group's name so the order is the same on every run.
    ranked.sort(key=lambda r: (tuple((v is None, v or "") for v in r.group), r.currency, r.kind))
    ranked.sort(key=measure, reverse=query.descending)
    return ranked[: query.limit] if query.limit is not None else ranked


def figures(
    query: StructuredQuery, current: Mapping[str, Any], previous: Mapping[str, Any] | None
) -> tuple[list[Amount], list[AnswerRow]]:
    """Totals per (currency, cost kind), and the rows asked for (grouped, ranked, per bucket when asked)."""
    now_totals = _totals(current)
    before_totals = None if previous is None else _totals(previous)
    totals = []
    for currency, kind in sorted(set(now_totals) | set(before_totals or {})):
        cost = now_totals.get((currency, kind), 0)
        before = None if before_totals is None else before_totals.get((currency, kind), 0)
        totals.append(_amount(Amount, currency, kind, cost, before))
    now = _sums(current, query)
    before_sums = None if previous is None else _sums(previous, query)
    ranked = _ranking(query, now, before_sums)
    rows: list[AnswerRow] = []
    if not query.group_by and query.grain is AskGrain.TOTAL:
        return totals, rows  # the totals are the answer
    for item in ranked:
        group = dict(zip(query.group_by, item.group, strict=True))
        if query.grain is AskGrain.TOTAL:
            rows.append(_amount(AnswerRow, item.currency, item.kind, item.cost, item.previous, group=group))
            continue
        buckets = sorted(b or "" for b, g, c, k in now if (g, c, k) == (item.group, item.currency, item.kind))
        for bucket in buckets:
            cost = now[(bucket, item.group, item.currency, item.kind)]
            rows.append(_amount(AnswerRow, item.currency, item.kind, cost, None, group=group, period_start=bucket))
    if query.grain is not AskGrain.TOTAL:
        rows.sort(key=lambda r: r.period_start or "")  # stable: within a bucket, the ranking's order
    return totals, rows


def _amount(kind: Any, currency: str, cost_kind: str, cost: int, before: int | None, **extra: Any) -> Any:
    change = None if before is None else cost - before
    return kind(
        currency=currency,
        cost_kind=cost_kind,
        cost=money(cost),
        previous=None if before is None else money(before),
        change=None if change is None else money(change),
        change_pct=None if change is None or before is None else percent(change, before),
        **extra,
    )


def scope_text(query: StructuredQuery) -> str:
    """What the numbers cover: 'billed cost of service AmazonEC2, team checkout'."""
    metric = {
        Metric.BILLED: "billed cost",
        Metric.EFFECTIVE: "effective (amortised) cost",
        Metric.LIST: "list-price cost",
    }
    parts = []
    for item in query.filters:
        name = item.dimension[4:] if item.dimension.startswith("tag:") else item.dimension.replace("_", " ")
        parts.append(f"{name} {' or '.join(item.values)}")
    return metric[query.metric] + (" of " + ", ".join(parts) if parts else "")


def _group_label(query: StructuredQuery, group: Mapping[str, str | None]) -> str:
    return " / ".join(str(group.get(name) or "(none)") for name in query.group_by)


def explain(
    query: StructuredQuery,
    totals: Sequence[Amount],
    rows: Sequence[AnswerRow],
    anomalies: Sequence[Mapping[str, Any]] | None,
    notes: Sequence[str] = (),
) -> str:
    """A few sentences a person can check against the numbers."""
    lines: list[str] = []
    when = f"from {query.period.text()}" if query.period.days > 1 else f"on {query.period.text()}"
    scope = scope_text(query)
    shown_totals = [t for t in totals if to_nanos(t.cost) != 0 or to_nanos(t.previous or "0") != 0]
    if not shown_totals:
        lines.append(f"No {scope} was recorded {when}.")
    else:
        lines.append(f"The {scope} {when} was {'; '.join(_amount_text(t) for t in shown_totals)}.")
    if query.compare_to is not None:
        lines.append(f"Compared with {query.compare_to.text()}.")
    if query.intent is Intent.EXPLAIN_SPIKE:
        lines.extend(_spike_lines(query, rows, anomalies or []))
    elif query.group_by and rows and query.grain is AskGrain.TOTAL:
        what = "change" if query.order_by is OrderBy.CHANGE else "cost"
        order = "largest" if query.descending else "smallest"
        listed = ", ".join(f"{_group_label(query, r.group)} {_row_text(query, r)}" for r in rows[:SHOWN])
        top = f"top {query.limit} " if query.limit else ""
        more = f" (and {len(rows) - SHOWN} more)" if len(rows) > SHOWN else ""
        lines.append(f"By {', '.join(query.group_by)}, {top}{order} {what} first: {listed}{more}.")
    elif query.group_by and not rows:
        lines.append(f"Nothing to break down by {', '.join(query.group_by)}.")
    if query.grain is not AskGrain.TOTAL and rows:
        lines.append(f"{len(rows)} {query.grain.value}ly amounts are in the rows.")
    lines.extend(f"Note: {note}." for note in notes)
    return " ".join(lines)


def _amount_text(amount: Amount) -> str:
    text = f"{shown(to_nanos(amount.cost), amount.currency)} ({amount.cost_kind})"
    if amount.previous is not None and amount.change is not None:
        pct = ""
        if amount.change_pct is not None:
            pct = f", {'' if amount.change_pct.startswith('-') else '+'}{amount.change_pct}%"
        text += (
            f" against {shown(to_nanos(amount.previous), amount.currency)}"
            f" ({signed(to_nanos(amount.change), amount.currency)}{pct})"
        )
    return text


def _row_text(query: StructuredQuery, row: AnswerRow) -> str:
    if query.order_by is OrderBy.CHANGE and row.change is not None:
        return f"{signed(to_nanos(row.change), row.currency)} (now {shown(to_nanos(row.cost), row.currency)})"
    return shown(to_nanos(row.cost), row.currency)


def _spike_lines(
    query: StructuredQuery, rows: Sequence[AnswerRow], anomalies: Sequence[Mapping[str, Any]]
) -> list[str]:
    lines: list[str] = []
    if anomalies:
        ordered = sorted(anomalies, key=lambda a: -to_nanos(str(a.get("impact") or "0")))
        described = [_anomaly_text(a) for a in ordered[:SHOWN]]
        lines.append(
            f"{len(anomalies)} cost spike(s) were detected starting in the period: " + "; ".join(described) + "."
        )
    else:
        lines.append("No cost spike was detected (no anomaly recorded) starting in the period.")
    rising = [r for r in rows if r.change is not None and to_nanos(r.change) > 0]
    if rising:
        listed = ", ".join(
            f"{_group_label(query, r.group)} {signed(to_nanos(r.change or '0'), r.currency)}" for r in rising
        )
        lines.append(f"Largest increases by {', '.join(query.group_by)} against the period before: {listed}.")
    else:
        lines.append(f"No {', '.join(query.group_by)} cost more than in the period before.")
    return lines


def _anomaly_text(anomaly: Mapping[str, Any]) -> str:
    """One spike as GET /v1/anomalies lists it, amounts rounded to cents."""
    currency = str(anomaly.get("currency") or "")

    def amount(name: str) -> str:
        return shown(to_nanos(str(anomaly.get(name) or "0")), currency)

    cause = anomaly.get("root_cause") or []
    return (
        f"{anomaly.get('series')} from {anomaly.get('start')}: expected {amount('expected_cost')}, actual "
        f"{amount('actual_cost')} (impact {amount('impact')}, {anomaly.get('severity')}"
        + (f", root cause {', '.join(str(c) for c in cause)}" if cause else "")
        + ")"
    )
