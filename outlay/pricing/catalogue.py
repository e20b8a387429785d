"""The bundled, offline AWS price catalogue: in-memory lookups over the CSVs next to this file.

The CSVs are built by `scripts/build_price_catalogue.py` (sources and licenses in README.md here).
Lookups are exact `Decimal`s; a price the catalogue does not have raises `UnknownPrice` naming what was
asked, so callers can dead-letter the resource instead of inventing a number.

EC2 outside us-east-1: GovCloud prices are published in the bundle; any other region listed in
`ec2_region_factors.csv` is ESTIMATED as today's us-east-1 price x that region's median price ratio
(measured on 2017 prices); other regions are unknown. EBS uses the same regional factor.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from outlay.pricing.price_list import EC2, RDS, SyncedPrice

HERE = Path(__file__).resolve().parent
US_EAST_1 = "us-east-1"
HOURS_PER_MONTH = Decimal(730)  # AWS's convention for monthly <-> hourly prices (8,760 / 12)
# Regional estimates carry the precision of a published price (AWS lists hourly prices to 6-8 places).
_PRICE_QUANTUM = Decimal("1e-8")

# RDS `Engine` values from the API (describe_db_instances) -> the catalogue's engine names.
_RDS_ENGINES: dict[str, str] = {
    "mysql": "MySQL",
    "postgres": "PostgreSQL",
    "postgresql": "PostgreSQL",
    "mariadb": "MariaDB",
    "oracle": "Oracle",
    "sqlserver": "SQL Server",
    "sql server": "SQL Server",
}

PriceBasis = Literal["list", "region-factor"]

# Hand-curated on-demand node prices (each CSV's `# Source:` line names its AWS pricing page): table -> (file, the
# columns that make its item key, joined by "|"); every file also has `region` and `usd_hr`.
HOURLY_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "rds": ("rds_extra.csv", ("instance_class", "engine", "license_model")),  # Aurora, editions, newer classes
    "elasticache": ("elasticache_nodes.csv", ("node_type",)),
    "redshift": ("redshift_nodes.csv", ("node_type",)),
}


class UnknownPrice(LookupError):
    """The catalogue has no price for this resource; the message names the type and region."""


@dataclass(frozen=True)
class Ec2InstanceType:
    instance_type: str
    family: str
    vcpu: int | None  # None: the source does not list the shape of this (older) type
    memory_gib: Decimal | None
    arch: str | None
    gpu_count: int
    usd_hr_us_east_1: Decimal | None


@dataclass(frozen=True)
class UnitPrice:
    amount: Decimal
    unit: str  # what one quantity is: "hour", "GB", "GB-month", "1M requests", ...
    basis: PriceBasis
    source: str


@dataclass(frozen=True)
class Price:
    amount: Decimal
    unit: str  # "USD/hr" | "USD/GB-month"
    basis: PriceBasis  # "list": a published price; "region-factor": estimated from us-east-1


def normalise_rds_engine(engine: str) -> str:
    """Map an API engine name ("postgres", "oracle-se2", "sqlserver-ex") to the catalogue's ("PostgreSQL")."""
    key = engine.strip().lower()
    if key in _RDS_ENGINES:
        return _RDS_ENGINES[key]
    # Editions ("oracle-ee", "sqlserver-se", ...) share their engine's row; Aurora is priced differently.
    head = key.split("-", 1)[0]
    if head in ("oracle", "sqlserver"):
        return _RDS_ENGINES[head]
    for name in _RDS_ENGINES.values():
        if key == name.lower():
            return name
    return engine


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="") as fh:
        yield from csv.DictReader(line for line in fh if not line.startswith("#"))


