"""DynamoDB price rules, against the peer's dynamodb_table_test golden and by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from outlay.iac.resources import Resource
from tests.unit.iac.support import estimate_of, golden_matches, misses, resource

TESTDATA = "iac_infracost/internal/providers/terraform/aws/testdata/dynamodb_table_test"
REPLICAS = [{"region_name": "us-east-2"}, {"region_name": "us-west-1"}]


def table(name: str, billing_mode: str | None = "PROVISIONED", replicas: bool = False) -> Resource:
    attributes: dict[str, Any] = {"name": "GameScores", "hash_key": "UserId", "range_key": "GameTitle",
                                  "point_in_time_recovery": [{"enabled": True}]}  # fmt: skip
    if billing_mode:
        attributes["billing_mode"] = billing_mode
    if billing_mode != "PAY_PER_REQUEST":
        attributes.update(read_capacity=30, write_capacity=20)
    if replicas:
        attributes["replica"] = REPLICAS
    return resource(f"aws_dynamodb_table.{name}", attributes, region="us-east-2")


def test_dynamodb_matches_the_golden(shared_data: Path) -> None:
    found = estimate_of(
        [
            table("my_dynamodb_table_usage", "PAY_PER_REQUEST", replicas=True),
            table("my_dynamodb_table", replicas=True),
            table("my_dynamodb_table_with_no_billing_mode", None, replicas=True),
            table("autoscale_dynamodb_table"),
            table("autoscale_dynamodb_table_usage"),
            table("autoscale_dynamodb_table_literal_ref"),
        ],
        {"resource_usage": {"aws_dynamodb_table.my_dynamodb_table_usage": {
            "monthly_write_request_units": 3000000, "monthly_read_request_units": 8000000, "storage_gb": 230,
            "pitr_backup_storage_gb": 2300, "on_demand_backup_storage_gb": 460, "monthly_data_restored_gb": 230,
            "monthly_streams_read_request_units": 2000000}}},  # the table's part of dynamodb_table_test.usage.yml
    )  # fmt: skip
    assert not found.problems, found.problems
    matches = golden_matches(shared_data, "dynamodb_table_test", found)
    assert len(matches) == 23  # the priced ones: 48 less 25 that depend on usage
    missed = {(m.golden.resource.rsplit(".", 1)[1], m.golden.component) for m in matches if not m.within}
    # Autoscaled capacity comes from aws_appautoscaling_target resources, which a table's rule does not see.
    assert missed == {
        ("autoscale_dynamodb_table", "Write capacity unit (WCU, autoscaling)"),
        ("autoscale_dynamodb_table", "Read capacity unit (RCU, autoscaling)"),
        ("autoscale_dynamodb_table_usage", "Write capacity unit (WCU, autoscaling)"),
        ("autoscale_dynamodb_table_usage", "Read capacity unit (RCU, autoscaling)"),
        ("autoscale_dynamodb_table_literal_ref", "Read capacity unit (RCU, autoscaling)"),
    }, misses(matches)


def test_provisioned_capacity_and_replicas_by_hand() -> None:
    # 20 WCU x 730 h x $0.00065 = $9.49; replicated to us-west-1 at $0.000725 = $10.585; 30 RCU x 730 x $0.00013
    found = estimate_of([table("t", replicas=True)])
    priced = {c.name: c.monthly_cost for c in found.resources[0].all_components() if c.monthly_cost is not None}
    assert priced["Write capacity unit (WCU)"] == Decimal("9.49000")
    assert priced["Read capacity unit (RCU)"] == Decimal("2.84700")
    replicated = sorted(c.monthly_cost for c in found.resources[0].all_components()
                        if c.name == "Replicated write capacity unit (rWCU)")  # fmt: skip
    assert replicated == [Decimal("9.49000"), Decimal("10.585000")]


def test_on_demand_tables_are_priced_by_request() -> None:
    found = estimate_of([table("od", "PAY_PER_REQUEST")],
                        {"resource_usage": {"aws_dynamodb_table.od": {"monthly_write_request_units": 2000000}}})  # fmt: skip
    costs = {c.name: c.monthly_cost for c in found.resources[0].components}
    assert costs["Write request unit (WRU)"] == Decimal("1.250000")
    assert costs["Read request unit (RRU)"] is None
    assert "Write capacity unit (WCU)" not in costs
