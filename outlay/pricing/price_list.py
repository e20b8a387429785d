"""Parsing the AWS Price List Query API (`pricing:GetProducts`) into catalogue prices. Pure: no I/O.

`GetProducts` answers pages of `{"FormatVersion": "aws_v1", "PriceList": [<JSON string>, ...], "NextToken": ...}`;
each string is one product (SKU) with its attributes and its terms:

    {"product": {"productFamily": "Compute Instance", "sku": "...", "attributes": {"instanceType": "m5.large",
     "regionCode": "us-east-1", "vcpu": "2", "memory": "8 GiB", "operatingSystem": "Linux", "tenancy": "Shared",
     "preInstalledSw": "NA", "capacitystatus": "Used", "physicalProcessor": "Intel Xeon Platinum 8175", ...}},
     "serviceCode": "AmazonEC2",
     "terms": {"OnDemand": {"<sku>.<offerTermCode>": {"priceDimensions": {"<sku>.<offerTermCode>.<rateCode>":
       {"unit": "Hrs", "pricePerUnit": {"USD": "0.0960000000"}, ...}}, ...}}, "Reserved": {...}}}

(AWS Price List Query API reference, GetProducts; "Price List file format" in the AWS Billing user guide.)
Only the products the catalogue prices are kept: EC2 Linux, shared tenancy, no pre-installed software, capacity
"Used" (not reservations' unused capacity); RDS database instances by engine and Single-AZ deployment (not Oracle or SQL Server, whose editions the catalogue
does not tell apart). Anything
else is skipped with the reason, never guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

EC2 = "AmazonEC2"
RDS = "AmazonRDS"
SERVICE_CODES = {"ec2": EC2, "rds": RDS}
# GetProducts filters (TERM_MATCH) that narrow the download to what the catalogue keeps.
FILTERS: dict[str, dict[str, str]] = {
    EC2: {
        "productFamily": "Compute Instance",
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
    },
    RDS: {"productFamily": "Database Instance", "deploymentOption": "Single-AZ"},
}


@dataclass(frozen=True)
class SyncedPrice:
    """One on-demand hourly price from the Price List API, as the catalogue overlays it."""

    service: str  # "AmazonEC2" | "AmazonRDS"
    item: str  # EC2: the instance type; RDS: "<instance class>|<engine>"
    region: str
    usd: Decimal
    unit: str  # "Hrs"
    attributes: dict[str, str] = field(default_factory=dict)  # the shape: vcpu, memory, gpu, arch (EC2)


class NotPriced(ValueError):
    """A product the catalogue does not keep, or one without a usable on-demand price; says why."""


def _on_demand_usd(product: dict[str, Any]) -> tuple[Decimal, str]:
    terms = product.get("terms", {}).get("OnDemand", {})
    prices = []
    for term in terms.values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if usd is not None:
                prices.append((usd, str(dimension.get("unit", ""))))
    if not prices:
        raise NotPriced("no on-demand USD price")
    if len(prices) > 1:
        raise NotPriced(f"{len(prices)} on-demand price dimensions (tiered), not one hourly rate")
    text, unit = prices[0]
    try:
        usd = Decimal(text)
    except InvalidOperation:
        raise NotPriced(f"pricePerUnit.USD is not a number: {text!r}") from None
    if not usd.is_finite() or usd < 0:
        raise NotPriced(f"pricePerUnit.USD is not a price: {text!r}")
    if unit != "Hrs":
        raise NotPriced(f"priced per {unit!r}, not per hour")
    return usd, unit


def _memory_gib(text: str) -> str:
    """'8 GiB' / '0.5 GiB' / '1,952 GiB' -> '8' / '0.5' / '1952' ('' when the product does not say)."""
    number = text.replace(",", "").split(" ", 1)[0]
    try:
        return format(Decimal(number).normalize(), "f") if number and number != "NA" else ""
    except InvalidOperation:
        return ""


def _ec2(attributes: dict[str, str], usd: Decimal, unit: str) -> SyncedPrice:
    for name, wanted in FILTERS[EC2].items():
        if name != "productFamily" and attributes.get(name) != wanted:
            raise NotPriced(f"{name} is {attributes.get(name)!r}, not {wanted!r}")
    if attributes.get("licenseModel", "No License required") != "No License required":
        raise NotPriced(f"licenseModel is {attributes['licenseModel']!r}")
    processor = attributes.get("physicalProcessor", "")
    shape = {
        "vcpu": attributes.get("vcpu", ""),
        "memory_gib": _memory_gib(attributes.get("memory", "")),
        "gpu_count": attributes.get("gpu", "0") if attributes.get("gpu", "0").isdigit() else "0",
        "arch": "arm64" if "graviton" in processor.lower() else ("x86_64" if processor else ""),
    }
    return SyncedPrice(EC2, attributes["instanceType"], attributes["regionCode"], usd, unit, shape)


def _rds(attributes: dict[str, str], usd: Decimal, unit: str) -> SyncedPrice:
    if attributes.get("deploymentOption") != "Single-AZ":
        raise NotPriced(f"deploymentOption is {attributes.get('deploymentOption')!r}, not 'Single-AZ'")
    engine = attributes.get("databaseEngine", "")
    if not engine or engine.lower().startswith("aurora"):
        raise NotPriced(f"databaseEngine {engine!r} is not priced per instance here")
    if engine in ("Oracle", "SQL Server"):
        # Their editions (Express ... Enterprise, BYOL or licence included) differ several-fold in price and the
        # catalogue keys RDS by class and engine only: the bundled prices stay until editions are modelled.
        raise NotPriced(f"{engine} prices depend on the edition, which the catalogue does not model yet")
    return SyncedPrice(RDS, f"{attributes['instanceType']}|{engine}", attributes["regionCode"], usd, unit, {})


def parse_product(text: str) -> SyncedPrice:
    """One `PriceList` entry -> its price; `NotPriced` says why a product is not kept."""
    try:
        product = json.loads(text)
        details = product["product"]
        attributes = details["attributes"]
        service = product["serviceCode"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise NotPriced("not a Price List product (product.attributes or serviceCode missing)") from None
    family = details.get("productFamily")
    if service not in FILTERS or family != FILTERS[service]["productFamily"]:
        raise NotPriced(f"{service} {family!r} products are not in the catalogue")
    for required in ("instanceType", "regionCode"):
        if not attributes.get(required):
            raise NotPriced(f"attribute {required} missing")
    usd, unit = _on_demand_usd(product)
    return _ec2(attributes, usd, unit) if service == EC2 else _rds(attributes, usd, unit)


@dataclass
class ParsedPage:
    prices: list[SyncedPrice] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> products


def parse_page(page: dict[str, Any]) -> ParsedPage:
    parsed = ParsedPage()
    for text in page.get("PriceList", []):
        try:
            parsed.prices.append(parse_product(text))
        except NotPriced as exc:
            parsed.skipped[str(exc)] = parsed.skipped.get(str(exc), 0) + 1
    return parsed
