"""CloudFront distributions: data out to the internet (in seven volume tiers) and to the origin, and HTTP and
HTTPS requests, each by edge-location group; Origin Shield requests by the shield's region; invalidations,
field-level encryption, real-time logs and dedicated-IP certificates. All from usage, by edge group:

    aws_cloudfront_distribution.site:
      monthly_data_transfer_to_internet_gb: {us: 1000, europe: 500}
      monthly_https_requests: {us: 2000000}

Without usage for any group the distribution is shown as serving the US, Mexico and Canada group.

Prices: aws.amazon.com/cloudfront/pricing; by edge group in `cloudfront_edges.csv`, the rest in `unit_prices.csv`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from outlay.iac.rules.spec import (
    Block,
    Component,
    Free,
    Price,
    Quantity,
    ResourceRule,
    Scope,
    UsageKey,
    unit_price,
    usage,
)
from outlay.iac.rules.tiers import GB_PER_PB, GB_PER_TB, any_used, tier_list, tiered, usage_block

# Edge-location groups as the usage file keys them, and as AWS's pricing page names them.
EDGES = {
    "us": "US, Mexico, Canada",
    "europe": "Europe, Israel",
    "south_africa": "South Africa, Kenya, Middle East",
    "south_america": "South America",
    "japan": "Japan",
    "australia": "Australia, New Zealand",
    "asia_pacific": "Hong Kong, Philippines, Asia Pacific",
    "india": "India",
}
DEFAULT_EDGE = "us"
EDGE_USAGE = ("monthly_data_transfer_to_internet_gb", "monthly_data_transfer_to_origin_gb", "monthly_http_requests",
              "monthly_https_requests")  # fmt: skip
INTERNET_TIERS = tier_list(
    ("first 10TB", 10 * GB_PER_TB),
    ("next 40TB", 40 * GB_PER_TB),
    ("next 100TB", 100 * GB_PER_TB),
    ("next 350TB", 350 * GB_PER_TB),
    ("next 524TB", 524 * GB_PER_TB),
    ("next 4PB", 4 * GB_PER_PB),
    ("over 5PB", None),
)
INTERNET_COLUMNS = ("internet_first_10tb", "internet_next_40tb", "internet_next_100tb", "internet_next_350tb",
                    "internet_next_524tb", "internet_next_4pb", "internet_over_5pb")  # fmt: skip
# Origin Shield regions: the usage key of their requests and the name the estimate gives them.
SHIELDS = {
    "us-east-1": ("us", "US"),
    "us-east-2": ("us", "US"),
    "us-west-2": ("us", "US"),
    "eu-central-1": ("europe", "Europe"),
    "eu-west-1": ("europe", "Europe"),
    "eu-west-2": ("europe", "Europe"),
    "sa-east-1": ("south_america", "South America"),
    "ap-northeast-1": ("japan", "Japan"),
    "ap-southeast-2": ("australia", "Australia"),
    "ap-southeast-1": ("singapore", "Singapore"),
    "ap-northeast-2": ("south_korea", "South Korea"),
    "ap-south-1": ("india", "India"),
}
FREE_INVALIDATIONS = 1000  # paths a month at no charge
TEN_THOUSAND = Decimal("0.0001")
MILLION = Decimal("0.000001")


# --- edge-location groups ------------------------------------------------------------------------------------


def edge(scope: Scope) -> str:
    return str(scope.attr("edge"))


def at_edge(key: str, scale: Decimal | int = 1) -> Quantity:
    """The usage value of this edge group (`monthly_http_requests.europe`)."""
    return lambda scope: usage(f"{key}.{edge(scope)}", scale)(scope)


def edge_price(column: str) -> Price:
    return lambda scope: scope.catalogue.cloudfront_price(edge(scope), column)


def internet_price(scope: Scope, tier: int) -> Decimal:
    return scope.catalogue.cloudfront_price(edge(scope), INTERNET_COLUMNS[tier])


def serves(scope: Scope) -> bool:
    """The group has usage; without usage for any group, the default group stands for the distribution."""
    if any_used(*(f"{key}.{edge(scope)}" for key in EDGE_USAGE))(scope):
        return True
    unused = not any_used(*(f"{key}.{name}" for key in EDGE_USAGE for name in EDGES))(scope)
    return unused and edge(scope) == DEFAULT_EDGE


EDGE_COMPONENTS = [
    *tiered("Data transfer out to internet", "GB", at_edge("monthly_data_transfer_to_internet_gb"), INTERNET_TIERS,
            internet_price, when=serves),
    Component("Data transfer out to origin", "GB", at_edge("monthly_data_transfer_to_origin_gb"),
              edge_price("origin"), when=serves, usage_based=True),
    Component("HTTP requests", "10k requests", at_edge("monthly_http_requests", TEN_THOUSAND),
              edge_price("http_10k"), when=serves, usage_based=True),
    Component("HTTPS requests", "10k requests", at_edge("monthly_https_requests", TEN_THOUSAND),
              edge_price("https_10k"), when=serves, usage_based=True),
]  # fmt: skip


# --- origins with Origin Shield -------------------------------------------------------------------------------


def shield_region(scope: Scope) -> str:
    return str(scope.block("origin_shield").get("origin_shield_region") or "")


def shielded(scope: Scope) -> bool:
    return bool(scope.block("origin_shield").get("enabled")) and shield_region(scope) in SHIELDS


def shield_label(scope: Scope) -> str:
    return f"Origin shield HTTP requests ({SHIELDS[shield_region(scope)][1]} {shield_region(scope)})"


def shield_requests(scope: Scope) -> Decimal | None:
    return usage(f"monthly_shield_requests.{SHIELDS[shield_region(scope)][0]}", TEN_THOUSAND)(scope)


def shield_price(scope: Scope) -> Decimal:
    return scope.catalogue.unit_price("cloudfront", "origin_shield_10k", shield_region(scope)).amount


# --- the distribution's own --------------------------------------------------------------------------------


def behaviours(scope: Scope) -> list[Mapping[str, Any]]:
    ordered = scope.attr("ordered_cache_behavior") or []
    return [scope.block("default_cache_behavior"), *(b for b in ordered if isinstance(b, Mapping))]


def encrypts(scope: Scope) -> bool:
    return any(b.get("field_level_encryption_id") for b in behaviours(scope))


def dedicated_ip(scope: Scope) -> bool:
    return scope.block("viewer_certificate").get("ssl_support_method") == "vip"


def certificates(scope: Scope) -> Decimal | None:
    """Dedicated-IP certificates: the usage file's count, else the one the distribution declares."""
    count = scope.used("custom_ssl_certificates")
    return Decimal(1) if count is None else count


