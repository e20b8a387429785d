"""`outlay commitments PATH`: Reserved Instance utilisation and coverage from cost and usage reports on disk (legacy
CUR or CUR 2.0, CSV or parquet), and the further reservations that would pay (`services.optimizer.coverage`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table

from outlay.pricing import PriceCatalogue
from services.ingest.locations import local_files
from services.ingest.sources.cells import CellError, decimal, text, timestamp
from services.ingest.sources.columns import canonical_cur_columns
from services.ingest.sources.tabular import iter_table
from services.optimizer.coverage import (
    BillLine,
    CoverageReport,
    coverage_report,
    purchase_advice,
    savings_plan_advice,
)

COLUMNS = {
    "line_type": "line_item_line_item_type",
    "usage_type": "line_item_usage_type",
    "start": "line_item_usage_start_date",
    "amount": "line_item_usage_amount",
    "cost": "line_item_unblended_cost",
    "reservation_arn": "reservation_reservation_a_r_n",
    "reserved_hours": "reservation_total_reserved_units",
    "unused_hours": "reservation_unused_quantity",
    "amortized_upfront": "reservation_amortized_upfront_fee_for_billing_period",
    "operation": "line_item_operation",
    "savings_plan_arn": "savings_plan_savings_plan_a_r_n",
    "sp_commitment": "savings_plan_total_commitment_to_date",
    "sp_used": "savings_plan_used_commitment",
    "end": "line_item_usage_end_date",
}
REQUIRED = ("line_type", "usage_type", "start", "amount", "cost")


class NotACostReport(ValueError):
    """The file lacks the columns this report needs; the message names them."""


def _number(value: object, column: str) -> float:
    found = decimal(value, column)
    return 0.0 if found is None else float(found)


def bill_lines(path: str) -> Iterator[BillLine]:
    columns, rows = iter_table(path)
    canonical = canonical_cur_columns(columns)
    missing = [COLUMNS[f] for f in REQUIRED if COLUMNS[f] not in canonical]
    if missing:
        rows.close()
        raise NotACostReport(f"{path}: not a cost and usage report (missing columns: {', '.join(missing)})")
    own = {field: canonical[name] for field, name in COLUMNS.items() if name in canonical}
    rows.project(own.values())
    for row in rows:
        try:
            yield BillLine(
                line_type=text(row[own["line_type"]]) or "",
                usage_type=text(row[own["usage_type"]]) or "",
                start=timestamp(row[own["start"]], own["start"]),
                amount=_number(row[own["amount"]], own["amount"]),
                cost=_number(row[own["cost"]], own["cost"]),
                reservation_arn=text(row.get(own.get("reservation_arn", ""))) or "",
                reserved_hours=_number(row.get(own.get("reserved_hours", "")), "reservation_total_reserved_units"),
                unused_hours=_number(row.get(own.get("unused_hours", "")), "reservation_unused_quantity"),
                amortized_upfront=_number(row.get(own.get("amortized_upfront", "")), "amortized upfront fee"),
                # Without an operation column the platform is unknown: counted as Linux, as most instance hours are.
                operation=text(row.get(own.get("operation", ""))) or "RunInstances",
                end=timestamp(row[own["end"]], own["end"]) if row.get(own.get("end", "")) else None,
                savings_plan_arn=text(row.get(own.get("savings_plan_arn", ""))) or "",
                sp_commitment=_number(row.get(own.get("sp_commitment", "")), "savings_plan_total_commitment_to_date"),
                sp_used=_number(row.get(own.get("sp_used", "")), "savings_plan_used_commitment"),
            )
        except CellError:
            continue  # a line that cannot be read does not count; the ingest pipeline reports such rows


def render(report: CoverageReport, catalogue: PriceCatalogue, fmt: str, decline: float) -> object:
    advice, skipped = purchase_advice(report, catalogue, decline)
    advice.sort(key=lambda rec: -rec.monthly_saving)
    savings_plan = savings_plan_advice(report, catalogue, decline)
    if fmt == "json":
        return json.dumps(
            {
                "hours": report.hours,
                "reservations": [
                    {
                        "reservation_arn": r.reservation_arn,
                        "region": r.region,
                        "instance_type": r.instance_type,
                        "platform": r.platform,
                        "reserved_hours": r.reserved_hours,
                        "unused_hours": r.unused_hours,
                        "utilisation": round(r.utilisation, 4),
                    }  # fmt: skip
                    for r in report.reservations
                ],
                "coverage": [
                    {
                        "region": t.region,
                        "instance_type": t.instance_type,
                        "platform": t.platform,
                        "covered_hours": t.covered_hours,
                        "on_demand_hours": t.on_demand_hours,
                        "coverage": round(t.coverage, 4),
                    }  # fmt: skip
                    for t in sorted(report.types, key=lambda t: -(t.covered_hours + t.on_demand_hours))
                ],
                "recommendations": [
                    {
                        "subject": r.resource_id,
                        "summary": r.summary,
                        "monthly_saving": str(r.monthly_saving),
                        "confidence": r.confidence,
                        "risk": r.risk.value,
                        "evidence": r.evidence,
                    }  # fmt: skip
                    for r in advice
                ],
                "savings_plans": [
                    {
                        "savings_plan_arn": p.savings_plan_arn,
                        "committed": round(p.committed, 6),
                        "used": round(p.used, 6),
                        "utilisation": round(p.utilisation, 4),
                    }  # fmt: skip
                    for p in report.savings_plans
                ],
                "savings_plan_coverage": round(report.savings_plan_coverage, 4),
                "savings_plan_recommendation": None
                if savings_plan is None
                else {
                    "summary": savings_plan.summary,
                    "monthly_saving": str(savings_plan.monthly_saving),
                    "risk": savings_plan.risk.value,
                    "evidence": savings_plan.evidence,
                },  # fmt: skip
                "skipped": [{"subject": s.resource_id, "reason": s.reason} for s in skipped],
            },
            indent=2,
        )
    tables = []
    used = Table("reservation", "type", "reserved h", "unused h", "utilisation", title="Reserved Instances")
    for r in report.reservations:
        used.add_row(r.reservation_arn.rsplit("/", 1)[-1], f"{r.region} {r.instance_type} {r.platform}",
                     f"{r.reserved_hours:,.0f}", f"{r.unused_hours:,.0f}", f"{r.utilisation:.0%}")  # fmt: skip
    tables.append(used)
    covered = Table("type", "covered h", "on-demand h", "coverage", title="Coverage of instance hours")
    for t in sorted(report.types, key=lambda t: -(t.covered_hours + t.on_demand_hours))[:20]:
        covered.add_row(f"{t.region} {t.instance_type} {t.platform}", f"{t.covered_hours:,.0f}", f"{t.on_demand_hours:,.0f}",
                        f"{t.coverage:.0%}")  # fmt: skip
    tables.append(covered)
    buy = Table("recommendation", "saves / month", "risk", title="Further reservations that pay")
    for rec in advice:
        buy.add_row(rec.summary, f"${rec.monthly_saving}", rec.risk.value)
    if savings_plan is not None:
        buy.add_row(f"or: {savings_plan.summary}", f"${savings_plan.monthly_saving}", savings_plan.risk.value)
    tables.append(buy)
    if report.savings_plans:
        plans = Table("savings plan", "committed $", "used $", "utilisation", title="Savings Plans")
        for p in report.savings_plans:
            plans.add_row(p.savings_plan_arn.rsplit("/", 1)[-1], f"{p.committed:,.2f}", f"{p.used:,.2f}",
                          f"{p.utilisation:.0%}")  # fmt: skip
        tables.append(plans)
    return tables


def run_commitments(path: Path, fmt: str, decline: float, console: Console) -> int:
    lines = (line for found in local_files(path) for line in bill_lines(found.uri))
    report = coverage_report(lines)
    rendered = render(report, PriceCatalogue.load(), fmt, decline)
    if isinstance(rendered, str):
        print(rendered)
    else:
        for table in rendered:  # type: ignore[attr-defined]
            console.print(table)
    return 0
