"""The optimizer's scan against the moto server: real boto3 describe calls and CloudWatch reads, real findings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest

from outlay.aws.inventory import AwsInventory
from outlay.pricing import PriceCatalogue
from services.optimizer.recommendations import Kind, Risk, monthly
from services.optimizer.rightsizing.recommend import RightsizingSettings
from services.optimizer.scan import scan_region

REGION = "us-east-1"
DAYS = 14


def _client(service: str, url: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=url)  # type: ignore[call-overload]


def _put_cpu(
    cloudwatch: Any,
    resource_id: str,
    level: float,
    now: datetime,
    namespace: str = "AWS/EC2",
    dimension: str = "InstanceId",
    metric: str = "CPUUtilization",
    unit: str = "Percent",
    days: int = DAYS,
) -> None:
    points = [
        {
            "MetricName": metric,
            "Dimensions": [{"Name": dimension, "Value": resource_id}],
            "Timestamp": now - timedelta(minutes=5 * k + 2),
            "Value": level + (k % 7) * 0.1,
            "Unit": unit,
        }
        for k in range(days * 288 - 10)
    ]
    for i in range(0, len(points), 1000):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=points[i : i + 1000])


# The resource findings need no weekly pattern: a shorter lookback (and a quarter of the samples moto must hold and
# search, its slowest part) checks the same rules.
SHORT_DAYS = 3


def test_scan_finds_idle_oversized_and_unused_resources_through_boto3(aws_env: str) -> None:
    run = uuid.uuid4().hex[:8]
    ec2 = _client("ec2", aws_env)
    image = next(i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"] if "Platform" not in i)

    def launch(instance_type: str, **extra: str) -> str:
        pairs = [{"Key": "run", "Value": run}, *({"Key": k, "Value": v} for k, v in extra.items())]
        tags = [{"ResourceType": "instance", "Tags": pairs}]
        reply = ec2.run_instances(
            ImageId=image, InstanceType=instance_type, MinCount=1, MaxCount=1, TagSpecifications=tags
        )
        return str(reply["Instances"][0]["InstanceId"])

    idle, oversized, busy = launch("m5.2xlarge"), launch("m5.2xlarge"), launch("c5.large")
    runner, stateful = launch("c5.large", role="ci-runner"), launch("c5.large", role="postgres", workload="batch")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    cloudwatch = _client("cloudwatch", aws_env)
    # (moto's get_metric_data slows down with every series it holds: only what rightsizing needs has metrics)
    for instance_id, level in ((idle, 1.0), (oversized, 20.0), (busy, 90.0)):
        _put_cpu(cloudwatch, instance_id, level, now, days=SHORT_DAYS)
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=200, VolumeType="gp2")["VolumeId"]
    address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{k}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for k, zone in enumerate("ab")
    ]
    balancer = _client("elbv2", aws_env).create_load_balancer(Name=f"lb-{run}", Subnets=subnets)["LoadBalancers"][0]

    settings = RightsizingSettings(lookback_days=SHORT_DAYS)
    result = scan_region(AwsInventory([REGION], endpoint_url=aws_env), REGION, PriceCatalogue.load(), now, settings)
    found = {r.resource_id: r for r in result.recommendations}
    skipped = {s.resource_id: s.reason for s in result.skipped}

    assert found[idle].kind is Kind.STOP_INSTANCE
    assert found[oversized].kind is Kind.RIGHTSIZE and found[oversized].proposed is not None
    assert float(found[oversized].evidence["projected_p95_cpu"]) <= 80.0
    spec_before = PriceCatalogue.load().ec2_instance("m5.2xlarge")
    spec_after = PriceCatalogue.load().ec2_instance(found[oversized].proposed)
    assert spec_after.memory_gib is not None and spec_before.memory_gib is not None
    assert spec_after.memory_gib >= spec_before.memory_gib  # memory unmeasured: never shrunk
    assert busy not in found and busy not in skipped
    assert found[volume].kind is Kind.DELETE_VOLUME and found[volume].monthly_saving > 0
    assert found[address].kind is Kind.RELEASE_ADDRESS
    assert "too new to judge" in skipped[balancer["LoadBalancerArn"]]  # created just now: no lookback yet
    # A CI runner goes to Spot at the Spot price EC2 reports (moto's is a token $0.00001); a database never does.
    spot = found[runner]
    assert spot.kind is Kind.USE_SPOT and spot.evidence["spot_usd_hr"] == "0.00001"
    assert spot.monthly_saving > 0 and spot.evidence["why"] == "role=ci-runner: a ci workload"
    assert stateful not in found  # (skipped only for rightsizing: it has no CPU metrics here)


def test_scan_rightsizes_an_rds_database_and_schedules_an_office_hours_dev_instance(aws_env: str) -> None:
    region = "eu-central-1"  # its own region: moto's CloudWatch slows down with every series a region holds
    run = uuid.uuid4().hex[:8]
    database = f"orders-{run}"
    rds = boto3.client("rds", region_name=region, endpoint_url=aws_env)
    rds.create_db_instance(
        DBInstanceIdentifier=database, DBInstanceClass="db.m5.4xlarge", Engine="postgres", MasterUsername="admin",
        MasterUserPassword="not-a-secret-1", AllocatedStorage=100,
    )  # fmt: skip
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    cloudwatch = boto3.client("cloudwatch", region_name=region, endpoint_url=aws_env)
    _put_cpu(cloudwatch, database, 8.0, now, namespace="AWS/RDS", dimension="DBInstanceIdentifier")
    free_bytes = 48 * 2**30  # of 64 GiB: a quarter in use
    _put_cpu(cloudwatch, database, free_bytes, now, "AWS/RDS", "DBInstanceIdentifier", "FreeableMemory", "Bytes")

    ec2 = boto3.client("ec2", region_name=region, endpoint_url=aws_env)
    image = next(i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"] if "Platform" not in i)
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "env", "Value": "dev"},
                                                  {"Key": "outlay:timezone", "Value": "Europe/Berlin"}]}]  # fmt: skip
    dev = ec2.run_instances(ImageId=image, InstanceType="m5.xlarge", MinCount=1, MaxCount=1, TagSpecifications=tags)
    dev_id = dev["Instances"][0]["InstanceId"]
    berlin = ZoneInfo("Europe/Berlin")
    points = []
    for k in range(DAYS * 288 - 10):
        at = now - timedelta(minutes=5 * k + 2)
        local = at.astimezone(berlin)
        busy = local.weekday() < 5 and 9 <= local.hour < 18
        points.append({"MetricName": "CPUUtilization", "Dimensions": [{"Name": "InstanceId", "Value": dev_id}],
                       "Timestamp": at, "Value": 60.0 if busy else 2.0, "Unit": "Percent"})  # fmt: skip
    for i in range(0, len(points), 1000):
        cloudwatch.put_metric_data(Namespace="AWS/EC2", MetricData=points[i : i + 1000])

    catalogue = PriceCatalogue.load()
    result = scan_region(AwsInventory([region], endpoint_url=aws_env), region, catalogue, now)
    schedule = next(r for r in result.recommendations if r.resource_id == dev_id and r.kind is Kind.SCHEDULE_INSTANCE)
    assert "mon 08:00-19:00" in schedule.summary and "(Europe/Berlin)" in schedule.summary
    assert schedule.monthly_saving > 0
    orders = next(r for r in result.recommendations if r.resource_id.endswith(f":db:{database}"))
    assert orders.kind is Kind.RIGHTSIZE_DATABASE and orders.current == "db.m5.4xlarge"
    assert orders.proposed is not None and orders.risk is not Risk.LOW  # Single-AZ: the resize restarts it
    shape = catalogue.rds_instance(orders.proposed)
    assert shape.memory_gib is not None and float(shape.memory_gib) >= 64 * 0.25 / 0.8
    assert float(orders.evidence["memory_pct"]) == pytest.approx(25.0, abs=0.5)
    saved = catalogue.rds_hourly("db.m5.4xlarge", "postgres", region) - catalogue.rds_hourly(
        orders.proposed, "postgres", region
    )
    assert orders.monthly_saving == monthly(saved)
