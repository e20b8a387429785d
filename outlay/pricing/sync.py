"""`outlay pricing sync`: download current on-demand prices from the AWS Price List Query API (boto3 `pricing`,
`get_products`, paginated) for the services and regions asked, parsed by `price_list`.

The Price List API answers from us-east-1 (also eu-central-1 and ap-south-1) whatever region is priced; throttling
is retried by botocore's standard mode with back-off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from outlay.pricing.price_list import FILTERS, SERVICE_CODES, SyncedPrice, parse_page

PRICING_ENDPOINT_REGION = "us-east-1"
PAGE_SIZE = 100  # the API's maximum


class PricingClient(Protocol):
    def get_paginator(self, operation_name: str) -> Any: ...


@dataclass
class SyncResult:
    prices: list[SyncedPrice] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # why products were not kept -> how many
    products: int = 0


def pricing_client(endpoint_url: str | None = None) -> PricingClient:
    import boto3
    from botocore.config import Config

    client: PricingClient = boto3.client(  # type: ignore[call-overload]
        "pricing",
        region_name=PRICING_ENDPOINT_REGION,
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": 10}),
    )
    return client


def fetch_prices(
    client: PricingClient,
    services: Sequence[str],
    regions: Sequence[str],
    on_page: Callable[[str, str, int], None] = lambda service, region, products: None,
) -> SyncResult:
    """Every product of `services` ("ec2", "rds") in `regions`; `on_page` reports progress per page."""
    unknown = [s for s in services if s not in SERVICE_CODES]
    if unknown:
        raise ValueError(f"service: unknown {', '.join(unknown)} (choose from {', '.join(SERVICE_CODES)})")
    if not regions:
        raise ValueError("region: at least one region to price")
    result = SyncResult()
    paginator = client.get_paginator("get_products")
    for service in services:
        code = SERVICE_CODES[service]
        for region in regions:
            filters = [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in FILTERS[code].items()]
            filters.append({"Type": "TERM_MATCH", "Field": "regionCode", "Value": region})
            pages = paginator.paginate(
                ServiceCode=code,
                Filters=filters,
                FormatVersion="aws_v1",
                PaginationConfig={"PageSize": PAGE_SIZE},
            )
            for page in pages:
                parsed = parse_page(page)
                count = len(page.get("PriceList", []))
                result.products += count
                result.prices.extend(parsed.prices)
                for reason, n in parsed.skipped.items():
                    result.skipped[reason] = result.skipped.get(reason, 0) + n
                on_page(service, region, count)
    return result
