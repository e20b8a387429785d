"""Live metering against the moto server: real boto3 calls, real records out."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from outlay.aws.inventory import AwsInventory
from outlay.events import CostKind, UsageRecord, UtilizationSample
from outlay.events.topics import USAGE, UTILIZATION
from outlay.kafka.producer import EventProducer
from outlay.pricing import PriceCatalogue
from services.ingest.live.metering import meter_pass, minutes_in_month
from services.ingest.live.runner import LiveStats, run_live

REGION = "us-east-1"


def _client(service: str, url: str) -> Any:
    # Any: boto3-stubs types `client` per literal service name; these tests pass a variable.
    return boto3.client(service, region_name=REGION, endpoint_url=url)  # type: ignore[call-overload]


@pytest.fixture
def fleet(aws_env: str) -> Iterator[dict[str, str]]:
    """One tagged m5.large, one tagged 100 GB gp3 volume, one PostgreSQL database, and a CPU datapoint."""
    run = uuid.uuid4().hex[:8]
    ec2 = _client("ec2", aws_env)
    # A Linux AMI: moto's default images include Windows ones, which the catalogue cannot price.
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    image = next(i["ImageId"] for i in images if "Platform" not in i)
    tags = [
        {"Key": "team", "Value": "checkout"},
        {"Key": "env", "Value": "prod"},
        {"Key": "run", "Value": run},
    ]
    inst = ec2.run_instances(
        ImageId=image,
        InstanceType="m5.large",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
    )["Instances"][0]["InstanceId"]
    vol = ec2.create_volume(
        AvailabilityZone=f"{REGION}a",
        Size=100,
        VolumeType="gp3",
        TagSpecifications=[{"ResourceType": "volume", "Tags": tags}],
    )["VolumeId"]
    rds = _client("rds", aws_env)
    db = rds.create_db_instance(
        DBInstanceIdentifier=f"orders-{run}",
        DBInstanceClass="db.r5.large",
        Engine="postgres",
        MasterUsername="admin",
        MasterUserPassword="not-a-secret-1",
        AllocatedStorage=20,
        Tags=tags,
    )["DBInstance"]["DBInstanceArn"]
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    _client("cloudwatch", aws_env).put_metric_data(
        Namespace="AWS/EC2",
        MetricData=[
            {
                "MetricName": "CPUUtilization",
                "Dimensions": [{"Name": "InstanceId", "Value": inst}],
                "Timestamp": minute + timedelta(seconds=15),
                "Value": 37.5,
                "Unit": "Percent",
            }
        ],
    )
    yield {"instance": inst, "volume": vol, "db": db, "minute": minute.isoformat()}
    ec2.terminate_instances(InstanceIds=[inst])
    ec2.delete_volume(VolumeId=vol)
    rds.delete_db_instance(DBInstanceIdentifier=f"orders-{run}", SkipFinalSnapshot=True)


def test_one_metering_pass_prices_and_samples_what_runs(aws_env: str, fleet: dict[str, str]) -> None:
    minute = datetime.fromisoformat(fleet["minute"])
    inventory = AwsInventory([REGION], endpoint_url=aws_env)
    cat = PriceCatalogue.load()
    result = meter_pass(inventory, cat, minute)

    by_id = {r.resource_id: r for r in result.records}
    ec2 = by_id[fleet["instance"]]
    assert ec2.billed_cost == cat.ec2_hourly("m5.large") / 60 == Decimal("0.0016")
    assert (ec2.cost_kind, ec2.source, ec2.region) == (CostKind.ESTIMATED, "metering", REGION)
    assert ec2.tags["team"] == "checkout" and ec2.tags["env"] == "prod"
    assert ec2.charge_period_start == minute and ec2.minutes == 1
    assert ec2.sub_account_id == inventory.account_id

    vol = by_id[fleet["volume"]]
    assert vol.billed_cost == (Decimal("0.08") * 100 / minutes_in_month(minute)).quantize(Decimal("1e-9"))
    assert vol.tags["team"] == "checkout"

    db = by_id[fleet["db"]]
    assert db.billed_cost == (cat.rds_hourly("db.r5.large", "postgres", REGION) / 60).quantize(Decimal("1e-9"))
    assert db.tags["team"] == "checkout"

    cpu = [s for s in result.samples if s.resource_id == fleet["instance"] and s.metric == "CPUUtilization"]
    assert [(s.value, s.timestamp) for s in cpu] == [(37.5, minute)]
    assert all(d.source == "metering" and d.reason for d in result.dead_letters)


async def test_metering_runner_publishes_records_and_samples(aws_env: str, fleet: dict[str, str], broker: str) -> None:
    minute = datetime.fromisoformat(fleet["minute"])
    stop = asyncio.Event()
    stats = LiveStats()
    inventory = AwsInventory([REGION], endpoint_url=aws_env)
    async with EventProducer(broker) as producer:
        task = asyncio.create_task(
            run_live(
                producer, "metering", stop, clock=lambda: minute + timedelta(seconds=59.9),
                inventory=inventory, metrics_lag_minutes=0, stats=stats,
            )
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while stats.minutes < 1:
            assert time.monotonic() < deadline and not task.done(), "no metering pass"
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    seen: dict[str, list[str]] = {USAGE.name: [], UTILIZATION.name: []}
    consumer = AIOKafkaConsumer(bootstrap_servers=broker, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # fetches metadata, so partitions_for_topic knows the topics
        parts = [TopicPartition(t, p) for t in seen for p in consumer.partitions_for_topic(t) or []]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        deadline = time.monotonic() + 20
        while len(seen[USAGE.name]) < stats.records or len(seen[UTILIZATION.name]) < stats.samples:
            assert time.monotonic() < deadline, f"only {seen} of {stats}"
            for tp, messages in (await consumer.getmany(timeout_ms=200)).items():
                seen[tp.topic].extend(m.value.decode() for m in messages if m.value)
    finally:
        await consumer.stop()
    usage = [UsageRecord.model_validate_json(v) for v in seen[USAGE.name]]
    samples = [UtilizationSample.model_validate_json(v) for v in seen[UTILIZATION.name]]
    mine = next(r for r in usage if r.resource_id == fleet["instance"])
    assert (mine.billed_cost, mine.charge_period_start) == (Decimal("0.0016"), minute)
    assert any(s.resource_id == fleet["instance"] and s.value == 37.5 for s in samples)