class PriceCatalogue:
    """Read-only price tables; build once with `PriceCatalogue.load()` (cached per folder)."""

    def __init__(
        self,
        ec2_types: dict[str, Ec2InstanceType],
        ec2_regional: dict[tuple[str, str], Decimal],
        region_factors: dict[str, Decimal],
        rds: dict[tuple[str, str, str], Decimal],
        ebs: dict[tuple[str, str], Decimal],
        units: dict[tuple[str, str, str], UnitPrice] | None = None,
        hourly: dict[tuple[str, str, str], Decimal] | None = None,
    ) -> None:
        self._ec2_types = MappingProxyType(ec2_types)
        self._ec2_regional = MappingProxyType(ec2_regional)
        self._factors = MappingProxyType(region_factors)
        self._rds = MappingProxyType(rds)
        self._ebs = MappingProxyType(ebs)
        self._units = MappingProxyType(units or {})
        self._hourly = MappingProxyType(hourly or {})

    @classmethod
    def load(cls, folder: Path | None = None) -> PriceCatalogue:
        return _load(folder or HERE)

    def with_synced(self, prices: Iterable[SyncedPrice]) -> PriceCatalogue:
        """This catalogue with prices from the Price List API (`outlay pricing sync`) laid over it: a synced price
        replaces the bundled one, and a type the bundle lacks is added with the shape the API gave."""
        types, regional, rds = dict(self._ec2_types), dict(self._ec2_regional), dict(self._rds)
        for price in prices:
            if price.service == EC2:
                regional[(price.item, price.region)] = price.usd
                types[price.item] = _synced_type(types.get(price.item), price)
            elif price.service == RDS:
                instance_class, _, engine = price.item.partition("|")
                rds[(instance_class, normalise_rds_engine(engine), price.region)] = price.usd
        return PriceCatalogue(types, regional, dict(self._factors), rds, dict(self._ebs), dict(self._units),
                              dict(self._hourly))  # fmt: skip

    # --- EC2 -------------------------------------------------------------------------------------

    def ec2_instance(self, instance_type: str) -> Ec2InstanceType:
        try:
            return self._ec2_types[instance_type]
        except KeyError:
            raise UnknownPrice(f"unknown EC2 instance type {instance_type!r}") from None

    def ec2_instance_types(self) -> list[Ec2InstanceType]:
        return list(self._ec2_types.values())

    def ec2_price(self, instance_type: str, region: str = US_EAST_1) -> Price:
        spec = self.ec2_instance(instance_type)
        published = self._ec2_regional.get((instance_type, region))
        if published is not None:
            return Price(published, "USD/hr", "list")
        if spec.usd_hr_us_east_1 is None:
            raise UnknownPrice(f"no EC2 on-demand price for {instance_type!r} in {region} (not sold in us-east-1)")
        if region == US_EAST_1:
            return Price(spec.usd_hr_us_east_1, "USD/hr", "list")
        factor = self._factors.get(region)
        if factor is None:
            raise UnknownPrice(f"no EC2 on-demand price for {instance_type!r} in region {region!r}")
        return Price((spec.usd_hr_us_east_1 * factor).quantize(_PRICE_QUANTUM), "USD/hr", "region-factor")

    def ec2_hourly(self, instance_type: str, region: str = US_EAST_1) -> Decimal:
        """Linux on-demand USD per hour."""
        return self.ec2_price(instance_type, region).amount

    # --- RDS -------------------------------------------------------------------------------------

    def rds_hourly(self, instance_class: str, engine: str, region: str = US_EAST_1) -> Decimal:
        """On-demand USD per instance-hour, Single-AZ. `engine` may be the API name ("postgres")."""
        name = normalise_rds_engine(engine)
        price = self._rds.get((instance_class, name, region))
        if price is None:
            raise UnknownPrice(f"no RDS price for {instance_class!r} engine {engine!r} in region {region!r}")
        return price

    def rds_classes(self, engine: str, region: str = US_EAST_1) -> list[str]:
        """Every instance class with an on-demand price for this engine in this region."""
        name = normalise_rds_engine(engine)
        return sorted(c for (c, e, r) in self._rds if e == name and r == region)

    def rds_instance(self, instance_class: str) -> Ec2InstanceType:
        """The shape of an RDS class: that of the EC2 type it runs on (db.m5.large is an m5.large), so vCPUs,
        memory and architecture come from the EC2 table; its price does not (see `rds_hourly`)."""
        spec = self._ec2_types.get(instance_class.removeprefix("db."))
        if not instance_class.startswith("db.") or spec is None:
            raise UnknownPrice(f"the shape of RDS class {instance_class!r} is not known")
        return replace(spec, instance_type=instance_class, usd_hr_us_east_1=None)

    # --- EBS -------------------------------------------------------------------------------------

    def ebs_price(self, volume_type: str, region: str = US_EAST_1) -> Price:
        published = self._ebs.get((volume_type, region))
        if published is not None:
            return Price(published, "USD/GB-month", "list")
        base = self._ebs.get((volume_type, US_EAST_1))
        factor = self._factors.get(region)
        if base is None or factor is None:
            raise UnknownPrice(f"no EBS price for volume type {volume_type!r} in region {region!r}")
        return Price((base * factor).quantize(_PRICE_QUANTUM), "USD/GB-month", "region-factor")

    def ebs_gb_month(self, volume_type: str, region: str = US_EAST_1) -> Decimal:
        """USD per GB-month of provisioned storage."""
        return self.ebs_price(volume_type, region).amount

    # --- usage-priced components (unit_prices.csv) -------------------------------------------------

    def unit_price(self, service: str, component: str, region: str = US_EAST_1) -> UnitPrice:
        """USD per `unit` of one component ("nat_gateway", "gb_processed"); outside us-east-1 estimated with the
        region's EC2 price factor (`basis = "region-factor"`)."""
        published = self._units.get((service, component, region))
        if published is not None:
            return published
        base = self._units.get((service, component, US_EAST_1))
        if base is None:
            raise UnknownPrice(f"no price for {service} {component!r}")
        factor = self._factors.get(region)
        if factor is None:
            raise UnknownPrice(f"no price for {service} {component!r} in region {region!r}")
        return UnitPrice((base.amount * factor).quantize(_PRICE_QUANTUM), base.unit, "region-factor", base.source)

    # --- hand-curated node prices (HOURLY_TABLES) --------------------------------------------------

    def node_hourly(self, table: str, item: str, region: str = US_EAST_1) -> Decimal:
        """On-demand USD per node-hour from one of `HOURLY_TABLES` ("redshift", "dc2.large"); outside the regions
        listed, estimated with the region's EC2 price factor, as `unit_price` is."""
        published = self._hourly.get((table, item, region))
        if published is not None:
            return published
        base = self._hourly.get((table, item, US_EAST_1))
        factor = self._factors.get(region)
        if base is None or factor is None:
            raise UnknownPrice(f"no {table} price for {item!r} in region {region!r}")
        return (base * factor).quantize(_PRICE_QUANTUM)

    def unit_prices(self) -> list[tuple[str, str, str, UnitPrice]]:
        return [(service, component, region, price) for (service, component, region), price in self._units.items()]

    # --- prices by region or edge location (wide tables, one row per place) -------------------------------

    def data_transfer_gb(self, region: str, column: str) -> Decimal:
        """USD per GB of data transfer out of `region` (`data_transfer_regions.csv`): column `internet_first_10tb`,
        `other_regions`, `us_east`, `intra_region`, ..."""
        return _wide_price("data_transfer_regions.csv", region, column, "data transfer out of region")

    def cloudfront_price(self, edge: str, column: str) -> Decimal:
        """CloudFront USD per GB or per 10k requests at an edge-location group (`cloudfront_edges.csv`): `edge`
        is `us`, `europe`, `japan`, ...; column `internet_first_10tb`, `origin`, `http_10k`, ..."""
        return _wide_price("cloudfront_edges.csv", edge, column, "CloudFront edge location")


