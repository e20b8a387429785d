"""NAT gateway and VPC endpoint price rules: against the peer's nat_gateway_test, vpc_endpoint_test and (its NAT
gateway) eip_test goldens, and by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.unit.iac.support import estimate_of, golden_matches, misses, resource

TESTDATA = Path("iac_infracost/internal/providers/terraform/aws/testdata")


def test_nat_gateways_match_the_golden(shared_data: Path) -> None:
    gateways = [resource(f"aws_nat_gateway.{n}", {"allocation_id": "eip-12345678", "subnet_id": "subnet-12345678"})
                for n in ("nat", "nat_withUsage")]  # fmt: skip
    found = estimate_of(gateways, shared_data / TESTDATA / "nat_gateway_test/nat_gateway_test.usage.yml")
    assert not found.problems, found.problems
    matches = golden_matches(shared_data, "nat_gateway_test", found)
    assert len(matches) == 3  # two gateways' hours and one's data: the other's depends on usage
    assert all(m.within for m in matches), misses(matches)


def test_the_eip_tests_nat_gateway_matches_the_golden(shared_data: Path) -> None:
    found = estimate_of([resource("aws_nat_gateway.nat_gw", {"allocation_id": "aws_eip.eip2.id"})])
    matches = golden_matches(shared_data, "eip_test", found)
    assert [m.golden.component for m in matches] == ["NAT gateway"]
    assert all(m.within for m in matches), misses(matches)


ENDPOINTS = {
    "default": {},
    "interface": {"vpc_endpoint_type": "Interface"},
    "interface_withUsage": {"vpc_endpoint_type": "Interface"},
    "interface_withBigUsage": {"vpc_endpoint_type": "Interface"},
    "gateway_loadbalancer": {"vpc_endpoint_type": "GatewayLoadBalancer"},
    "multiple_interfaces": {"vpc_endpoint_type": "Interface", "subnet_ids": ["subnet-123456", "subnet-654321"]},
    # references a source could not evaluate still count as subnets
    "with_dynamic_subnet": {"vpc_endpoint_type": "Interface", "subnet_ids": ["aws_subnet.test.id",
                                                                             "aws_subnet.test2.id"]},
}  # fmt: skip


def test_vpc_endpoints_match_the_golden(shared_data: Path) -> None:
    endpoints = [resource(f"aws_vpc_endpoint.{n}", {"service_name": "com.amazonaws.region.ec2", **a})
                 for n, a in ENDPOINTS.items()]  # fmt: skip
    found = estimate_of(endpoints, shared_data / TESTDATA / "vpc_endpoint_test/vpc_endpoint_test.usage.yml")
    assert not found.problems, found.problems
    matches = golden_matches(shared_data, "vpc_endpoint_test", found)
    assert len(matches) == 10
    assert all(m.within for m in matches), misses(matches)
    default = next(r for r in found.resources if r.address == "aws_vpc_endpoint.default")
    assert default.components == []  # a gateway endpoint (the default type) is free


def test_interface_endpoint_by_hand() -> None:
    # 3 subnets x 730 h x $0.01 = 21.90; 1.5M GB: 1M at 0.01 + 0.5M at 0.006 = 13,000
    endpoint = resource("aws_vpc_endpoint.e", {"vpc_endpoint_type": "Interface", "subnet_ids": ["a", "b", "c"]})
    found = estimate_of(
        [endpoint], {"resource_usage": {"aws_vpc_endpoint.e": {"monthly_data_processed_gb": 1_500_000}}}
    )
    costs = {c.name: c.monthly_cost for c in found.resources[0].components}
    assert costs == {
        "Endpoint (Interface)": Decimal("21.90"),
        "Data processed (first 1PB)": Decimal("10000.00"),
        "Data processed (next 4PB)": Decimal("3000.000"),
    }


def test_routes_and_gateways_are_free() -> None:
    types = ["aws_route_table", "aws_route", "aws_route_table_association", "aws_internet_gateway", "aws_network_acl"]
    found = estimate_of([resource(f"{t}.x", {}) for t in types])
    assert [r.status for r in found.resources] == ["free"] * len(types)
