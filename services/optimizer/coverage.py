"""Existing Reserved Instances from the bill: how well they are used (utilisation), how much of the instance usage
they cover (coverage), and how many more would pay (the exact optimum of `commitments`) — computed the way
Cost Explorer does, from the cost and usage report's line items:

- `RIFee` lines: one per reservation and month, with its reserved hours and the hours left unused
  (`reservation_total_reserved_units`, `reservation_unused_quantity`): utilisation = 1 - unused / reserved;
- `DiscountedUsage` lines: instance hours a reservation covered; `Usage` lines of `BoxUsage` usage types:
  instance hours paid on demand. Coverage of a type = covered / (covered + on demand).

Usage is kept apart per platform (`line_item_operation`: "RunInstances" is Linux/UNIX, "RunInstances:0002"
Windows, ...): platforms share the usage types but not the reservations or the prices. Purchases are advised for
Linux/UNIX only (the catalogue's prices are Linux). Lines longer than an hour (daily or monthly reports) are spread
evenly over their hours.

The hourly on-demand hours of a type are its uncovered instance count each hour; `optimal_commitment` over that
profile gives the count of further reservations that maximises the net saving. The discount is the one the bill
shows for that type (1 - the reservations' effective hourly rate, recurring fee plus amortised upfront, / the
on-demand rate) where the bill has both,
else the catalogue's 1-year no-upfront rate. Pure: rows in, findings out (the CLI reads the files).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np

from outlay.pricing.catalogue import PriceCatalogue, UnknownPrice
from services.optimizer.commitments import optimal_commitment
from services.optimizer.recommendations import Kind, Recommendation, Risk, Skipped, monthly

# Usage-type prefixes of EC2 regions (AWS "usage type" region codes; no prefix is US East (N. Virginia)).
REGION_PREFIXES = {
    "": "us-east-1", "USE1": "us-east-1", "USE2": "us-east-2", "USW1": "us-west-1", "USW2": "us-west-2",
    "CAN1": "ca-central-1", "EU": "eu-west-1", "EUW2": "eu-west-2", "EUW3": "eu-west-3", "EUC1": "eu-central-1",
    "EUN1": "eu-north-1", "EUS1": "eu-south-1", "APN1": "ap-northeast-1", "APN2": "ap-northeast-2",
    "APN3": "ap-northeast-3", "APS1": "ap-southeast-1", "APS2": "ap-southeast-2", "APS3": "ap-south-1",
    "SAE1": "sa-east-1", "MES1": "me-south-1", "AFS1": "af-south-1",
}  # fmt: skip
_INSTANCE_USAGE = ("BoxUsage", "HeavyUsage")
LINUX = "Linux/UNIX"
# line_item_operation -> platform (AWS "EC2 billing operation" codes); reservations and prices are per platform.
PLATFORMS = {
    "RunInstances": LINUX, "RunInstances:0002": "Windows", "RunInstances:0010": "Red Hat Enterprise Linux",
    "RunInstances:000g": "SUSE Linux", "RunInstances:0006": "Windows with SQL Server Standard",
    "RunInstances:0102": "Windows with SQL Server Enterprise", "RunInstances:0202": "Windows with SQL Server Web",
}  # fmt: skip


@dataclass(frozen=True)
class BillLine:
    """The columns of one cost and usage report line this module reads."""

    line_type: str  # line_item_line_item_type
    usage_type: str  # line_item_usage_type
    start: datetime  # line_item_usage_start_date
    amount: float  # line_item_usage_amount (hours)
    cost: float  # line_item_unblended_cost
    reservation_arn: str = ""
    reserved_hours: float = 0.0  # reservation_total_reserved_units (RIFee lines)
    unused_hours: float = 0.0  # reservation_unused_quantity (RIFee lines)
    amortized_upfront: float = 0.0  # reservation_amortized_upfront_fee_for_billing_period (RIFee lines)
    operation: str = "RunInstances"  # line_item_operation: "RunInstances" is Linux/UNIX ("RunInstances:0002" Windows)
    end: datetime | None = None  # line_item_usage_end_date; None: one hour
    savings_plan_arn: str = ""  # savings_plan_savings_plan_a_r_n
    sp_commitment: float = 0.0  # savings_plan_total_commitment_to_date (SavingsPlanRecurringFee lines)
    sp_used: float = 0.0  # savings_plan_used_commitment (SavingsPlanRecurringFee lines)


def _hours(line: BillLine) -> list[datetime]:
    start = line.start.replace(minute=0, second=0, microsecond=0)
    count = 1 if line.end is None else max(1, math.ceil((line.end - start).total_seconds() / 3600))
    return [start + timedelta(hours=k) for k in range(count)]


def instance_usage(usage_type: str) -> tuple[str, str] | None:
    """("us-east-2", "c5.large") for "USE2-BoxUsage:c5.large"; None for anything but instance hours."""
    head, _, instance_type = usage_type.partition(":")
    prefix, _, kind = head.rpartition("-")
    if kind not in _INSTANCE_USAGE or not instance_type:
        return None
    region = REGION_PREFIXES.get(prefix)
    return None if region is None else (region, instance_type)


@dataclass(frozen=True)
class ReservationUse:
    reservation_arn: str
    region: str
    instance_type: str
    platform: str
    reserved_hours: float
    unused_hours: float

    @property
    def utilisation(self) -> float:
        return 1.0 - self.unused_hours / self.reserved_hours if self.reserved_hours > 0 else 0.0


@dataclass
class TypeUse:
    region: str
    instance_type: str
    platform: str
    covered_hours: float = 0.0
    on_demand_hours: float = 0.0
    on_demand_cost: float = 0.0
    reservation_cost: float = 0.0  # RIFee cost of this type's reservations
    reserved_hours: float = 0.0
    hourly_on_demand: dict[datetime, float] = field(default_factory=dict)

    @property
    def coverage(self) -> float:
        total = self.covered_hours + self.on_demand_hours
        return self.covered_hours / total if total > 0 else 0.0

    def billed_discount(self) -> float | None:
        """1 - the reservations' effective hourly rate / the on-demand rate, where the bill shows both."""
        if self.reserved_hours <= 0 or self.on_demand_hours <= 0 or self.on_demand_cost <= 0:
            return None
        discount = 1.0 - (self.reservation_cost / self.reserved_hours) / (self.on_demand_cost / self.on_demand_hours)
        return discount if 0.0 < discount < 1.0 else None


