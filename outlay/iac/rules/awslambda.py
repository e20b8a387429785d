"""Lambda functions: requests, duration (GB-seconds, in volume tiers that differ for x86 and Arm) and ephemeral
storage above the free 512 MB, all from usage (requests a month and their average duration).

Prices: aws.amazon.com/lambda/pricing, in `unit_prices.csv`.
"""

from __future__ import annotations

from decimal import Decimal

from outlay.iac.rules.spec import Component, Free, ResourceRule, Scope, UsageKey, unit_price, usage
from outlay.iac.rules.tiers import tier_list, tiered

DEFAULT_MEMORY_MB = 128  # what Lambda gives a function whose memory_size is not set
FREE_EPHEMERAL_MB = 512  # every function gets 512 MB of /tmp at no charge
MB_PER_GB = 1024
BILLION = 10**9
X86_TIERS = tier_list(("first 6B", 6 * BILLION), ("next 9B", 9 * BILLION), ("over 15B", None))
ARM_TIERS = tier_list(("first 7.5B", 7_500_000_000), ("next 11.25B", 11_250_000_000), ("over 18.75B", None))
X86_PRICES = ("gb_second_x86", "gb_second_x86_next_9b", "gb_second_x86_over_15b")
ARM_PRICES = ("gb_second_arm", "gb_second_arm_next_11_25b", "gb_second_arm_over_18_75b")


def is_arm(scope: Scope) -> bool:
    return "arm64" in (scope.attr("architectures") or [])


def seconds(scope: Scope) -> Decimal | None:
    """Compute-seconds a month: requests times their average duration."""
    requests, duration_ms = scope.used("monthly_requests"), scope.used("request_duration_ms")
    if requests is None or duration_ms is None:
        return None
    return requests * duration_ms / 1000


def gb_seconds(scope: Scope) -> Decimal | None:
    time = seconds(scope)
    memory = scope.number("memory_size", DEFAULT_MEMORY_MB) or Decimal(DEFAULT_MEMORY_MB)
    return None if time is None else time * memory / MB_PER_GB


def ephemeral_gb_seconds(scope: Scope) -> Decimal | None:
    """GB-seconds of ephemeral storage above the free 512 MB."""
    time = seconds(scope)
    size = scope.block("ephemeral_storage").get("size") or FREE_EPHEMERAL_MB
    extra = max(Decimal(0), Decimal(str(size)) - FREE_EPHEMERAL_MB)
    return None if time is None else time * extra / MB_PER_GB


def duration_price(scope: Scope, tier: int) -> Decimal:
    component = (ARM_PRICES if is_arm(scope) else X86_PRICES)[tier]
    return scope.catalogue.unit_price("lambda", component, scope.region).amount


USAGE = [
    UsageKey("monthly_requests", "invocations a month"),
    UsageKey("request_duration_ms", "average duration of an invocation, in milliseconds"),
]

RULES: list[ResourceRule | Free] = [
    ResourceRule(
        "aws_lambda_function",
        [
            Component(
                "Requests",
                "1M requests",
                usage("monthly_requests", Decimal("0.000001")),
                unit_price("lambda", "requests_million"),
                usage_based=True,
            ),
            Component(
                "Ephemeral storage",
                "GB-seconds",
                ephemeral_gb_seconds,
                unit_price("lambda", "ephemeral_gb_second"),
                when=lambda s: ephemeral_gb_seconds(s) != 0,
                usage_based=True,
            ),  # listed while usage is unknown; hidden when all of it is free
            *tiered("Duration", "GB-seconds", gb_seconds, X86_TIERS, duration_price, when=lambda s: not is_arm(s)),
            *tiered("Duration", "GB-seconds", gb_seconds, ARM_TIERS, duration_price, when=is_arm),
        ],  # fmt: skip
        usage=USAGE,
    ),
    Free("aws_lambda_permission"),
    Free("aws_lambda_alias"),
    Free("aws_lambda_layer_version", "layers are stored with the functions that use them"),
]
