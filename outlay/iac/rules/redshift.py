"""Redshift provisioned clusters: node-hours, RA3 managed storage, concurrency scaling, Spectrum and backup storage.

Prices: node hours from `redshift_nodes.csv`; the rest from `unit_prices.csv`. Concurrency scaling is billed per
second at the cluster's on-demand node rate (the pricing page's own rule), so it is derived from the node price.
"""

from __future__ import annotations

from decimal import Decimal

from outlay.iac.rules.spec import (
    Component,
    Condition,
    Free,
    Label,
    Quantity,
    ResourceRule,
    Scope,
    UsageKey,
    unit_price,
    usage,
)
from outlay.pricing.catalogue import HOURS_PER_MONTH

TB = Decimal(1024)  # GB in a TB, as AWS counts the backup tiers
# Backup storage tiers: (label, first GB, last GB or None, unit_prices.csv component).
BACKUP_TIERS = (
    ("Backup storage (first 50 TB)", Decimal(0), 50 * TB, "backup_storage_first_50tb"),
    ("Backup storage (next 450 TB)", 50 * TB, 500 * TB, "backup_storage_next_450tb"),
    ("Backup storage (over 500 TB)", 500 * TB, None, "backup_storage_over_500tb"),
)


def node_type(scope: Scope) -> str:
    return str(scope.attr("node_type"))


def nodes(scope: Scope) -> Decimal:
    return scope.number("number_of_nodes", 1) or Decimal(1)


def node_hour(scope: Scope) -> Decimal:
    return scope.catalogue.node_hourly("redshift", node_type(scope), scope.region)


def node_second(scope: Scope) -> Decimal:
    return node_hour(scope) / 3600


def cluster_hours(scope: Scope) -> Decimal | None:
    return nodes(scope) * HOURS_PER_MONTH


def scaling_node_seconds(scope: Scope) -> Decimal | None:
    """Concurrency-scaling clusters are the main cluster's size: seconds beyond the free credits x its nodes."""
    seconds = scope.used("excess_concurrency_scaling_secs")
    return None if seconds is None else seconds * nodes(scope)


def backup_tier(first: Decimal, last: Decimal | None) -> Quantity:
    def quantity(scope: Scope) -> Decimal | None:
        stored = scope.used("backup_storage_gb")
        if stored is None:
            return None
        top = stored if last is None else min(stored, last)
        return max(top - first, Decimal(0))

    return quantity


def reaches(first: Decimal) -> Condition:
    """The first tier is always listed (its cost depends on usage); the others once the backups reach them."""
    return lambda scope: first == 0 or (scope.used("backup_storage_gb") or 0) > first


def per_node_type(text: str) -> Label:
    return lambda scope: f"{text} ({node_type(scope)})"


def is_ra3(scope: Scope) -> bool:
    return node_type(scope).startswith("ra3.")


BACKUP_COMPONENTS = [
    Component(label, "GB", backup_tier(first, last), unit_price("redshift", price), when=reaches(first),
              usage_based=True)
    for label, first, last, price in BACKUP_TIERS
]  # fmt: skip

RULES: list[ResourceRule | Free] = [
    ResourceRule(
        "aws_redshift_cluster",
        [
            Component(lambda s: f"Cluster usage (on-demand, {node_type(s)})", "hours", cluster_hours, node_hour),
            Component(
                per_node_type("Managed storage"),
                "GB",
                usage("managed_storage_gb"),
                unit_price("redshift", "managed_storage"),
                when=is_ra3,
                usage_based=True,
            ),
            Component(
                per_node_type("Concurrency scaling"),
                "node-seconds",
                scaling_node_seconds,
                node_second,
                usage_based=True,
            ),
            Component(
                "Spectrum",
                "TB",
                usage("spectrum_data_scanned_tb"),
                unit_price("redshift", "spectrum_tb"),
                usage_based=True,
            ),
            *BACKUP_COMPONENTS,
        ],
        usage=[
            UsageKey("managed_storage_gb", "GB in RA3 managed storage"),
            UsageKey("excess_concurrency_scaling_secs", "concurrency-scaling seconds a month beyond the free credits"),
            UsageKey("spectrum_data_scanned_tb", "TB Spectrum queries scan a month"),
            UsageKey("backup_storage_gb", "GB of backups beyond the free 100% of the cluster's storage"),
        ],
    ),  # fmt: skip
    Free("aws_redshift_subnet_group"),
    Free("aws_redshift_parameter_group"),
]
