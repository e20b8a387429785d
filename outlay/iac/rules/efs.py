"""EFS file systems: storage by class (Standard or One Zone, and their Infrequent Access tiers), IA data access,
and provisioned throughput above what the stored data earns in bursting mode. Storage is usage: a file system
declares no size.

Prices: `unit_prices.csv` (efs), from aws.amazon.com/efs/pricing.
"""

from __future__ import annotations

from decimal import Decimal

from outlay.iac.rules.spec import (
    Component,
    Free,
    ResourceRule,
    Scope,
    UsageKey,
    is_one_of,
    unit_price,
    usage,
)

# Bursting mode's baseline: 50 KiB/s per GiB of Standard storage, i.e. 1 MiB/s per 20 GiB; provisioned throughput
# is billed only above it.
GB_PER_FREE_MBPS = 20


def one_zone(scope: Scope) -> bool:
    return bool(scope.attr("availability_zone_name"))


def storage_class(scope: Scope) -> str:
    return "one zone" if one_zone(scope) else "standard"


def tiers_to_ia(scope: Scope) -> bool:
    """A lifecycle policy moves files to Infrequent Access after some days."""
    policies = scope.attr("lifecycle_policy") or []
    policies = policies if isinstance(policies, list) else [policies]
    return any(isinstance(p, dict) and p.get("transition_to_ia") for p in policies)


def storage_price(scope: Scope) -> Decimal:
    return unit_price("efs", "one_zone_gb" if one_zone(scope) else "standard_gb")(scope)


def ia_storage_price(scope: Scope) -> Decimal:
    return unit_price("efs", "one_zone_ia_gb" if one_zone(scope) else "standard_ia_gb")(scope)


def throughput_above_baseline(scope: Scope) -> Decimal | None:
    """MB/s provisioned beyond the stored data's bursting baseline (all of it while the storage is unknown)."""
    provisioned = scope.number("provisioned_throughput_in_mibps")
    if provisioned is None:
        return None
    stored = scope.used("storage_gb") or Decimal(0)
    return max(Decimal(0), provisioned - stored / GB_PER_FREE_MBPS)


RULES: list[ResourceRule | Free] = [
    ResourceRule(
        "aws_efs_file_system",
        [
            Component(
                lambda s: f"Storage ({storage_class(s)})", "GB", usage("storage_gb"), storage_price, usage_based=True
            ),
            Component(
                lambda s: f"Storage ({storage_class(s)}, infrequent access)",
                "GB",
                usage("infrequent_access_storage_gb"),
                ia_storage_price,
                when=tiers_to_ia,
                usage_based=True,
            ),
            Component(
                "Read requests (infrequent access)",
                "GB",
                usage("monthly_infrequent_access_read_gb"),
                unit_price("efs", "ia_read_gb"),
                when=tiers_to_ia,
                usage_based=True,
            ),
            Component(
                "Write requests (infrequent access)",
                "GB",
                usage("monthly_infrequent_access_write_gb"),
                unit_price("efs", "ia_write_gb"),
                when=tiers_to_ia,
                usage_based=True,
            ),
            Component(
                "Provisioned throughput",
                "MBps",
                throughput_above_baseline,
                unit_price("efs", "provisioned_mibps_month"),
                when=is_one_of("throughput_mode", ["provisioned"]),
                usage_based=True,
            ),
        ],
        usage=[
            UsageKey("storage_gb", "GB stored in the Standard (or One Zone) class, on average"),
            UsageKey("infrequent_access_storage_gb", "GB stored in the Infrequent Access class, on average"),
            UsageKey("monthly_infrequent_access_read_gb", "GB read a month from Infrequent Access"),
            UsageKey("monthly_infrequent_access_write_gb", "GB written (tiered) a month to Infrequent Access"),
        ],
    ),  # fmt: skip
    Free("aws_efs_mount_target"),
    Free("aws_efs_access_point"),
    Free("aws_efs_file_system_policy"),
    Free("aws_efs_backup_policy"),
]
