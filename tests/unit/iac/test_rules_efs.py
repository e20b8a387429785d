"""EFS price rules: against the peer's efs_file_system_test golden, and by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.unit.iac.support import estimate_of, golden_matches, misses, resource

TESTDATA = Path("iac_infracost/internal/providers/terraform/aws/testdata/efs_file_system_test")
TO_IA = {"lifecycle_policy": [{"transition_to_ia": "AFTER_7_DAYS"}]}
ONE_ZONE = {"availability_zone_name": "One Zone"}

# Not matched, and why: Standard-IA storage is $0.016 a GB-month since AWS lowered it in Nov 2023; the golden
# has the earlier $0.025.
EXPECTED_MISSES = {("aws_efs_file_system.standard", "Storage (standard, infrequent access)")}


def test_file_systems_match_the_golden(shared_data: Path) -> None:
    systems = {
        "standard": TO_IA,
        "oneZone": {**TO_IA, **ONE_ZONE},
        "provisioned": {"provisioned_throughput_in_mibps": 100, "throughput_mode": "provisioned"},
        "no_usage": ONE_ZONE,
        "no_usage_with_lifecycle_policy": {**TO_IA, **ONE_ZONE},
    }
    found = estimate_of([resource(f"aws_efs_file_system.{n}", a) for n, a in systems.items()],
                        shared_data / TESTDATA / "efs_file_system_test.usage.yml")  # fmt: skip
    assert not found.problems, found.problems
    matches = golden_matches(shared_data, "efs_file_system_test", found)
    assert len(matches) == 10
    missed = {(m.golden.resource, m.golden.component) for m in matches if not m.within}
    assert missed == EXPECTED_MISSES, misses(matches)


def test_provisioned_throughput_is_billed_above_the_bursting_baseline() -> None:
    # 400 GB stored earns 20 MB/s; 50 provisioned: 30 x $6.00; storage 400 x $0.30
    system = resource(
        "aws_efs_file_system.p", {"throughput_mode": "provisioned", "provisioned_throughput_in_mibps": 50}
    )
    found = estimate_of([system], {"resource_usage": {"aws_efs_file_system.p": {"storage_gb": 400}}})
    costs = {c.name: c.monthly_cost for c in found.resources[0].components}
    assert costs == {"Storage (standard)": Decimal("120.00"), "Provisioned throughput": Decimal("180.00")}


def test_without_a_lifecycle_policy_there_is_no_infrequent_access() -> None:
    found = estimate_of([resource("aws_efs_file_system.s", {})])
    assert [(c.name, c.monthly_cost) for c in found.resources[0].components] == [("Storage (standard)", None)]
