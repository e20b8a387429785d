"""CloudWatch log group price rules, against the peer's cloudwatch_log_group_test golden and by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.unit.iac.support import estimate_of, golden_matches, misses, resource

TESTDATA = "iac_infracost/internal/providers/terraform/aws/testdata/cloudwatch_log_group_test"


def test_log_groups_match_the_golden(shared_data: Path) -> None:
    groups = [resource("aws_cloudwatch_log_group.logs", {"name": "log-group"}),
              resource("aws_cloudwatch_log_group.logs_withUsage", {"name": "log-group"}),
              *(resource(f"aws_cloudwatch_log_group.logs_count_withUsage[{i}]", {"name": f"log-group{i}"})
                for i in range(3))]  # fmt: skip
    found = estimate_of(groups, shared_data / TESTDATA / "cloudwatch_log_group_test.usage.yml")
    assert not found.problems, found.problems
    matches = golden_matches(shared_data, "cloudwatch_log_group_test", found)
    assert len(matches) == 12  # four groups with usage (one through `[*]`), three components each
    assert all(m.within for m in matches), misses(matches)


def test_log_group_costs_by_hand() -> None:
    usage = {"resource_usage": {"aws_cloudwatch_log_group.app": {"monthly_data_ingested_gb": 10, "storage_gb": 100}}}
    found = estimate_of([resource("aws_cloudwatch_log_group.app", {})], usage)
    costs = {c.name: c.monthly_cost for c in found.resources[0].components}
    assert costs == {"Data ingested": Decimal("5.00"), "Archival Storage": Decimal("3.00"),
                     "Insights queries data scanned": None}  # fmt: skip
