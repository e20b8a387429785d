"""Data transfer: a pseudo-resource, `aws_data_transfer.<name>`, that no plan declares and the usage file names,
one per region, for the data a workload moves that no resource of the plan accounts for: within the region,
to other regions (us-east-1 and us-east-2 have a cheaper rate between them) and out to the internet, in tiers.

    resource_usage:
      aws_data_transfer.my_region:
        region: eu-west-1                      # the region the data leaves (default: the provider's)
        monthly_intra_region_gb: 1000
        monthly_outbound_internet_gb: 157000

Prices: aws.amazon.com/ec2/pricing/on-demand ("Data Transfer"), by region in `data_transfer_regions.csv`.
"""

from __future__ import annotations

from decimal import Decimal

from outlay.iac.rules.spec import Component, Free, Price, ResourceRule, Scope, UsageKey, usage
from outlay.iac.rules.tiers import GB_PER_TB, any_used, tier_list, tiered

INTERNET_TIERS = tier_list(
    ("first 10TB", 10 * GB_PER_TB),
    ("next 40TB", 40 * GB_PER_TB),
    ("next 100TB", 100 * GB_PER_TB),
    ("over 150TB", None),
)
INTERNET_COLUMNS = ("internet_first_10tb", "internet_next_40tb", "internet_next_100tb", "internet_over_150tb")
US_EAST = ("us-east-1", "us-east-2")  # transfer between these two is priced at their own, lower rate


def region(scope: Scope) -> str:
    """The region the usage file names, or the resource's (the provider's) region."""
    return str(scope.usage.get("region") or scope.region)


def per_gb(column: str) -> Price:
    return lambda scope: scope.catalogue.data_transfer_gb(region(scope), column)


def internet_price(scope: Scope, tier: int) -> Decimal:
    return scope.catalogue.data_transfer_gb(region(scope), INTERNET_COLUMNS[tier])


def both_ways(scope: Scope) -> Decimal | None:
    """Transfer between Availability Zones is charged as it leaves one zone and again as it enters the other."""
    gb = scope.used("monthly_intra_region_gb")
    return None if gb is None else gb * 2


USAGE = [
    UsageKey("region", "the region the data leaves (default: the provider's region)"),
    UsageKey("monthly_intra_region_gb", "GB a month between Availability Zones of the region"),
    UsageKey("monthly_outbound_us_east_to_us_east_gb", "GB a month between us-east-1 and us-east-2"),
    UsageKey("monthly_outbound_other_regions_gb", "GB a month out to other AWS regions"),
    UsageKey("monthly_outbound_internet_gb", "GB a month out to the internet"),
]

RULES: list[ResourceRule | Free] = [
    ResourceRule(
        "aws_data_transfer",
        [
            Component("Intra-region data transfer", "GB", both_ways, per_gb("intra_region"), usage_based=True),
            *tiered(
                "Outbound data transfer to Internet",
                "GB",
                usage("monthly_outbound_internet_gb"),
                INTERNET_TIERS,
                internet_price,
            ),
            Component(
                "Outbound data transfer to US East regions",
                "GB",
                usage("monthly_outbound_us_east_to_us_east_gb"),
                per_gb("us_east"),
                when=lambda s: region(s) in US_EAST and any_used("monthly_outbound_us_east_to_us_east_gb")(s),
                usage_based=True,
            ),
            Component(
                "Outbound data transfer to other regions",
                "GB",
                usage("monthly_outbound_other_regions_gb"),
                per_gb("other_regions"),
                usage_based=True,
            ),
        ],  # fmt: skip
        usage=USAGE,
        from_usage=True,
    ),
]