def invalidation_price(scope: Scope, tier: int) -> Decimal:
    return Decimal(0) if tier == 0 else scope.catalogue.unit_price("cloudfront", "invalidation_path").amount


USAGE = [
    *(UsageKey(f"{key}.{name}", f"{key.replace('_', ' ')} at {label} edge locations")
      for key in EDGE_USAGE for name, label in EDGES.items()),
    *(UsageKey(f"monthly_shield_requests.{key}", f"requests a month through Origin Shield in {label}")
      for key, label in sorted(set(SHIELDS.values()))),
    UsageKey("monthly_invalidation_requests", "paths invalidated a month (the first 1,000 are free)"),
    UsageKey("monthly_encryption_requests", "requests a month with field-level encryption"),
    UsageKey("monthly_log_lines", "real-time log lines a month"),
    UsageKey("custom_ssl_certificates", "dedicated-IP custom SSL certificates (default 1 when the distribution uses one)"),
]  # fmt: skip

RULES: list[ResourceRule | Free] = [
    ResourceRule(
        "aws_cloudfront_distribution",
        [
            Component(
                "Field level encryption requests",
                "10k requests",
                usage("monthly_encryption_requests", TEN_THOUSAND),
                unit_price("cloudfront", "field_level_encryption_10k"),
                when=encrypts,
                usage_based=True,
            ),
            Component(
                "Real-time log requests",
                "1M lines",
                usage("monthly_log_lines", MILLION),
                unit_price("cloudfront", "realtime_log_lines_million"),
                when=lambda s: bool(s.attr("logging_config")),
                usage_based=True,
            ),
            Component(
                "Dedicated IP custom SSLs",
                "certificates",
                certificates,
                unit_price("cloudfront", "dedicated_ip_ssl_month"),
                when=dedicated_ip,
                usage_based=True,
            ),
            *tiered(
                "Invalidation requests",
                "paths",
                usage("monthly_invalidation_requests"),
                tier_list(("first 1k", FREE_INVALIDATIONS), ("over 1k", None)),
                invalidation_price,
            ),
        ],
        blocks=[
            Block(
                "origin[{i}]",
                "origin",
                [
                    Component(
                        shield_label, "10k requests", shield_requests, shield_price, when=shielded, usage_based=True
                    )
                ],
            ),
            *(usage_block(label, EDGE_COMPONENTS, {"edge": name}) for name, label in EDGES.items()),
        ],
        usage=USAGE,
    ),  # fmt: skip
    Free("aws_cloudfront_origin_access_identity"),
    Free("aws_cloudfront_origin_access_control"),
    Free("aws_cloudfront_cache_policy"),
    Free("aws_cloudfront_origin_request_policy"),
    Free("aws_cloudfront_response_headers_policy"),
]
