"""VPC networking: NAT gateways and VPC endpoints (PrivateLink); routes, route tables, internet gateways and
network ACLs cost nothing.

NAT gateways are billed by the hour and by the GB they process. Interface endpoints by the hour in each subnet (one
elastic network interface per Availability Zone) and by the GB in tiers; Gateway Load Balancer endpoints likewise at
a flat GB price; gateway endpoints (S3, DynamoDB: the default type) are free.
Prices: `unit_prices.csv` (nat_gateway, vpc_endpoint), from aws.amazon.com/vpc/pricing and /privatelink/pricing.
"""

from __future__ import annotations

from decimal import Decimal

from outlay.iac.rules.spec import (
    HOURS,
    Component,
    Free,
    ResourceRule,
    Scope,
    UsageKey,
    is_one_of,
    unit_price,
    usage,
)
from outlay.iac.rules.tiers import tier_list, tiered
from outlay.pricing.catalogue import HOURS_PER_MONTH

PROCESSED_USAGE = UsageKey("monthly_data_processed_gb", "GB a month the gateway or endpoint processes")
# PrivateLink's data tiers, in GB as AWS bills them (1 PB = 1,000,000 GB on its price list).
ENDPOINT_TIERS = tier_list(("first 1PB", 10**6), ("next 4PB", 4 * 10**6), ("over 5PB", None))
ENDPOINT_TIER_PRICES = ("interface_gb", "interface_gb_next_4pb", "interface_gb_over_5pb")
DEFAULT_ENDPOINT_TYPE = "Gateway"  # what AWS creates when vpc_endpoint_type is not set


def endpoint_type(scope: Scope) -> str:
    return str(scope.attr("vpc_endpoint_type", DEFAULT_ENDPOINT_TYPE))


def endpoint_label(scope: Scope) -> str:
    return f"Endpoint ({endpoint_type(scope)})"


def endpoint_hours(scope: Scope) -> Decimal:
    """An hour for each subnet (one per Availability Zone) the endpoint is in; one when none is listed."""
    subnets = scope.attr("subnet_ids") or []
    return HOURS_PER_MONTH * max(len(subnets), 1)


def endpoint_hour_price(scope: Scope) -> Decimal:
    component = "interface_hour" if endpoint_type(scope) == "Interface" else "gateway_load_balancer_hour"
    return unit_price("vpc_endpoint", component)(scope)


def interface_tier_price(scope: Scope, index: int) -> Decimal:
    return unit_price("vpc_endpoint", ENDPOINT_TIER_PRICES[index])(scope)


PRICED_ENDPOINTS = ("Interface", "GatewayLoadBalancer")

RULES: list[ResourceRule | Free] = [
    ResourceRule(
        "aws_nat_gateway",
        [
            Component("NAT gateway", "hours", HOURS, unit_price("nat_gateway", "hour")),
            Component(
                "Data processed",
                "GB",
                usage("monthly_data_processed_gb"),
                unit_price("nat_gateway", "gb_processed"),
                usage_based=True,
            ),
        ],
        usage=[PROCESSED_USAGE],
    ),  # fmt: skip
    ResourceRule(
        "aws_vpc_endpoint",
        [
            Component(
                endpoint_label,
                "hours",
                endpoint_hours,
                endpoint_hour_price,
                when=is_one_of("vpc_endpoint_type", PRICED_ENDPOINTS, DEFAULT_ENDPOINT_TYPE),
            ),
            *tiered(
                "Data processed",
                "GB",
                usage("monthly_data_processed_gb"),
                ENDPOINT_TIERS,
                interface_tier_price,
                when=is_one_of("vpc_endpoint_type", ["Interface"]),
            ),
            Component(
                "Data processed",
                "GB",
                usage("monthly_data_processed_gb"),
                unit_price("vpc_endpoint", "gateway_load_balancer_gb"),
                when=is_one_of("vpc_endpoint_type", ["GatewayLoadBalancer"]),
                usage_based=True,
            ),
        ],
        usage=[PROCESSED_USAGE],
    ),  # fmt: skip
    Free("aws_route_table"),
    Free("aws_route"),
    Free("aws_route_table_association"),
    Free("aws_internet_gateway"),
    Free("aws_egress_only_internet_gateway"),
    Free("aws_network_acl"),
    Free("aws_network_acl_rule"),
    Free("aws_vpc_endpoint_route_table_association"),
]
