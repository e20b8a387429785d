"""Numbers and a short explanation from the unit-economics and allocation routes' answers (plain Python, no I/O).

Every figure is copied from the route's body as that route wrote it (`GET /v1/unit-costs`' lines,
`GET /v1/unit-economics/correlation`'s figures, `GET /v1/allocation`'s totals), so an answer's numbers are the
API's numbers; only the explanation rounds them for reading. Amounts in different currencies are never added.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from outlay.ask.answer import SHOWN, shown, to_nanos
from outlay.ask.model import (
    UNIT_GROUPS,
    AllocatedValue,
    AllocationTotal,
    AskGrain,
    CorrelationFigures,
    QueryKind,
    StructuredQuery,
    UnitLine,
)
from outlay.money import nanos_text


def _decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def ratio_text(text: str | None, currency: str) -> str:
    """A unit cost for reading: cents when it is at least 1, else four significant digits (0.000123 USD)."""
    value = _decimal(text)
    if value is None:
        return "n/a"
    if abs(value) >= 1 or value == 0:
        return shown(to_nanos(text or "0"), currency)
    return f"{value:.4g} {currency}" if abs(value) >= Decimal("1e-4") else f"{value:.3e} {currency}"


def _count(text: str | None) -> str:
    value = _decimal(text)
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def _line(raw: Mapping[str, Any], period: Mapping[str, Any] | None = None) -> UnitLine:
    source = period if period is not None else raw
    return UnitLine(
        kind=str(raw["kind"]),
        group=raw.get("group"),
        currency=str(raw["currency"]),
        cost=str(source["cost"]),
        driver=source.get("driver"),
        unit_cost=source.get("unit_cost"),
        revenue=source.get("revenue"),
        gross_margin=source.get("gross_margin"),
        gross_margin_pct=source.get("gross_margin_pct"),
        shared_cost=source.get("shared_cost"),
        period_start=None if period is None else str(period["period_start"]),
    )


def _measure(query: StructuredQuery) -> str:
    """What groups are ranked by: the margin, the unit cost when a figure was named, else the group's cost."""
    if query.kind is QueryKind.GROSS_MARGIN:
        return "gross_margin"
    return "unit_cost" if query.business_metric is not None else "cost"


def unit_lines(query: StructuredQuery, body: Mapping[str, Any]) -> list[UnitLine]:
    """The route's lines the question asks for: its groups (only the named ones when filtered; ranked and cut to
    `limit`), then the unallocated and total lines unless the question named groups; per period when asked."""
    lines: list[Mapping[str, Any]] = list(body.get("lines", []))
    wanted = {v for f in query.filters for v in f.values}
    groups = [line for line in lines if line["kind"] == "group" and (not wanted or line.get("group") in wanted)]
    measure = _measure(query)

    def key(line: Mapping[str, Any]) -> Decimal:
        value = _decimal(line.get(measure))
        return Decimal(0) if value is None else value

    # Missing figures last whatever the order, ties by name: the same answer on every run.
    groups.sort(key=lambda line: str(line.get("group") or ""))
    groups.sort(key=key, reverse=query.descending)
    groups.sort(key=lambda line: line.get(measure) is None)
    if query.limit is not None:
        groups = groups[: query.limit]
    rest = [] if wanted else [line for line in lines if line["kind"] != "group"]
    out: list[UnitLine] = []
    for line in [*groups, *rest]:
        out.append(_line(line))
        if query.grain is not AskGrain.TOTAL:
            out.extend(_line(line, period) for period in line.get("periods", []))
    return out


def _label(line: UnitLine, dimension: str) -> str:
    if line.kind == "group":
        return str(line.group)
    return f"unallocated (no {dimension} tag)" if line.kind == "unallocated" else "total"


def explain_unit(query: StructuredQuery, body: Mapping[str, Any], lines: Sequence[UnitLine], notes: list[str]) -> str:
    dimension = UNIT_GROUPS.get(query.group_by[0], "group") if query.group_by else "group"
    per = str(body.get("per", ""))
    metric = str(body.get("metric", ""))
    whole = [line for line in lines if line.period_start is None]
    when = f"from {query.period.text()}" if query.period.days > 1 else f"on {query.period.text()}"
    wanted = [v for f in query.filters for v in f.values]
    parts: list[str] = []
    if query.kind is QueryKind.GROSS_MARGIN:
        head = f"Gross margin (revenue minus cost){' by ' + dimension if query.group_by else ''} {when}"
        for line in whole[:SHOWN]:
            if line.revenue is None:
                parts.append(f"{_label(line, dimension)}: cost {shown(to_nanos(line.cost), line.currency)}, no revenue")
                continue
            pct = f" ({line.gross_margin_pct}%)" if line.gross_margin_pct is not None else ""
            parts.append(
                f"{_label(line, dimension)}: {ratio_text(line.gross_margin, line.currency)}{pct} on revenue "
                f"{shown(to_nanos(line.revenue), line.currency)}, cost {shown(to_nanos(line.cost), line.currency)}"
            )
    else:
        unit = f"per {_count(per)} {metric}"
        head = f"Cost per {dimension} (and {unit}) {when}" if query.group_by else f"Cost {unit} {when}"
        for line in whole[:SHOWN]:
            figure = (
                f", {ratio_text(line.unit_cost, line.currency)} {unit} ({_count(line.driver)} {metric})"
                if line.unit_cost is not None
                else f", no {metric} figure to divide by"
            )
            shared = ""
            if query.shared_by_usage and line.kind == "group" and line.shared_cost is not None:
                shared = f" (of which {shown(to_nanos(line.shared_cost), line.currency)} shared, split by usage)"
            parts.append(f"{_label(line, dimension)}: {shown(to_nanos(line.cost), line.currency)}{shared}{figure}")
    if not whole:
        missing = f" for {', '.join(wanted)}" if wanted else ""
        text = f"{head}: no cost{missing} was recorded."
    else:
        more = f" (and {len(whole) - SHOWN} more lines)" if len(whole) > SHOWN else ""
        text = f"{head}: " + "; ".join(parts) + more + "."
    extra = [str(n) for n in body.get("notes", [])]
    if query.grain is not AskGrain.TOTAL:
        extra.append(f"each line's {query.grain.value}ly figures are in unit_lines")
    return " ".join([text, *(f"Note: {n}." for n in [*extra, *notes])])


