"""Route 53: hosted zones by the month; records by the queries they answer (usage), standard, latency-based or
geo, each in two volume tiers. Alias records pointing at AWS resources are answered free.

Prices: aws.amazon.com/route53/pricing, in `unit_prices.csv`.
"""

from __future__ import annotations

from decimal import Decimal

from outlay.iac.rules.spec import (
    Component,
    Condition,
    Free,
    ResourceRule,
    Scope,
    UsageKey,
    per_month,
    unit_price,
    usage,
)
from outlay.iac.rules.tiers import TierPrice, tier_list, tiered

QUERY_TIERS = tier_list(("first 1B", 1000), ("over 1B", None))  # in millions of queries
MILLION = Decimal("0.000001")


def routed_by(policy: str) -> Condition:
    """The record answers with this routing policy (`latency_routing_policy`, ...) and is not an alias."""
    return lambda scope: not scope.attr("alias") and bool(scope.attr(policy))


def standard(scope: Scope) -> bool:
    return not scope.attr("alias") and not any(
        scope.attr(p) for p in ("latency_routing_policy", "geolocation_routing_policy")
    )


def query_price(first: str, over: str) -> TierPrice:
    return lambda scope, tier: scope.catalogue.unit_price("route53", (first, over)[tier], scope.region).amount


def queries(name: str, key: str, first: str, over: str, when: Condition) -> list[Component]:
    return tiered(name, "1M queries", usage(key, MILLION), QUERY_TIERS, query_price(first, over), when=when)


RULES: list[ResourceRule | Free] = [
    ResourceRule(
        "aws_route53_zone",
        [Component("Hosted zone", "months", per_month(1), unit_price("route53", "hosted_zone_month"))],
    ),  # fmt: skip
    ResourceRule(
        "aws_route53_record",
        [
            *queries(
                "Standard queries",
                "monthly_standard_queries",
                "queries_million",
                "queries_over_billion_million",
                standard,
            ),
            *queries(
                "Latency based routing queries",
                "monthly_latency_based_queries",
                "latency_queries_million",
                "latency_queries_over_billion_million",
                routed_by("latency_routing_policy"),
            ),
            *queries(
                "Geo DNS queries",
                "monthly_geo_queries",
                "geo_queries_million",
                "geo_queries_over_billion_million",
                routed_by("geolocation_routing_policy"),
            ),
        ],  # fmt: skip
        usage=[
            UsageKey("monthly_standard_queries", "DNS queries a month answered by a simple record"),
            UsageKey("monthly_latency_based_queries", "DNS queries a month answered by latency-based routing"),
            UsageKey("monthly_geo_queries", "DNS queries a month answered by geolocation routing"),
        ],
    ),
]
