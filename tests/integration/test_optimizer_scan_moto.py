"""The optimizer's scan against the moto server: real boto3 describe calls and CloudWatch reads, real findings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from outlay.aws.inventory import AwsInventory
from outlay.pricing import PriceCatalogue
from services.optimizer.recommendations import Kind
from services.optimizer.scan import scan_region

REGION = "us-east-1"
DAYS = 14


def _client(service: str, url: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=url)  # type: ignore[call-overload]


def _put_cpu(cloudwatch: Any, instance_id: str, level: float, now: datetime) -> None:
    points = [
        {
            "MetricName": "CPUUtilization",
            "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
            "Timestamp": now - timedelta(minutes=5 * k + 2),
            "Value": level + (k % 7) * 0.1,
            "Unit": "Percent",
        }
        for k in range(DAYS * 288 - 10)
    ]
    for i in range(0, len(points), 1000):
        cloudwatch.put_metric_data(Namespace="AWS/EC2", MetricData=points[i : i + 1000])


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
    runner, database = launch("c5.large", role="ci-runner"), launch("c5.large", role="postgres", workload="batch")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    cloudwatch = _client("cloudwatch", aws_env)
    for instance_id, level in ((idle, 1.0), (oversized, 20.0), (busy, 90.0), (runner, 90.0), (database, 90.0)):
        _put_cpu(cloudwatch, instance_id, level, now)
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

    result = scan_region(AwsInventory([REGION], endpoint_url=aws_env), REGION, PriceCatalogue.load(), now)
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
    assert database not in found and database not in skipped
