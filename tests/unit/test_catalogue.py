"""The bundled price catalogue: lookups equal the shared source data, unknowns say what is unknown."""

from __future__ import annotations

import csv
import importlib.util
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from outlay.pricing import PriceCatalogue, UnknownPrice, normalise_rds_engine

ROOT = Path(__file__).resolve().parents[2]


def _shared_row(path: Path, **match: str) -> dict[str, str]:
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if all(row[k] == v for k, v in match.items()):
                return row
    raise AssertionError(f"no row {match} in {path}")


def _build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_price_catalogue", ROOT / "scripts/build_price_catalogue.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_m5_large_matches_the_shared_csv(shared_data: Path) -> None:
    row = _shared_row(shared_data / "aws_pricing/ec2_instance_types_us-east-1_2026-07.csv", instance_type="m5.large")
    cat = PriceCatalogue.load()
    assert cat.ec2_hourly("m5.large") == Decimal(row["ondemand_linux_usd_hr_us_east_1"])
    spec = cat.ec2_instance("m5.large")
    assert (spec.vcpu, spec.memory_gib, spec.arch) == (2, Decimal("8.0"), "amd64")


def test_rds_matches_the_shared_csv_and_accepts_api_engine_names(shared_data: Path) -> None:
    row = _shared_row(
        shared_data / "aws_pricing/rds_ondemand_by_region_engine_2021-08.csv",
        instance_type="db.r5.large",
        region="eu-west-1",
        engine="PostgreSQL",
    )
    cat = PriceCatalogue.load()
    expected = Decimal(row["ondemand_usd_hr"])
    assert cat.rds_hourly("db.r5.large", "PostgreSQL", "eu-west-1") == expected
    assert cat.rds_hourly("db.r5.large", "postgres", "eu-west-1") == expected


def test_known_values_without_shared_data() -> None:
    cat = PriceCatalogue.load()
    assert cat.ec2_hourly("m5.large") == Decimal("0.096")
    assert cat.ebs_gb_month("gp3") == Decimal("0.08")
    assert cat.ebs_gb_month("gp2", "us-east-1") == Decimal("0.10")
    assert cat.ebs_gb_month("sc1") == Decimal("0.015")


def test_unknown_instance_type_names_the_type() -> None:
    with pytest.raises(UnknownPrice, match=r"'x9\.mega'"):
        PriceCatalogue.load().ec2_hourly("x9.mega")


def test_unknown_region_names_type_and_region() -> None:
    cat = PriceCatalogue.load()
    with pytest.raises(UnknownPrice, match=r"'m5\.large'.*'mars-north-1'"):
        cat.ec2_hourly("m5.large", "mars-north-1")
    with pytest.raises(UnknownPrice, match=r"'db\.r5\.large'.*aurora-postgresql.*us-east-1"):
        cat.rds_hourly("db.r5.large", "aurora-postgresql", "us-east-1")
    with pytest.raises(UnknownPrice, match=r"'gp9'"):
        cat.ebs_gb_month("gp9")


def test_other_regions_are_estimated_with_the_region_factor() -> None:
    cat = PriceCatalogue.load()
    eu = cat.ec2_price("m5.large", "eu-west-1")
    assert eu.basis == "region-factor"
    assert Decimal("0.096") < eu.amount < Decimal("0.096") * Decimal("1.3")
    assert cat.ec2_price("m5.large").basis == "list"
    gov = cat.ec2_price("m5.large", "us-gov-west-1")
    assert (gov.basis, gov.amount) == ("list", Decimal("0.121"))
    assert cat.ebs_price("gp3", "eu-west-1").basis == "region-factor"


def test_rds_engine_editions_map_to_their_engine() -> None:
    assert normalise_rds_engine("oracle-se2") == "Oracle"
    assert normalise_rds_engine("sqlserver-ex") == "SQL Server"
    assert normalise_rds_engine("mariadb") == "MariaDB"
    assert normalise_rds_engine("aurora-mysql") == "aurora-mysql"


def test_load_is_cached_and_read_only() -> None:
    cat = PriceCatalogue.load()
    assert PriceCatalogue.load() is cat
    assert len(cat.ec2_instance_types()) > 1000


def test_committed_catalogue_is_what_the_build_script_makes(shared_data: Path) -> None:
    files = _build_script().build(shared_data / "aws_pricing")
    for name, text in files.items():
        committed = (ROOT / "outlay/pricing" / name).read_text()
        assert committed == text, f"outlay/pricing/{name} is stale: run scripts/build_price_catalogue.py"
