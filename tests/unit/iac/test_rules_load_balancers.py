"""Load balancer price rules: against the peer's lb_test, elb_test and (its network load balancer) eip_test
goldens, and by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.unit.iac.support import estimate_of, golden_matches, misses, resource

TESTDATA = Path("iac_infracost/internal/providers/terraform/aws/testdata")
LISTENER = [{"instance_port": 80, "instance_protocol": "HTTP", "lb_port": 80, "lb_protocol": "HTTP"}]

# Not matched, and why: lb_test's usage gives 10,000 new connections a second (the usage key's meaning, as AWS
# counts LCUs: 25 a second per ALB LCU, 800 per NLB LCU), which needs 400 LCUs (ALB) and 12.5 (NLB); the golden
# counts only the processed bytes' 1.37.
EXPECTED_MISSES = {
    ("aws_lb.alb1_usage", "Load balancer capacity units"),
    ("aws_lb.nlb1_usage", "Load balancer capacity units"),
}


def test_load_balancers_match_the_golden(shared_data: Path) -> None:
    subnets = {"subnets": ["subnet-12345678"]}
    balancers = [
        resource("aws_lb.lb1", {"load_balancer_type": "application", **subnets}),
        resource("aws_alb.alb1", subnets),
        resource("aws_lb.nlb1", {"load_balancer_type": "network", **subnets}),
        resource("aws_lb.alb1_usage", {"load_balancer_type": "application", **subnets}),
        resource("aws_lb.nlb1_usage", {"load_balancer_type": "network", **subnets}),
    ]
    found = estimate_of(balancers, shared_data / TESTDATA / "lb_test/lb_test.usage.yml")
    assert not found.problems, found.problems
    matches = golden_matches(shared_data, "lb_test", found)
    assert len(matches) == 7
    missed = {(m.golden.resource, m.golden.component) for m in matches if not m.within}
    assert missed == EXPECTED_MISSES, misses(matches)


def test_classic_load_balancers_match_the_golden(shared_data: Path) -> None:
    balancers = [resource(f"aws_elb.{n}", {"listener": LISTENER}) for n in ("elb1", "my_elb")]
    found = estimate_of(balancers, shared_data / TESTDATA / "elb_test/elb_test.usage.yml")
    assert not found.problems, found.problems
    matches = golden_matches(shared_data, "elb_test", found)
    assert len(matches) == 3
    assert all(m.within for m in matches), misses(matches)


def test_the_eip_tests_network_load_balancer_matches_the_golden(shared_data: Path) -> None:
    mappings = [{"subnet_id": "subnet-12345678", "allocation_id": "aws_eip.eip3.id"}]
    found = estimate_of([resource("aws_lb.example", {"load_balancer_type": "network", "subnet_mapping": mappings})])
    matches = golden_matches(shared_data, "eip_test", found)
    assert [m.golden.component for m in matches] == ["Network load balancer"]
    assert all(m.within for m in matches), misses(matches)


def test_capacity_units_are_the_busiest_dimension() -> None:
    # 50 new connections/s = 2 LCU; 1,460 GB a month = 2 GB/h = 2 LCU; 9,000 active/min = 3 LCU: 3 x 730 x 0.008
    found = estimate_of([resource("aws_lb.web", {})], {"resource_usage": {"aws_lb.web": {
        "new_connections": 50, "processed_bytes_gb": 1460, "active_connections": 9000}}})  # fmt: skip
    costs = {c.name: c.monthly_cost for c in found.resources[0].components}
    assert costs == {"Application load balancer": Decimal("16.4250"), "Load balancer capacity units": Decimal("17.520")}


def test_listeners_and_target_groups_are_free() -> None:
    types = ["aws_lb_listener", "aws_lb_target_group", "aws_lb_target_group_attachment", "aws_lb_listener_rule",
             "aws_alb_listener", "aws_alb_target_group"]  # fmt: skip
    found = estimate_of([resource(f"{t}.x", {}) for t in types])
    assert [r.status for r in found.resources] == ["free"] * len(types)
