"""ElastiCache: clusters (Memcached, or a single Redis node group) and Redis replication groups, by node-hours, with
their snapshot storage.

Prices: node hours from `elasticache_nodes.csv`, backup storage from `unit_prices.csv`.
"""

from __future__ import annotations

from decimal import Decimal

from outlay.iac.rules.scaling import scaled_capacity
from outlay.iac.rules.spec import (
    Component,
    Condition,
    Free,
    Quantity,
    ResourceRule,
    Scope,
    UsageKey,
    as_number,
    unit_price,
    usage,
)
from outlay.pricing.catalogue import HOURS_PER_MONTH


def node_label(scope: Scope) -> str:
    scaled = scaled_capacity(scope, SHARDS) is not None or scaled_capacity(scope, REPLICAS) is not None
    return f"ElastiCache (on-demand, {scope.attr('node_type')}{', autoscaling' if scaled else ''})"


def node_hour(scope: Scope) -> Decimal:
    return scope.catalogue.node_hourly("elasticache", str(scope.attr("node_type")), scope.region)


# Shards and replicas an autoscaling target may keep instead of the group's own numbers (`scaling.py`).
SHARDS, REPLICAS = "elasticache:replication-group:NodeGroups", "elasticache:replication-group:Replicas"


def cluster_nodes(scope: Scope) -> Decimal | None:
    return scope.number("num_cache_nodes", 1)


def group_nodes(scope: Scope) -> Decimal | None:
    """Cluster mode: shards x (primary + replicas); otherwise the number of cache clusters (nodes)."""
    legacy = scope.block("cluster_mode")  # provider v3's block for the same two numbers
    shards = (
        scaled_capacity(scope, SHARDS)
        or scope.number("num_node_groups")
        or as_number(legacy.get("num_node_groups"), "cluster_mode.num_node_groups")
    )
    if shards is not None:
        replicas = (scaled_capacity(scope, REPLICAS) or scope.number("replicas_per_node_group")
                    or as_number(legacy.get("replicas_per_node_group"), "cluster_mode.replicas_per_node_group"))  # fmt: skip
        return shards * (1 + (replicas or 0))
    return scope.number("num_cache_clusters") or scope.number("number_cache_clusters", 1)


def node_hours(nodes: Quantity) -> Quantity:
    def quantity(scope: Scope) -> Decimal | None:
        count = nodes(scope)
        return None if count is None else count * HOURS_PER_MONTH

    return quantity


def own_nodes(scope: Scope) -> bool:
    """A cluster that joins a replication group has no nodes of its own to price: the group prices them."""
    return not scope.attr("replication_group_id")


def keeps_snapshots(scope: Scope) -> bool:
    return bool(scope.number("snapshot_retention_limit", 0)) or scope.used("snapshot_storage_size_gb") is not None


def backup_component(when: Condition) -> Component:
    return Component("Backup storage", "GB", usage("snapshot_storage_size_gb"),
                     unit_price("elasticache", "backup_storage"), when=when, usage_based=True)  # fmt: skip


SNAPSHOT_USAGE = UsageKey("snapshot_storage_size_gb", "GB of snapshots kept beyond the free one")

RULES: list[ResourceRule | Free] = [
    ResourceRule(
        "aws_elasticache_cluster",
        [
            Component(node_label, "hours", node_hours(cluster_nodes), node_hour, when=own_nodes),
            backup_component(lambda s: own_nodes(s) and keeps_snapshots(s)),
        ],
        usage=[SNAPSHOT_USAGE],
    ),
    ResourceRule(
        "aws_elasticache_replication_group",
        [Component(node_label, "hours", node_hours(group_nodes), node_hour), backup_component(keeps_snapshots)],
        usage=[SNAPSHOT_USAGE],
    ),
    Free("aws_elasticache_subnet_group"),
    Free("aws_elasticache_parameter_group"),
]