@dataclass(frozen=True)
class SavingsPlanUse:
    savings_plan_arn: str
    committed: float  # $ of commitment over the period
    used: float  # $ of it that covered usage

    @property
    def utilisation(self) -> float:
        return self.used / self.committed if self.committed > 0 else 0.0


@dataclass
class CoverageReport:
    reservations: list[ReservationUse]
    types: list[TypeUse]
    first_hour: datetime | None
    last_hour: datetime | None
    savings_plans: list[SavingsPlanUse] = field(default_factory=list)
    sp_covered_cost: float = 0.0  # on-demand equivalent cost of instance usage Savings Plans covered
    hourly_on_demand_cost: dict[datetime, float] = field(default_factory=dict)  # instance usage paid on demand, $

    @property
    def on_demand_cost(self) -> float:
        return sum(self.hourly_on_demand_cost.values())

    @property
    def savings_plan_coverage(self) -> float:
        """Share of the on-demand-equivalent cost of instance usage that Savings Plans covered."""
        total = self.sp_covered_cost + self.on_demand_cost
        return self.sp_covered_cost / total if total > 0 else 0.0

    @property
    def hours(self) -> int:
        if self.first_hour is None or self.last_hour is None:
            return 0
        return int((self.last_hour - self.first_hour).total_seconds() // 3600) + 1


def coverage_report(lines: Iterable[BillLine]) -> CoverageReport:
    reservations: dict[str, ReservationUse] = {}
    types: dict[tuple[str, str, str], TypeUse] = {}
    plans: dict[str, SavingsPlanUse] = {}
    sp_covered = 0.0
    hourly_cost: dict[datetime, float] = {}
    first: datetime | None = None
    last: datetime | None = None
    for line in lines:
        if line.line_type == "SavingsPlanRecurringFee" and line.savings_plan_arn:
            plan = plans.get(line.savings_plan_arn)
            plans[line.savings_plan_arn] = SavingsPlanUse(
                line.savings_plan_arn,
                line.sp_commitment + (plan.committed if plan else 0.0),
                line.sp_used + (plan.used if plan else 0.0),
            )
            continue
        usage = instance_usage(line.usage_type)
        if usage is None:
            continue
        if line.line_type == "SavingsPlanCoveredUsage":
            sp_covered += line.cost  # the on-demand equivalent of what the plan paid for
            continue
        found = (*usage, PLATFORMS.get(line.operation, line.operation))
        use = types.get(found) or types.setdefault(found, TypeUse(*found))
        if line.line_type == "RIFee":
            known = reservations.get(line.reservation_arn)
            reserved = line.reserved_hours + (known.reserved_hours if known else 0.0)
            unused = line.unused_hours + (known.unused_hours if known else 0.0)
            reservations[line.reservation_arn] = ReservationUse(line.reservation_arn, *found, reserved, unused)
            use.reservation_cost += line.cost + line.amortized_upfront  # recurring fee + the upfront's share
            use.reserved_hours += line.reserved_hours
            continue
        if line.line_type == "DiscountedUsage":
            use.covered_hours += line.amount
        elif line.line_type == "Usage":
            use.on_demand_hours += line.amount
            use.on_demand_cost += line.cost
            hours = _hours(line)
            for hour in hours:  # a daily or monthly line is spread evenly over its hours
                use.hourly_on_demand[hour] = use.hourly_on_demand.get(hour, 0.0) + line.amount / len(hours)
                hourly_cost[hour] = hourly_cost.get(hour, 0.0) + line.cost / len(hours)
        else:
            continue
        span = _hours(line)
        first = span[0] if first is None or span[0] < first else first
        last = span[-1] if last is None or span[-1] > last else last
    return CoverageReport(
        sorted(reservations.values(), key=lambda r: r.reservation_arn), list(types.values()), first, last,
        sorted(plans.values(), key=lambda p: p.savings_plan_arn), sp_covered, hourly_cost,
    )  # fmt: skip


def purchase_advice(
    report: CoverageReport, catalogue: PriceCatalogue, decline: float = 0.0
) -> tuple[list[Recommendation], list[Skipped]]:
    """Further reservations per type that maximise the net saving over the report's hours (every hour of the
    period counts: an hour without on-demand usage is a reserved hour wasted)."""
    found: list[Recommendation] = []
    skipped: list[Skipped] = []
    hours = report.hours
    if hours == 0 or report.first_hour is None:
        return found, skipped
    fallback = float(catalogue.unit_price("ec2", "reserved_1yr_no_upfront_discount").amount)
    for use in sorted(report.types, key=lambda u: (u.region, u.instance_type)):
        subject = f"{use.region}:{use.instance_type}"
        if not use.hourly_on_demand or use.platform != LINUX:
            continue
        try:
            hourly_price = catalogue.ec2_hourly(use.instance_type, use.region)
        except UnknownPrice as exc:
            skipped.append(Skipped(subject, str(exc)))
            continue
        profile = np.zeros(hours)
        for hour, amount in use.hourly_on_demand.items():
            index = int((hour - report.first_hour).total_seconds() // 3600)
            if 0 <= index < hours:
                profile[index] += amount
        billed = use.billed_discount()
        discount = billed if billed is not None else fallback
        best = optimal_commitment(profile, discount, decline)
        count = math.floor(best.covered + 1e-9)  # whole reservations, rounded down (the cautious side)
        if count == 0:
            continue
        kept = float(np.minimum(profile, count).sum() - hours * (1 - discount) * count)
        if kept <= 0:
            continue
        per_hour = Decimal(str(kept / hours)) * hourly_price
        found.append(
            Recommendation(
                kind=Kind.BUY_RESERVATION,
                resource_id=subject,
                region=use.region,
                summary=f"reserve {count} x {use.instance_type} in {use.region} "
                + ("at the rate your reservations of it get" if billed is not None else "(1 year, no upfront)"),
                monthly_saving=monthly(per_hour),
                confidence=round(min(1.0, hours / (30 * 24)), 3),  # a month of history is full confidence
                risk=Risk.LOW if decline > 0 or best.utilisation >= 0.9 else Risk.MEDIUM,
                current=f"{use.coverage:.0%} covered",
                proposed=f"+{count} reserved",
                evidence={
                    "hours": float(hours),
                    "discount": round(discount, 4),
                    "discount_from": "the bill" if billed is not None else "catalogue (1-year no upfront)",
                    "coverage_before": round(use.coverage, 4),
                    "utilisation_after": round(float(np.minimum(profile, count).sum() / (count * hours)), 4),
                    "median_on_demand_instances": float(np.median(profile)),
                },
            )
        )
    return found, skipped


def savings_plan_advice(
    report: CoverageReport, catalogue: PriceCatalogue, decline: float = 0.0
) -> Recommendation | None:
    """The Compute Savings Plan commitment ($ an hour) that maximises the net saving over the instance usage still
    paid on demand each hour (any platform, size or region: what a Compute Savings Plan covers), at the catalogue's
    1-year no-upfront discount. An alternative to the reservations above for the same usage, not an addition."""
    hours = report.hours
    if hours == 0 or report.first_hour is None or not report.hourly_on_demand_cost:
        return None
    discount = float(catalogue.unit_price("ec2", "compute_savings_plan_1yr_no_upfront_discount").amount)
    profile = np.zeros(hours)
    for hour, cost in report.hourly_on_demand_cost.items():
        index = int((hour - report.first_hour).total_seconds() // 3600)
        if 0 <= index < hours:
            profile[index] += cost
    best = optimal_commitment(profile, discount, decline)
    if best.net_saving <= 0 or best.hourly_commitment <= 0:
        return None
    commitment = Decimal(str(round(best.hourly_commitment, 3)))
    return Recommendation(
        kind=Kind.BUY_SAVINGS_PLAN,
        resource_id="compute-savings-plan",
        region="global",
        summary=f"commit ${commitment}/hour to a Compute Savings Plan (1 year, no upfront)",
        monthly_saving=monthly(Decimal(str(best.net_saving / hours))),
        confidence=round(min(1.0, hours / (30 * 24)), 3),
        risk=Risk.LOW if decline > 0 or best.utilisation >= 0.9 else Risk.MEDIUM,
        current=f"{report.savings_plan_coverage:.0%} covered by Savings Plans",
        proposed=f"+${commitment}/hour",
        evidence={
            "hours": float(hours),
            "discount": discount,
            "coverage_after": round(best.coverage, 4),
            "utilisation_after": round(best.utilisation, 4),
        },
    )
