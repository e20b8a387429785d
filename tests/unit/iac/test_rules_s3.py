"""S3 price rules, against the peer's s3_bucket_test golden and by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.unit.iac.support import estimate_of, golden_matches, misses, resource

TESTDATA = "iac_infracost/internal/providers/terraform/aws/testdata/s3_bucket_test"


def test_s3_matches_the_golden(shared_data: Path) -> None:
    found = estimate_of([resource("aws_s3_bucket.bucket1", {"bucket": "bucket1"}),
                         resource("aws_s3_bucket.bucket_withUsage", {"bucket": "bucket_withUsage"})],
                        shared_data / TESTDATA / "s3_bucket_test.usage.yml")  # fmt: skip
    assert not found.problems, found.problems
    matches = golden_matches(shared_data, "s3_bucket_test", found)
    assert len(matches) == 54  # the priced ones: 59 less 5 that depend on usage
    missed = {(m.golden.component, m.golden.monthly_cost) for m in matches if not m.within}
    # Known and right: AWS dropped Intelligent-Tiering's early-delete charge (2021); Glacier Flexible Retrieval's
    # standard retrieval requests are $0.05 per 1,000 on AWS's page, $0.03 in the golden.
    assert missed == {("Early delete (within 30 days)", Decimal("460.00")),
                      ("Retrieval requests (standard)", Decimal("1.50"))}, misses(matches)  # fmt: skip


def test_a_bucket_without_usage_lists_standard_storage_as_depending_on_it() -> None:
    found = estimate_of([resource("aws_s3_bucket.logs", {})])
    [standard] = found.resources[0].subresources
    assert standard.name == "Standard"
    assert [(c.name, c.monthly_quantity) for c in standard.components] == [
        ("Storage", None),
        ("PUT, COPY, POST, LIST requests", None),
        ("GET, SELECT, and all other requests", None),
        ("Select data scanned", None),
        ("Select data returned", None),
    ]


def test_each_class_is_priced_at_its_own_rates() -> None:
    # 1,000 GB of Deep Archive at 0.00099, and 2,000 bulk retrieval requests at 0.025 per 1,000
    usage = {"resource_usage": {"aws_s3_bucket.cold": {"glacier_deep_archive": {
        "storage_gb": 1000, "monthly_bulk_data_retrieval_requests": 2000}}}}  # fmt: skip
    found = estimate_of([resource("aws_s3_bucket.cold", {})], usage)
    subs = {s.name: {c.name: c.monthly_cost for c in s.components} for s in found.resources[0].subresources}
    assert set(subs) == {"Standard", "Glacier deep archive"}
    assert subs["Glacier deep archive"]["Storage"] == Decimal("0.99")
    assert subs["Glacier deep archive"]["Retrieval requests (bulk)"] == Decimal("0.050")
    assert subs["Glacier deep archive"]["Retrievals (bulk)"] is None
