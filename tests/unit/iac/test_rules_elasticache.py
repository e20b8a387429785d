"""ElastiCache rules, against hand-computed prices and the peer's goldens (resources written from the .tf files)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.unit.iac.support import estimate_of, golden_matches, misses, resource

TESTDATA = "iac_infracost/internal/providers/terraform/aws/testdata"
REDIS = {"engine": "redis", "node_type": "cache.m6g.12xlarge", "num_cache_nodes": 1}
GROUP = {"engine": "redis", "node_type": "cache.m4.large", "num_node_groups": 4, "replicas_per_node_group": 3}


def costs(address: str, attributes: dict[str, object], usage: dict[str, object] | None = None) -> dict[str, object]:
    found = estimate_of([resource(address, attributes)], {"resource_usage": {address: usage}} if usage else None)
    return {c.name: c.monthly_cost for c in found.resources[0].all_components()}


def test_elasticache_by_hand() -> None:
    # 2 nodes x 730 h x $0.156
    assert costs("aws_elasticache_cluster.m", {"engine": "memcached", "node_type": "cache.m4.large",
                                               "num_cache_nodes": 2}) == {
        "ElastiCache (on-demand, cache.m4.large)": Decimal("227.76")}  # fmt: skip
    # 4 shards x (1 primary + 3 replicas) x 730 h x $0.156; 100 GB of snapshots x $0.085
    assert costs("aws_elasticache_replication_group.g", {**GROUP, "snapshot_retention_limit": 2},
                 {"snapshot_storage_size_gb": 100}) == {
        "ElastiCache (on-demand, cache.m4.large)": Decimal("1822.08"), "Backup storage": Decimal("8.5")}  # fmt: skip
    # a cluster in a replication group: its nodes are the group's
    assert costs("aws_elasticache_cluster.member", {"replication_group_id": "g"}) == {}


def test_elasticache_goldens(shared_data: Path) -> None:
    clusters = [
        resource("aws_elasticache_cluster.memcached",
                 {"engine": "memcached", "node_type": "cache.m4.large", "num_cache_nodes": 2}),
        resource("aws_elasticache_cluster.redis", REDIS),
        resource("aws_elasticache_cluster.redis_snapshot", {**REDIS, "snapshot_retention_limit": 2}),
        resource("aws_elasticache_cluster.redis_snapshot_usage", {**REDIS, "snapshot_retention_limit": 2}),
        resource("aws_elasticache_replication_group.replication_group", GROUP),
        resource("aws_elasticache_cluster.replication_group", {"replication_group_id": "tf-rep-group-1"}),
    ]  # fmt: skip
    groups = [
        resource("aws_elasticache_replication_group.cluster", GROUP),
        resource("aws_elasticache_replication_group.non-cluster",
                 {"engine": "redis", "node_type": "cache.r5.4xlarge", "num_cache_clusters": 3}),
        resource("aws_elasticache_replication_group.non-cluster-snapshot",
                 {"engine": "redis", "node_type": "cache.m6g.12xlarge", "num_cache_clusters": 3,
                  "snapshot_retention_limit": 2}),
    ]  # fmt: skip
    matched = []
    for test, found in (("elasticache_cluster_test", clusters), ("elasticache_replication_group_test", groups)):
        usage = {
            "resource_usage": {"aws_elasticache_cluster.redis_snapshot_usage": {"snapshot_storage_size_gb": 10000}}
        }
        matched += golden_matches(
            shared_data, test, estimate_of(found, usage if test.endswith("cluster_test") else None)
        )
    assert len(matched) == 9
    assert all(m.within for m in matched), "\n".join(misses(matched))


def test_a_legacy_cluster_mode_count_that_is_not_a_number_is_a_problem_naming_it() -> None:
    legacy = {"engine": "redis", "node_type": "cache.m4.large", "cluster_mode": [{"num_node_groups": "four"}]}
    found = estimate_of([resource("aws_elasticache_replication_group.g", legacy)])
    assert [p.message for p in found.problems] == ["cluster_mode.num_node_groups: expected a number, got 'four'"]