def _synced_type(known: Ec2InstanceType | None, price: SyncedPrice) -> Ec2InstanceType:
    shape = price.attributes
    us_east_1 = price.usd if price.region == US_EAST_1 else None
    if known is not None:
        return replace(known, usd_hr_us_east_1=us_east_1 or known.usd_hr_us_east_1)
    return Ec2InstanceType(
        instance_type=price.item,
        family=price.item.split(".", 1)[0],
        vcpu=int(shape["vcpu"]) if shape.get("vcpu", "").isdigit() else None,
        memory_gib=Decimal(shape["memory_gib"]) if shape.get("memory_gib") else None,
        arch=shape.get("arch") or None,
        gpu_count=int(shape.get("gpu_count") or 0),
        usd_hr_us_east_1=us_east_1,
    )


@lru_cache(maxsize=8)
def _wide_table(name: str) -> dict[str, dict[str, str]]:
    """A bundled table with one row per place, keyed by its first column (read once, on first use)."""
    rows = list(_rows(HERE / name))
    return {next(iter(row.values())): row for row in rows}


def _wide_price(name: str, key: str, column: str, what: str) -> Decimal:
    value = _wide_table(name).get(key, {}).get(column)
    if not value:  # a blank cell: that place has no such price (only us-east-1/2 have a "US East" rate)
        raise UnknownPrice(f"no {column} price for {what} {key!r}")
    return Decimal(value)


@lru_cache(maxsize=4)
def _load(folder: Path) -> PriceCatalogue:
    ec2_types = {
        r["instance_type"]: Ec2InstanceType(
            instance_type=r["instance_type"],
            family=r["family"],
            vcpu=int(r["vcpu"]) if r["vcpu"] else None,
            memory_gib=Decimal(r["memory_gib"]) if r["memory_gib"] else None,
            arch=r["arch"] or None,
            gpu_count=int(r["gpu_count"] or 0),
            usd_hr_us_east_1=Decimal(r["usd_hr_us_east_1"]) if r["usd_hr_us_east_1"] else None,
        )
        for r in _rows(folder / "ec2_instances.csv")
    }
    regional = {(r["instance_type"], r["region"]): Decimal(r["usd_hr"]) for r in _rows(folder / "ec2_regional.csv")}
    factors = {r["region"]: Decimal(r["factor"]) for r in _rows(folder / "ec2_region_factors.csv")}
    rds = {
        (r["instance_class"], r["engine"], r["region"]): Decimal(r["usd_hr"])
        for r in _rows(folder / "rds_ondemand.csv")
    }
    ebs = {(r["volume_type"], r["region"]): Decimal(r["usd_gb_month"]) for r in _rows(folder / "ebs_volumes.csv")}
    units = {
        (r["service"], r["component"], r["region"]): UnitPrice(Decimal(r["usd"]), r["unit"], "list", r["source"])
        for r in _rows(folder / "unit_prices.csv")
    }
    hourly = {
        (table, "|".join(r[c] for c in columns), r["region"]): Decimal(r["usd_hr"])
        for table, (filename, columns) in HOURLY_TABLES.items()
        for r in _rows(folder / filename)
    }
    return PriceCatalogue(ec2_types, regional, factors, rds, ebs, units, hourly)
