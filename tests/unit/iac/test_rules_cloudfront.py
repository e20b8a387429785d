"""CloudFront price rules, against the peer's cloudfront_distribution_test golden and by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from outlay.iac.resources import Resource
from tests.unit.iac.support import estimate_of, golden_matches, misses, resource

TESTDATA = "iac_infracost/internal/providers/terraform/aws/testdata/cloudfront_distribution_test"


def distribution(name: str, shield: bool = True, logging: bool = True, encryption: bool = True,
                 ssl: bool = True) -> Resource:  # fmt: skip
    """A distribution of cloudfront_distribution_test.tf: each adds shield, logging, encryption and a dedicated-IP
    certificate to the one before."""
    origin: dict[str, Any] = {"domain_name": "mybucket.s3.amazonaws.com", "origin_id": "myS3Origin"}
    if shield:
        origin["origin_shield"] = [{"enabled": True, "origin_shield_region": "sa-east-1"}]
    default_behaviour: dict[str, Any] = {"target_origin_id": "myS3Origin", "viewer_protocol_policy": "allow-all"}
    if encryption:
        default_behaviour["field_level_encryption_id"] = "test encryption"
    attributes: dict[str, Any] = {
        "origin": [origin],
        "enabled": True,
        "default_cache_behavior": [default_behaviour],
        "ordered_cache_behavior": [{"path_pattern": "/content/immutable/*"}, {"path_pattern": "/content/*"}],
        "price_class": "PriceClass_200",
        "viewer_certificate": [{"cloudfront_default_certificate": True, **({"ssl_support_method": "vip"} if ssl else {})}],
    }  # fmt: skip
    if logging:
        attributes["logging_config"] = [{"bucket": "mylogs.s3.amazonaws.com", "prefix": "myprefix"}]
    return resource(f"aws_cloudfront_distribution.{name}", attributes)


def test_cloudfront_matches_the_golden(shared_data: Path) -> None:
    found = estimate_of(
        [
            distribution("s3_distribution", shield=False, logging=False, encryption=False, ssl=False),
            distribution("s3_distribution_0_with_shield", logging=False, encryption=False, ssl=False),
            distribution("s3_distribution_1_with_logging", encryption=False, ssl=False),
            distribution("s3_distribution_2_with_encryption", ssl=False),
            distribution("s3_distribution_3_with_ssl"),
            distribution("s3_distribution_with_usage"),
            distribution("s3_distribution_with_single_non_default_usage"),
            distribution("s3_distribution_with_zero_usage"),
        ],
        shared_data / TESTDATA / "cloudfront_distribution_test.usage.yml",
    )
    assert not found.problems, found.problems
    matches = golden_matches(shared_data, "cloudfront_distribution_test", found)
    assert len(matches) == 102  # the priced ones: 142 less 40 that depend on usage
    assert sum(m.within for m in matches) == len(matches), misses(matches)


def test_each_edge_group_is_priced_in_its_own_tiers() -> None:
    # India, 20,000 GB out: 10,240 at 0.109 + 9,760 at 0.085; 100 GB to the origin at 0.16; 2,000 invalidations
    usage = {"resource_usage": {"aws_cloudfront_distribution.cdn": {
        "monthly_data_transfer_to_internet_gb": {"india": 20000},
        "monthly_data_transfer_to_origin_gb": {"india": 100},
        "monthly_invalidation_requests": 2000,
    }}}  # fmt: skip
    found = estimate_of([resource("aws_cloudfront_distribution.cdn", {})], usage)
    assert not found.problems, found.problems
    top = {c.name: c.monthly_cost for c in found.resources[0].components}
    assert top == {"Invalidation requests (first 1k)": Decimal(0), "Invalidation requests (over 1k)": Decimal("5.000")}
    [india] = found.resources[0].subresources  # only the group with usage: the US group stands in for none
    assert india.name == "India"
    assert {c.name: c.monthly_cost for c in india.components} == {
        "Data transfer out to internet (first 10TB)": Decimal("1116.160"),
        "Data transfer out to internet (next 40TB)": Decimal("829.600"),
        "Data transfer out to origin": Decimal("16.00"),
        "HTTP requests": None,
        "HTTPS requests": None,
    }
