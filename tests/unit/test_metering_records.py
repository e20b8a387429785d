"""Metering's pure part: a minute of inventory x catalogue price -> records, dead letters, samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from outlay.aws.resources import DbInstance, Ec2Instance, Resource, Volume
from outlay.events import CostKind
from outlay.pricing import PriceCatalogue
from services.ingest.live.metering import (
    metric_queries,
    minutes_in_month,
    price_minute,
    samples_from,
)

MINUTE = datetime(2026, 7, 14, 9, 30, tzinfo=UTC)
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def cat() -> PriceCatalogue:
    return PriceCatalogue.load()


def test_running_instance_costs_hourly_price_over_60(cat: PriceCatalogue) -> None:
    inst = Ec2Instance("i-0abc", "m5.large", "us-east-1", ACCOUNT, "running", {"team": "web", "env": "prod"})
    result = price_minute([inst], MINUTE, cat, billing_account_id="999999999999")
    (rec,) = result.records
    assert rec.billed_cost == rec.list_cost == Decimal("0.096") / 60 == Decimal("0.0016")
    assert (rec.charge_period_start, rec.charge_period_end) == (MINUTE, MINUTE + timedelta(minutes=1))
    assert (rec.cost_kind, rec.source, rec.resource_id) == (CostKind.ESTIMATED, "metering", "i-0abc")
    assert (rec.billing_account_id, rec.sub_account_id, rec.region) == ("999999999999", ACCOUNT, "us-east-1")
    assert rec.tags == {"team": "web", "env": "prod"}
    assert rec.usage_type == "BoxUsage:m5.large"
    assert result.dead_letters == []
    again = price_minute([inst], MINUTE, cat, billing_account_id="999999999999").records[0]
    assert again.record_id == rec.record_id  # a replayed minute dedups in the ledger
    later = price_minute([inst], MINUTE + timedelta(minutes=1), cat).records[0]
    assert later.record_id != rec.record_id


def test_stopped_instances_are_not_billed(cat: PriceCatalogue) -> None:
    inst = Ec2Instance("i-0abc", "m5.large", "us-east-1", ACCOUNT, "stopped")
    assert price_minute([inst], MINUTE, cat).records == []


@pytest.mark.parametrize(
    ("inst", "named"),
    [
        (Ec2Instance("i-1", "x9.mega", "us-east-1", ACCOUNT, "running"), "x9.mega"),
        (Ec2Instance("i-2", "m5.large", "us-east-1", ACCOUNT, "running", platform="windows"), "Windows"),
        (Ec2Instance("i-3", "m5.large", "us-east-1", ACCOUNT, "running", lifecycle="spot"), "Spot"),
        (Ec2Instance("i-4", "m5.large", "mars-north-1", ACCOUNT, "running"), "mars-north-1"),
    ],
)
def test_unknown_prices_become_dead_letters(cat: PriceCatalogue, inst: Ec2Instance, named: str) -> None:
    result = price_minute([inst], MINUTE, cat)
    assert result.records == []
    (dead,) = result.dead_letters
    assert dead.source == "metering"
    assert named in dead.reason
    assert dead.field == "InstanceType"
    assert inst.instance_id in dead.file


def test_ebs_costs_gb_month_price_times_size_over_minutes_in_month(cat: PriceCatalogue) -> None:
    vol = Volume("vol-1", "gp3", 100, "us-east-1", ACCOUNT, "available", {"team": "data"})
    (rec,) = price_minute([vol], MINUTE, cat).records
    assert minutes_in_month(MINUTE) == 31 * 1440
    assert rec.billed_cost == (Decimal("0.08") * 100 / (31 * 1440)).quantize(Decimal("1e-9"))
    assert rec.usage_type == "EBS:VolumeUsage.gp3"
    assert rec.consumed_unit == "GB-Mo"
    assert rec.tags == {"team": "data"}
    (dead,) = price_minute([Volume("vol-2", "gp9", 5, "us-east-1", ACCOUNT, "in-use")], MINUTE, cat).dead_letters
    assert "gp9" in dead.reason


def test_rds_multi_az_bills_the_standby(cat: PriceCatalogue) -> None:
    arn = f"arn:aws:rds:us-east-1:{ACCOUNT}:db:orders"
    single = DbInstance(arn, "orders", "db.r5.large", "postgres", "us-east-1", ACCOUNT, "available")
    multi = DbInstance(arn, "orders", "db.r5.large", "postgres", "us-east-1", ACCOUNT, "available", multi_az=True)
    hourly = cat.rds_hourly("db.r5.large", "postgres", "us-east-1")
    assert price_minute([single], MINUTE, cat).records[0].billed_cost == (hourly / 60).quantize(Decimal("1e-9"))
    assert price_minute([multi], MINUTE, cat).records[0].billed_cost == (hourly / 30).quantize(Decimal("1e-9"))
    stopped = DbInstance(arn, "orders", "db.r5.large", "postgres", "us-east-1", ACCOUNT, "stopped")
    assert price_minute([stopped], MINUTE, cat).records == []
    aurora = DbInstance(arn, "orders", "db.r5.large", "aurora-postgresql", "us-east-1", ACCOUNT, "available")
    (dead,) = price_minute([aurora], MINUTE, cat).dead_letters
    assert "aurora-postgresql" in dead.reason and dead.field == "DBInstanceClass"


def test_naive_or_partial_minutes_are_rejected(cat: PriceCatalogue) -> None:
    with pytest.raises(ValueError, match="whole"):
        price_minute([], MINUTE.replace(second=5), cat)
    with pytest.raises(ValueError, match="whole"):
        price_minute([], MINUTE.replace(tzinfo=None), cat)


def test_metric_queries_and_samples() -> None:
    arn = f"arn:aws:rds:us-east-1:{ACCOUNT}:db:orders"
    resources: list[Resource] = [
        Ec2Instance("i-0abc", "m5.large", "us-east-1", ACCOUNT, "running"),
        Ec2Instance("i-0off", "m5.large", "us-east-1", ACCOUNT, "stopped"),
        DbInstance(arn, "orders", "db.r5.large", "postgres", "us-east-1", ACCOUNT, "available"),
        Volume("vol-1", "gp3", 100, "us-east-1", ACCOUNT, "available"),
    ]
    queries = metric_queries(resources)
    assert {(q.resource_id, q.metric) for q in queries} >= {
        ("i-0abc", "CPUUtilization"),
        (arn, "CPUUtilization"),
    }
    assert all(q.resource_id != "i-0off" for q in queries)
    assert len({q.id for q in queries}) == len(queries)
    rds_cpu = next(q for q in queries if q.resource_id == arn and q.metric == "CPUUtilization")
    assert (rds_cpu.namespace, rds_cpu.dimension, rds_cpu.dimension_value) == (
        "AWS/RDS",
        "DBInstanceIdentifier",
        "orders",
    )
    ec2_cpu = next(q for q in queries if q.resource_id == "i-0abc" and q.metric == "CPUUtilization")
    samples = samples_from(queries, {ec2_cpu.id: [(MINUTE + timedelta(seconds=20), 42.5)]})
    (sample,) = samples
    assert (sample.resource_id, sample.metric, sample.value, sample.unit) == (
        "i-0abc",
        "CPUUtilization",
        42.5,
        "Percent",
    )
    assert sample.timestamp == MINUTE
    assert sample.resource_type == "ec2-instance"
