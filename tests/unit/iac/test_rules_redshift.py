"""Redshift rules, against hand-computed prices and the peer's goldens (resources written from the .tf file)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.unit.iac.support import estimate_of, golden_matches, misses, resource

TESTDATA = "iac_infracost/internal/providers/terraform/aws/testdata"


def test_redshift_by_hand() -> None:
    found = estimate_of(
        [resource("aws_redshift_cluster.c", {"node_type": "ds2.8xlarge", "cluster_type": "single-node"})],
        {"resource_usage": {"aws_redshift_cluster.c": {"backup_storage_gb": 612000, "spectrum_data_scanned_tb": 0.5,
                                                       "excess_concurrency_scaling_secs": 3600}}},
    )  # fmt: skip
    costs = {c.name: c.monthly_cost for c in found.resources[0].all_components()}
    assert costs["Cluster usage (on-demand, ds2.8xlarge)"] == Decimal("4964")  # 730 h x $6.80
    assert costs["Concurrency scaling (ds2.8xlarge)"] == Decimal("6.8")  # an hour at the node's on-demand rate
    assert costs["Spectrum"] == Decimal("2.5")  # 0.5 TB x $5
    # 612,000 GB: 51,200 GB x $0.023, 460,800 GB x $0.022, 100,000 GB x $0.021
    assert costs["Backup storage (first 50 TB)"] == Decimal("1177.6")
    assert costs["Backup storage (next 450 TB)"] == Decimal("10137.6")
    assert costs["Backup storage (over 500 TB)"] == Decimal("2100")


def test_redshift_goldens(shared_data: Path) -> None:
    found = [
        resource("aws_redshift_cluster.ca", {"node_type": "dc2.large", "cluster_type": "multi-node",
                                             "number_of_nodes": "4"}),
        resource("aws_redshift_cluster.ca_withUsage", {"node_type": "ds2.8xlarge", "cluster_type": "single-node"}),
        resource("aws_redshift_cluster.manageda", {"node_type": "ra3.4xlarge", "cluster_type": "multi-node",
                                                   "number_of_nodes": "6"}),
        resource("aws_redshift_cluster.manageda_withUsage", {"node_type": "ra3.16xlarge",
                                                             "cluster_type": "single-node"}),
    ]  # fmt: skip
    usage = shared_data / TESTDATA / "redshift_cluster_test/redshift_cluster_test.usage.yml"
    matches = golden_matches(shared_data, "redshift_cluster_test", estimate_of(found, usage))
    assert len(matches) == 10
    # The two misses are the golden's backup tiers: it counts 512,000 GB (500 TB) in "next 450 TB"; AWS's tiers
    # hold 460,800 GB there and put the rest over 500 TB.
    assert sum(m.within for m in matches) >= 8, "\n".join(misses(matches))
