"""Reserved Instance utilisation, coverage and further purchases from bill lines: exact on a small made-up bill,
and on the real WorkshopCUR (its RI fields) through `outlay commitments`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from outlay.cli.main import app
from outlay.pricing import PriceCatalogue
from services.optimizer.commitments import optimal_commitment
from services.optimizer.coverage import BillLine, coverage_report, instance_usage, purchase_advice
from services.optimizer.recommendations import Kind

T0 = datetime(2026, 10, 1, tzinfo=UTC)
ARN = "arn:aws:ec2:us-east-1:111122223333:reserved-instances/abc"


@pytest.mark.parametrize(
    ("usage_type", "expected"),
    [
        ("BoxUsage:m5.large", ("us-east-1", "m5.large")),
        ("USE2-BoxUsage:c5.large", ("us-east-2", "c5.large")),
        ("EU-HeavyUsage:t3.micro", ("eu-west-1", "t3.micro")),
        ("USE1-EBS:VolumeUsage.gp2", None),
        ("XYZ9-BoxUsage:m5.large", None),  # a region code we do not know: not guessed
        ("DataTransfer-Out-Bytes", None),
    ],
)
def test_instance_hours_are_recognised_by_usage_type(usage_type: str, expected: tuple[str, str] | None) -> None:
    assert instance_usage(usage_type) == expected


def test_utilisation_coverage_and_the_exact_number_of_further_reservations() -> None:
    hours = 100
    # 2 reservations of m5.large (200 reserved hours, 10 unused) cover 190 hours; on demand runs 3 instances in
    # 60 hours and 1 in the other 40 (220 on-demand hours). Windows hours and an EBS line are not Linux m5.large.
    lines = [BillLine("RIFee", "HeavyUsage:m5.large", T0, 200, 8.0, ARN, 200, 10, amortized_upfront=4.0)]
    windows = "RunInstances:0002"
    lines.append(BillLine("Usage", "BoxUsage:m5.large", T0, 50.0, 9.4, operation=windows, end=T0 + timedelta(days=1)))
    for h in range(hours):
        at = T0 + timedelta(hours=h)
        lines.append(BillLine("DiscountedUsage", "BoxUsage:m5.large", at, 1.9, 0.0, ARN))
        on_demand = 3.0 if h < 60 else 1.0
        lines.append(BillLine("Usage", "BoxUsage:m5.large", at, on_demand, on_demand * 0.096))
        lines.append(BillLine("Usage", "EBS:VolumeUsage.gp2", at, 5.0, 0.5))
    report = coverage_report(lines)
    [reservation] = report.reservations
    assert reservation.utilisation == pytest.approx(0.95)
    use, on_windows = report.types
    assert (use.platform, on_windows.platform, on_windows.on_demand_hours) == ("Linux/UNIX", "Windows", 50.0)
    assert len(on_windows.hourly_on_demand) == 24  # a daily line, spread over its hours
    assert use.covered_hours == pytest.approx(190) and use.on_demand_hours == pytest.approx(220)
    assert use.coverage == pytest.approx(190 / 410)
    assert use.billed_discount() == pytest.approx(1 - (12.0 / 200) / 0.096)  # recurring + amortised upfront
    assert report.hours == hours

    [advice], skipped = purchase_advice(report, PriceCatalogue.load())  # Linux only: the catalogue prices Linux
    assert skipped == [] and advice.kind is Kind.BUY_RESERVATION
    profile = np.array([3.0] * 60 + [1.0] * 40)
    best = optimal_commitment(profile, use.billed_discount() or 0)
    assert advice.proposed == f"+{int(best.covered)} reserved" and "at the rate your reservations" in advice.summary
    assert advice.evidence["coverage_before"] == pytest.approx(190 / 410, abs=1e-4)


def test_workshop_cur_reservations_through_the_cli(shared_data: Path) -> None:
    data = shared_data / "cur_samples" / "wa_labs_workshop_cur" / "cur" / "data"
    result = CliRunner().invoke(app, ["commitments", str(data), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["hours"] == 92 * 24  # October to December 2018
    reservations = report["reservations"]
    assert len(reservations) == 9
    assert sorted(r["instance_type"] for r in reservations if r["platform"] == "Windows") == ["m5.large", "t2.micro"]
    reserved = sum(r["reserved_hours"] for r in reservations)
    unused = sum(r["unused_hours"] for r in reservations)
    # The bill's own figures (RIFee lines): 28,490.3 reserved hours, 3,262.3 of them unused.
    assert reserved == pytest.approx(28490.32, abs=0.01) and unused == pytest.approx(3262.32, abs=0.01)
    idle = next(r for r in reservations if r["instance_type"] == "c4.large")
    assert idle["utilisation"] == 0.0  # a c4.large reservation nothing used
    covered = {f"{c['region']} {c['instance_type']}": c for c in report["coverage"]}
    assert covered["us-east-1 t2.nano"]["coverage"] == pytest.approx(1.0)
    assert report["recommendations"] and all(Decimal(r["monthly_saving"]) > 0 for r in report["recommendations"])


def test_a_file_that_is_not_a_cost_report_is_refused_naming_the_columns(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(app, ["commitments", str(bad)])
    assert result.exit_code == 2 and "line_item_line_item_type" in result.output


def test_savings_plans_utilisation_coverage_and_the_commitment_that_pays() -> None:
    from services.optimizer.coverage import savings_plan_advice

    arn = "arn:aws:savingsplans::111122223333:savingsplan/sp-1"
    lines = [
        BillLine(
            "SavingsPlanRecurringFee",
            "ComputeSP:1yrNoUpfront",
            T0,
            1,
            10.0,
            savings_plan_arn=arn,
            sp_commitment=10.0,
            sp_used=8.0,
        ),  # fmt: skip
        BillLine("SavingsPlanCoveredUsage", "BoxUsage:m5.large", T0, 1, 8.0),
    ]
    # Steady on-demand instance usage of $1 an hour for 100 hours, on two platforms.
    for h in range(100):
        operation = "RunInstances" if h % 2 else "RunInstances:0002"
        lines.append(BillLine("Usage", "BoxUsage:m5.large", T0 + timedelta(hours=h), 1.0, 1.0, operation=operation))
    report = coverage_report(lines)
    [plan] = report.savings_plans
    assert plan.utilisation == pytest.approx(0.8)
    assert report.savings_plan_coverage == pytest.approx(8 / 108)
    advice = savings_plan_advice(report, PriceCatalogue.load())
    assert advice is not None and advice.kind is Kind.BUY_SAVINGS_PLAN
    # Covering the whole $1 an hour at a 28% discount costs $0.72 an hour and saves $0.28 of every hour.
    assert advice.summary.startswith("commit $0.72/hour") and advice.monthly_saving == Decimal("204.40")
    assert savings_plan_advice(coverage_report([]), PriceCatalogue.load()) is None
