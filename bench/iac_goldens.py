"""The peer's golden cost breakdowns (`shared/data/iac_infracost/expected_costs_from_goldens.csv`) and how an
Outlay estimate is compared with them, component by component. Used by `make bench-iac` and the IaC tests.

A golden component is (golden file, resource address, component name, monthly quantity, unit, monthly cost,
usage_based); components whose cost "depends on usage" have no cost and are not counted as priced. Components of
one resource with the same name (a root volume and a data volume both "Storage (general purpose SSD, gp2)") are
matched in order of monthly cost, so each golden row meets at most one of Outlay's.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from outlay.iac.report import Estimate

GOLDENS_CSV = "iac_infracost/expected_costs_from_goldens.csv"
TOLERANCE = Decimal("0.01")  # within 1%


def _decimal(text: str) -> Decimal | None:
    cleaned = text.replace("$", "").replace(",", "").strip()
    return Decimal(cleaned) if cleaned else None


@dataclass(frozen=True)
class GoldenComponent:
    golden: str  # path of the .golden file, relative to iac_infracost
    resource: str
    component: str
    monthly_quantity: Decimal | None
    unit: str
    monthly_cost: Decimal | None
    usage_based: bool

    @property
    def test(self) -> str:
        """The golden's folder name (`instance_test`, `breakdown_terraform_v0_12`)."""
        return Path(self.golden).parent.name


def read_goldens(shared_data: Path) -> tuple[list[GoldenComponent], dict[str, Decimal]]:
    """Priced golden components, and each golden's overall total."""
    components: list[GoldenComponent] = []
    totals: dict[str, Decimal] = {}
    with (shared_data / GOLDENS_CSV).open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["usage_based"] == "depends":
                continue  # "Monthly cost depends on usage: $0.05 per 1M request": no cost to compare
            cost = _decimal(row["monthly_cost"])
            if row["resource"] == "OVERALL TOTAL":
                if cost is not None:
                    totals[Path(row["golden"]).parent.name] = cost
                continue
            if cost is None:
                continue
            components.append(GoldenComponent(row["golden"], row["resource"], row["component"],
                                              _decimal(row["monthly_qty"]), row["unit"], cost,
                                              row["usage_based"] == "yes"))  # fmt: skip
    return components, totals


@dataclass(frozen=True)
class Match:
    golden: GoldenComponent
    outlay_cost: Decimal | None  # None: Outlay has no such priced component

    @property
    def within(self) -> bool:
        expected = self.golden.monthly_cost or Decimal(0)
        if self.outlay_cost is None:
            return False
        if expected == 0:
            return abs(self.outlay_cost) < Decimal("0.005")
        # Goldens show cents: a difference below half a cent is rounding, not a price.
        return abs(self.outlay_cost - expected) <= max(abs(expected) * TOLERANCE, Decimal("0.005"))


def compare(goldens: Iterable[GoldenComponent], estimate: Estimate) -> list[Match]:
    """Each golden component of the resources in `estimate` matched with Outlay's component of the same resource
    and name (pairs of equal names in order of cost)."""
    ours: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for resource in estimate.resources:
        for component in resource.all_components():
            if component.monthly_cost is not None:
                ours[(resource.address, component.name)].append(component.monthly_cost)
    theirs: dict[tuple[str, str], list[GoldenComponent]] = defaultdict(list)
    for golden in goldens:
        theirs[(golden.resource, golden.component)].append(golden)
    matches: list[Match] = []
    for key, wanted in theirs.items():
        wanted = sorted(wanted, key=lambda g: g.monthly_cost or Decimal(0))
        have = sorted(ours.get(key, []))
        for i, golden in enumerate(wanted):
            matches.append(Match(golden, have[i] if i < len(have) else None))
    return matches
