"""The Price List API parser on pages written from AWS's documented GetProducts format, paginated through a stand-in
client (moto has no Price List API), and the catalogue with synced prices laid over the bundled ones."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from outlay.pricing import PriceCatalogue, UnknownPrice
from outlay.pricing.price_list import NotPriced, SyncedPrice, parse_product
from outlay.pricing.sync import fetch_prices

PAGES: dict[str, list[dict[str, Any]]] = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "pricing" / "get_products_pages.json").read_text()
)["pages"]


class StandInPricing:
    """Answers `get_products` pages by (ServiceCode, regionCode) the way botocore's paginator yields them."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def get_paginator(self, operation_name: str) -> Any:
        assert operation_name == "get_products"
        client = self

        class Paginator:
            def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
                client.calls.append(kwargs)
                region = next(f["Value"] for f in kwargs["Filters"] if f["Field"] == "regionCode")
                return PAGES[f"{kwargs['ServiceCode']}|{region}"]

        return Paginator()


def test_every_product_is_kept_with_its_price_or_skipped_with_the_reason() -> None:
    client = StandInPricing()
    pages: list[tuple[str, str, int]] = []
    result = fetch_prices(client, ["ec2", "rds"], ["us-east-1", "eu-west-1"], lambda *page: pages.append(page))
    kept = {(p.service, p.item, p.region): p for p in result.prices}
    assert set(kept) == {
        ("AmazonEC2", "m5.large", "us-east-1"),
        ("AmazonEC2", "x9z.large", "us-east-1"),
        ("AmazonEC2", "m7g.large", "eu-west-1"),
        ("AmazonEC2", "m5.large", "eu-west-1"),
        ("AmazonRDS", "db.m5.large|PostgreSQL", "us-east-1"),
        ("AmazonRDS", "db.m5.large|MySQL", "us-east-1"),
    }
    assert kept[("AmazonEC2", "m5.large", "us-east-1")].usd == Decimal("0.0960000000")
    assert kept[("AmazonEC2", "m7g.large", "eu-west-1")].attributes["arch"] == "arm64"
    assert kept[("AmazonEC2", "x9z.large", "us-east-1")].attributes == {
        "vcpu": "2", "memory_gib": "1024", "gpu_count": "1", "arch": "x86_64"
    }  # fmt: skip
    assert result.skipped == {
        "operatingSystem is 'Windows', not 'Linux'": 1,
        "no on-demand USD price": 1,
        "2 on-demand price dimensions (tiered), not one hourly rate": 1,
        "AmazonEC2 'Storage' products are not in the catalogue": 1,
        "not a Price List product (product.attributes or serviceCode missing)": 1,
        "capacitystatus is 'UnusedCapacityReservation', not 'Used'": 1,
        "databaseEngine 'Aurora PostgreSQL' is not priced per instance here": 1,
        "Oracle prices depend on the edition, which the catalogue does not model yet": 1,
    }
    assert result.products == len(result.prices) + sum(result.skipped.values())
    # The filters narrow the download server-side; both pages of EC2 us-east-1 were read.
    first = client.calls[0]
    assert first["ServiceCode"] == "AmazonEC2" and first["FormatVersion"] == "aws_v1"
    assert {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"} in first["Filters"]
    assert [p for p in pages if p[:2] == ("ec2", "us-east-1")] == [("ec2", "us-east-1", 3), ("ec2", "us-east-1", 4)]


@pytest.mark.parametrize(
    ("services", "regions", "field"), [(["ec2", "s3"], ["us-east-1"], "service"), (["ec2"], [], "region")]
)
def test_bad_requests_name_the_option(services: list[str], regions: list[str], field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}: "):
        fetch_prices(StandInPricing(), services, regions)


def test_a_price_that_is_not_a_number_is_not_kept() -> None:
    text = PAGES["AmazonEC2|us-east-1"][0]["PriceList"][0].replace('"0.0960000000"', '"NaN"')
    with pytest.raises(NotPriced, match="not a price"):
        parse_product(text)


def test_synced_prices_replace_and_extend_the_bundled_catalogue() -> None:
    bundled = PriceCatalogue.load()
    assert bundled.ec2_price("m5.large", "eu-west-1").basis == "region-factor"
    with pytest.raises(UnknownPrice):
        bundled.ec2_instance("x9z.large")
    synced = bundled.with_synced(
        [
            SyncedPrice("AmazonEC2", "m5.large", "us-east-1", Decimal("0.0999"), "Hrs", {"vcpu": "2"}),
            SyncedPrice("AmazonEC2", "m5.large", "eu-west-1", Decimal("0.107"), "Hrs", {}),
            SyncedPrice(
                "AmazonEC2",
                "x9z.large",
                "us-east-1",
                Decimal("1.234"),
                "Hrs",
                {"vcpu": "2", "memory_gib": "1024", "gpu_count": "1", "arch": "x86_64"},
            ),  # fmt: skip
            SyncedPrice("AmazonRDS", "db.m5.large|PostgreSQL", "us-east-1", Decimal("0.2"), "Hrs", {}),
        ]
    )
    assert synced.ec2_hourly("m5.large") == Decimal("0.0999")
    assert synced.ec2_instance("m5.large").memory_gib == bundled.ec2_instance("m5.large").memory_gib  # shape kept
    assert synced.ec2_price("m5.large", "eu-west-1").amount == Decimal("0.107")
    assert synced.ec2_price("m5.large", "eu-west-1").basis == "list"
    added = synced.ec2_instance("x9z.large")
    assert (added.vcpu, added.memory_gib, added.gpu_count, added.usd_hr_us_east_1) == (2, 1024, 1, Decimal("1.234"))
    assert synced.rds_hourly("db.m5.large", "postgres") == Decimal("0.2")
    assert bundled.ec2_hourly("m5.large") != Decimal("0.0999")  # the bundled catalogue itself is untouched
