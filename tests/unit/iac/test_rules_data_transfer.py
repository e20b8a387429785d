"""The data-transfer pseudo-resource, against the peer's data_transfer_test golden and by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from outlay.iac.usage import load_usage
from tests.unit.iac.support import estimate_of, golden_matches, misses, resource

TESTDATA = "iac_infracost/internal/providers/terraform/aws/testdata/data_transfer_test"


def test_data_transfer_matches_the_golden(shared_data: Path) -> None:
    usage_path = shared_data / TESTDATA / "data_transfer_test.usage.yml"
    # The pseudo-resources are the usage file's: each priced in the region it names.
    named = load_usage(usage_path).by_address
    found = estimate_of([resource(address, {}, str(values["region"])) for address, values in named.items()],
                        usage_path)  # fmt: skip
    assert not found.problems, found.problems
    matches = golden_matches(shared_data, "data_transfer_test", found)
    assert len(matches) == 169  # 28 regions x 6, +2 "US East" (us-east-1, us-east-2), -1 tier us-east-1 never reaches
    assert sum(m.within for m in matches) == len(matches), misses(matches)


def test_internet_transfer_is_priced_tier_by_tier_in_the_region_named() -> None:
    # 60,000 GB out of sa-east-1: 10,240 at 0.15, 40,960 at 0.138, 8,800 at 0.126; 100 GB between AZs, both ways
    usage = {"resource_usage": {"aws_data_transfer.sp": {"region": "sa-east-1", "monthly_outbound_internet_gb": 60000,
                                                         "monthly_intra_region_gb": 100}}}  # fmt: skip
    found = estimate_of([resource("aws_data_transfer.sp", {}, "us-east-1")], usage)
    costs = {c.name: c.monthly_cost for c in found.resources[0].components}
    assert costs == {
        "Intra-region data transfer": Decimal("2.00"),
        "Outbound data transfer to Internet (first 10TB)": Decimal("1536.00"),
        "Outbound data transfer to Internet (next 40TB)": Decimal("5652.480"),
        "Outbound data transfer to Internet (next 100TB)": Decimal("1108.800"),
        "Outbound data transfer to other regions": None,  # not given: depends on usage
    }
