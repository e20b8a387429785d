"""Estimates: EC2 priced component by component, the usage file's rules, and nothing dropped silently."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from outlay.iac.estimate import estimate
from outlay.iac.resources import InputError, Resource
from outlay.iac.usage import load_usage, parse_usage
from tests.unit.iac.support import estimate_of, golden_matches, misses, resource


def test_an_instance_with_its_volumes_priced_by_hand() -> None:
    web = resource("aws_instance.web", {
        "instance_type": "m5.large", "monitoring": True,
        "root_block_device": [{"volume_size": 20, "volume_type": "gp3"}],
        "ebs_block_device": [{"volume_size": 100, "volume_type": "io1", "iops": 1000},
                             {"volume_size": 50, "volume_type": "gp3", "iops": 4000, "throughput": 250}],
    })  # fmt: skip
    priced = estimate_of([web]).resources[0]
    costs = {(sub, c.name): c.monthly_cost for sub, c in
             [("", c) for c in priced.components] + [(s.name, c) for s in priced.subresources for c in s.components]}  # fmt: skip
    assert costs == {
        ("", "Instance usage (Linux/UNIX, on-demand, m5.large)"): Decimal("730") * Decimal("0.096"),
        ("", "EC2 detailed monitoring"): Decimal("2.10"),
        ("root_block_device", "Storage (general purpose SSD, gp3)"): Decimal("1.60"),
        ("ebs_block_device[0]", "Storage (provisioned IOPS SSD, io1)"): Decimal("12.500"),
        ("ebs_block_device[0]", "Provisioned IOPS"): Decimal("65.000"),
        ("ebs_block_device[1]", "Storage (general purpose SSD, gp3)"): Decimal("4.00"),
        ("ebs_block_device[1]", "Provisioned IOPS"): Decimal("5.000"),  # 1,000 above gp3's free 3,000
        ("ebs_block_device[1]", "Provisioned throughput"): Decimal("5.00"),  # 125 MiB/s above the free 125
    }
    assert (
        priced.monthly_cost == Decimal("70.08") + Decimal("2.10") + Decimal("1.60") + Decimal("12.5") + 65 + 4 + 5 + 5
    )


def test_cpu_credits_depend_on_usage_until_it_is_given() -> None:
    burst = resource("aws_instance.burst", {"instance_type": "t3.medium"})
    without = estimate_of([burst]).resources[0]
    credits = next(c for c in without.components if c.name == "CPU credits")
    assert credits.monthly_quantity is None and credits.monthly_cost is None and credits.unit_price == Decimal("0.05")
    given = estimate_of([burst], {"resource_usage": {"aws_instance.burst": {"monthly_cpu_credit_hrs": 730}}})
    credits = next(c for c in given.resources[0].components if c.name == "CPU credits")
    assert credits.monthly_cost == Decimal("73.00")  # 730 h x 2 vCPUs x $0.05


def test_unsupported_free_and_unpriceable_resources_are_listed_and_the_rest_completes() -> None:
    found = estimate_of([
        resource("aws_instance.ok", {"instance_type": "t3.nano"}),
        resource("aws_instance.odd", {"instance_type": "m99.huge"}),
        resource("aws_glue_job.etl", {}),
        resource("aws_security_group.web", {}),
        Resource("aws_instance.nowhere", "aws_instance", {"instance_type": "t3.nano"}, None),
    ])  # fmt: skip
    status = {r.address: r.status for r in found.resources}
    assert status == {"aws_instance.ok": "priced", "aws_instance.odd": "priced", "aws_glue_job.etl": "unsupported",
                      "aws_security_group.web": "free", "aws_instance.nowhere": "priced"}  # fmt: skip
    problems = {p.address: p.message for p in found.problems}
    assert "m99.huge" in problems["aws_instance.odd"]
    assert "no region" in problems["aws_instance.nowhere"]
    assert found.resources[0].monthly_cost > 0


def test_a_deleted_resource_costs_nothing_after_the_change() -> None:
    gone = Resource("aws_instance.old", "aws_instance", {"instance_type": "m5.large"}, "us-east-1", action="delete")
    assert estimate([gone]).resources == []


def test_usage_keys_a_rule_does_not_read_are_errors_naming_them() -> None:
    usage = parse_usage({"resource_usage": {"aws_instance.web": {"monthly_cpu_credit_hr": 5},
                                            "aws_instance.ghost": {"vcpu_count": 2}}})  # fmt: skip
    found = estimate([resource("aws_instance.web", {"instance_type": "t3.nano"})], usage)
    messages = [(p.address, p.kind, p.message) for p in found.problems]
    assert messages[0][:2] == ("aws_instance.web", "usage") and "'monthly_cpu_credit_hr'" in messages[0][2]
    assert "monthly_cpu_credit_hrs" in messages[0][2]  # the keys it does read, to spot the typo
    assert messages[1][:2] == ("aws_instance.ghost", "usage")


def test_usage_defaults_wildcards_and_nesting() -> None:
    usage = parse_usage({
        "resource_type_default_usage": {"aws_instance": {"vcpu_count": 4}},
        "resource_usage": {"aws_instance.fleet[*]": {"monthly_cpu_credit_hrs": 10},
                           "aws_instance.fleet[1]": {"monthly_cpu_credit_hrs": 20},
                           "aws_s3_bucket.logs": {"standard": {"storage_gb": 5}}},
    })  # fmt: skip
    first = usage.for_resource(resource("aws_instance.fleet[0]", {}))
    second = usage.for_resource(resource("aws_instance.fleet[1]", {}))
    assert first == {"vcpu_count": 4, "monthly_cpu_credit_hrs": 10}
    assert second == {"vcpu_count": 4, "monthly_cpu_credit_hrs": 20}
    assert usage.for_resource(resource("aws_s3_bucket.logs", {})) == {"standard.storage_gb": 5}


def test_bad_usage_files_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown top-level key 'resources'"):
        parse_usage({"resources": {}})
    with pytest.raises(InputError, match="resource_usage.aws_instance.web must be a mapping"):
        parse_usage({"resource_usage": {"aws_instance.web": 5}})
    bad = tmp_path / "usage.yml"
    bad.write_text("resource_usage: [unclosed")
    with pytest.raises(InputError, match="usage.yml: not valid YAML"):
        load_usage(bad)


def test_the_plan_goldens_instances_match(shared_data: Path) -> None:
    from outlay.iac.sources import read

    testdata = shared_data / "iac_infracost/cmd/infracost/testdata"
    target = estimate(read(testdata / "plan_with_target.json").resources)
    assert target.monthly_cost.quantize(Decimal("0.01")) == Decimal("16.18")  # the golden's total
    v12 = estimate(read(testdata / "terraform_v0.12_plan.json").resources)
    matches = [
        m for m in golden_matches(shared_data, "breakdown_terraform_v0_12", v12) if "aws_instance" in m.golden.resource
    ]
    assert len(matches) == 24 and not misses(matches), misses(matches)


def test_the_usage_file_declares_data_transfer_that_no_resource_owns() -> None:
    usage = parse_usage({"resource_usage": {
        "aws_data_transfer.europe": {"region": "eu-west-1", "monthly_outbound_internet_gb": 100},
        "aws_data_transfer.home": {"monthly_intra_region_gb": 1000}}})  # fmt: skip
    found = estimate([resource("aws_instance.web", {"instance_type": "t3.nano"}, region="us-west-2")], usage)
    transfer = {r.address: r for r in found.resources if r.type == "aws_data_transfer"}
    assert set(transfer) == {"aws_data_transfer.europe", "aws_data_transfer.home"}
    assert transfer["aws_data_transfer.home"].region == "us-west-2"  # the input's region when the file names none
    assert transfer["aws_data_transfer.europe"].monthly_cost > 0 and not found.problems


def test_instances_read_their_launch_template_hours_and_fees() -> None:
    template = resource("aws_launch_template.lt", {
        "instance_type": "t3.medium", "monitoring": [{"enabled": True}],
        "block_device_mappings": [{"device_name": "xvdc", "ebs": [{"volume_type": "io1", "volume_size": 10, "iops": 100}]}],
    })  # fmt: skip
    by_template = resource("aws_instance.from_lt", {"launch_template": [{"id": "aws_launch_template.lt.id"}]})
    override = resource(
        "aws_instance.own", {"instance_type": "t3.large", "launch_template": [{"name": "aws_launch_template.lt.name"}]}
    )
    part_time = resource("aws_instance.part", {"instance_type": "r3.xlarge", "ebs_optimized": True})
    host = resource("aws_ec2_host.mac", {"instance_family": "mac1"})
    found = estimate_of([template, by_template, override, part_time, host],
                        {"resource_usage": {"aws_instance.part": {"monthly_hrs": 100}}})  # fmt: skip
    costs = {r.address: {c.name: c.monthly_cost for c in r.all_components()} for r in found.resources}
    assert costs["aws_instance.from_lt"] == {
        "Instance usage (Linux/UNIX, on-demand, t3.medium)": Decimal(730) * Decimal("0.0416"),
        "EC2 detailed monitoring": Decimal("2.10"), "CPU credits": None,
        "Storage (general purpose SSD, gp2)": Decimal("0.80"),  # its own root volume
        "Storage (provisioned IOPS SSD, io1)": Decimal("1.250"), "Provisioned IOPS": Decimal("6.500"),  # the template's
    }  # fmt: skip
    assert "Instance usage (Linux/UNIX, on-demand, t3.large)" in costs["aws_instance.own"]  # its own type wins
    assert costs["aws_instance.part"]["Instance usage (Linux/UNIX, on-demand, r3.xlarge)"] == Decimal("33.300")
    assert costs["aws_instance.part"]["EBS-optimized usage"] == Decimal("2.00")  # $0.02/h for its 100 hours
    assert costs["aws_ec2_host.mac"] == {"EC2 Dedicated Host (on-demand, mac1)": Decimal("790.590")}
    assert costs["aws_launch_template.lt"] == {} and not found.problems


def test_odd_values_are_problems_of_their_resource_only() -> None:
    found = estimate_of(
        [
            resource("aws_lambda_function.odd", {"memory_size": 128, "ephemeral_storage": [{"size": "big"}]}),
            resource("aws_instance.burst", {"instance_type": "t3.gigantic"}),
            resource("aws_nat_gateway.ok", {}),
        ],
        {"resource_usage": {"aws_instance.burst": {"monthly_cpu_credit_hrs": 10},
                            "aws_lambda_function.odd": {"monthly_requests": ".nan"}}},
    )  # fmt: skip
    assert {p.address for p in found.problems} == {"aws_lambda_function.odd", "aws_instance.burst"}
    assert any("monthly_requests" in p.message for p in found.problems)  # NaN is not a number of requests
    nat = next(r for r in found.resources if r.address == "aws_nat_gateway.ok")
    assert nat.monthly_cost == Decimal("32.850")


def test_negative_usage_is_refused_by_name() -> None:
    found = estimate_of([resource("aws_nat_gateway.gw", {})],
                        {"resource_usage": {"aws_nat_gateway.gw": {"monthly_data_processed_gb": -5}}})  # fmt: skip
    assert [p.message for p in found.problems if "monthly_data_processed_gb" in p.message]
    assert found.monthly_cost == Decimal("32.850")  # the hours are still there


def test_a_plan_without_planned_values_uses_its_changes() -> None:
    from outlay.iac.sources.terraform_plan import plan_resources

    document = {"resource_changes": [
        {"address": "module.app.aws_instance.web", "module_address": "module.app", "mode": "managed",
         "type": "aws_instance", "change": {"actions": ["create"], "after": {"instance_type": "t3.nano"}}},
        {"address": "aws_instance.gone", "mode": "managed", "type": "aws_instance",
         "change": {"actions": ["delete"], "after": None}},
        None,
    ]}  # fmt: skip
    resources = plan_resources(document, default_region="us-east-1")
    assert [(r.address, r.module, r.action) for r in resources] == [
        ("module.app.aws_instance.web", ("module.app",), "create")
    ]


def test_autoscaling_targets_set_the_capacity_of_what_they_scale() -> None:
    table = resource("aws_dynamodb_table.orders", {"name": "orders", "billing_mode": "PROVISIONED",
                                                   "read_capacity": 30, "write_capacity": 20})  # fmt: skip
    writes = resource("aws_appautoscaling_target.w", {"resource_id": "table/orders", "min_capacity": 6,
                                                      "scalable_dimension": "dynamodb:table:WriteCapacityUnits"})  # fmt: skip
    group = resource("aws_elasticache_replication_group.cache", {
        "replication_group_id": "cache", "node_type": "cache.m4.large", "num_node_groups": 4, "replicas_per_node_group": 3})  # fmt: skip
    shards = resource("aws_appautoscaling_target.s", {"resource_id": "replication-group/cache", "min_capacity": 8,
                                                      "scalable_dimension": "elasticache:replication-group:NodeGroups"})  # fmt: skip
    found = estimate_of(
        [table, writes, group, shards], {"resource_usage": {"aws_appautoscaling_target.s": {"capacity": 10}}}
    )
    costs = {
        r.address: {c.name: c.monthly_quantity for c in r.all_components() if c.monthly_quantity}
        for r in found.resources
    }
    assert costs["aws_dynamodb_table.orders"] == {
        "Write capacity unit (WCU, autoscaling)": 6,
        "Read capacity unit (RCU)": 30,
    }
    assert costs["aws_elasticache_replication_group.cache"] == {
        "ElastiCache (on-demand, cache.m4.large, autoscaling)": 10 * 4 * 730
    }  # 10 shards (usage) x (1 + 3 replicas)
    typo = estimate_of([table, writes], {"resource_usage": {"aws_appautoscaling_target.w": {"capacty": 9}}})
    assert [p.kind for p in typo.problems] == ["usage"] and "capacty" in typo.problems[0].message