def correlation_figures(body: Mapping[str, Any]) -> CorrelationFigures:
    return CorrelationFigures(
        driver=str(body["driver"]),
        currency=body.get("currency"),
        days=int(body.get("days") or 0),
        pearson=body.get("pearson"),
        elasticity=body.get("elasticity"),
        fixed_cost_per_day=body.get("fixed_cost_per_day"),
        fixed_share=body.get("fixed_share"),
        mean_daily_cost=body.get("mean_daily_cost"),
        explanation=str(body.get("explanation") or ""),
    )


def explain_correlation(query: StructuredQuery, figures: CorrelationFigures, notes: list[str]) -> str:
    driver = figures.driver
    lines = [f"How daily cost moved with daily {driver} from {query.period.text()} ({figures.days} days with both)."]
    if figures.pearson is not None:
        lines.append(f"Correlation {figures.pearson:.2f}.")
    if figures.elasticity is not None:
        lines.append(
            f"Elasticity {figures.elasticity:.2f}: 1% more {driver} came with about {figures.elasticity:.2f}% more cost."
        )
    if figures.fixed_cost_per_day is not None and figures.currency is not None:
        share = f" ({figures.fixed_share:.0%} of the mean daily cost)" if figures.fixed_share is not None else ""
        lines.append(
            f"The part that does not scale: about {ratio_text(figures.fixed_cost_per_day, figures.currency)} a day"
            f"{share}."
        )
    if figures.explanation:
        lines.append(figures.explanation[:1].upper() + figures.explanation[1:] + ".")
    lines.extend(f"Note: {n}." for n in notes)
    return " ".join(lines)


def allocation_totals(query: StructuredQuery, body: Mapping[str, Any]) -> list[AllocationTotal]:
    """The route's totals per (currency, cost kind); values ranked as asked, `(unallocated)` always kept, last."""
    unallocated = str(body.get("unallocated_value") or "(unallocated)")
    out: list[AllocationTotal] = []
    for total in body.get("totals", []):
        values = [
            AllocatedValue(
                value=str(v["value"]),
                direct=str(v["direct"]),
                shared=_sum_text([str(x) for x in v.get("shared", {}).values()]),
                total=str(v["total"]),
            )
            for v in total.get("values", [])
        ]
        owners = sorted((v for v in values if v.value != unallocated), key=lambda v: v.value)
        owners.sort(key=lambda v: to_nanos(v.total), reverse=query.descending)
        if query.limit is not None:
            owners = owners[: query.limit]
        rest = [v for v in values if v.value == unallocated]
        out.append(
            AllocationTotal(
                dimension=str(body["dimension"]), rules_version=int(body["rules_version"]),
                currency=str(total["currency"]), cost_kind=str(total["cost_kind"]), total=str(total["total"]),
                allocated=str(total["allocated"]), unallocated=str(total["unallocated"]),
                allocated_share=total.get("allocated_share"), values=[*owners, *rest],
            )
        )  # fmt: skip
    return out


def _sum_text(amounts: Sequence[str]) -> str:
    """Exact: the route's nine-place strings added as integers of nano-units."""
    return nanos_text(sum(to_nanos(a) for a in amounts))


def explain_allocation(
    query: StructuredQuery, body: Mapping[str, Any], totals: Sequence[AllocationTotal], notes: list[str]
) -> str:
    when = f"from {query.period.text()}" if query.period.days > 1 else f"on {query.period.text()}"
    lines = [
        f"Cost allocated by {query.allocate_by} under the allocation rules (version {body['rules_version']}) {when}."
    ]
    shown_totals = [t for t in totals if to_nanos(t.total) != 0 or t.values]
    if not shown_totals:
        lines.append("No cost was recorded in the period.")
    for t in shown_totals:
        share = ""
        if t.allocated_share is not None:
            share = f" ({t.allocated_share:.1%} of gross cost allocated, {1 - t.allocated_share:.1%} unallocated)"
        lines.append(
            f"{t.cost_kind} {t.currency}: total {shown(to_nanos(t.total), t.currency)}, allocated "
            f"{shown(to_nanos(t.allocated), t.currency)}, unallocated {shown(to_nanos(t.unallocated), t.currency)}"
            f"{share}."
        )
        listed = ", ".join(f"{v.value} {shown(to_nanos(v.total), t.currency)}" for v in t.values[: SHOWN + 1])
        if listed:
            lines.append(f"By {query.allocate_by}: {listed}.")
    lines.extend(f"Note: {n}." for n in notes)
    return " ".join(lines)
