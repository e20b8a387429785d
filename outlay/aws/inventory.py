"""The boto3 adapter metering uses: describe what runs, read CloudWatch. Thin on purpose: no pricing here."""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config

from outlay.aws.resources import DbInstance, Ec2Instance, ElasticAddress, LoadBalancer, MetricQuery, Resource, Volume

_MAX_QUERIES = 500  # get_metric_data's limit per call
# Throttling and transient errors are retried with botocore's standard back-off (exponential, jittered) before a
# call fails; a scan or metering pass that still fails is logged by its caller and tried again next round.
_RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})
_LINUX_SPOT = ("Linux/UNIX", "Linux/UNIX (Amazon VPC)")


_TRANSITION = re.compile(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) GMT\)")


def transition_time(reason: str) -> datetime | None:
    """The time in a StateTransitionReason such as 'User initiated (2026-11-01 12:00:00 GMT)', else None."""
    found = _TRANSITION.search(reason or "")
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC) if found else None


def _tags(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in items or [] if "Key" in t}


class AwsInventory:
    """EC2, RDS, EBS and CloudWatch of one AWS account across `regions`, through boto3."""

    def __init__(
        self, regions: Sequence[str], endpoint_url: str | None = None, session: boto3.Session | None = None
    ) -> None:
        self._regions = tuple(regions)
        self._endpoint = endpoint_url
        # Typed as Any: boto3-stubs overloads `client` per literal service name, and we pass a variable.
        self._session: Any = session or boto3.Session()
        self._clients: dict[tuple[str, str], Any] = {}

    def _client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._session.client(
                service, region_name=region, endpoint_url=self._endpoint, config=_RETRIES
            )
        return self._clients[key]

    @property
    def regions(self) -> tuple[str, ...]:
        return self._regions

    @cached_property
    def account_id(self) -> str:
        return str(self._client("sts", self._regions[0]).get_caller_identity()["Account"])

    def discover(self, region: str) -> list[Resource]:
        return [*self.instances(region), *self.databases(region), *self.volumes(region)]

    def instances(self, region: str) -> list[Ec2Instance]:
        out = []
        pages = self._client("ec2", region).get_paginator("describe_instances").paginate()
        for page in pages:
            for reservation in page.get("Reservations", []):
                owner = reservation.get("OwnerId") or self.account_id
                for inst in reservation.get("Instances", []):
                    out.append(
                        Ec2Instance(
                            instance_id=inst["InstanceId"],
                            instance_type=inst["InstanceType"],
                            region=region,
                            account_id=owner,
                            state=inst.get("State", {}).get("Name", "unknown"),
                            tags=_tags(inst.get("Tags")),
                            platform=inst.get("Platform"),
                            lifecycle=inst.get("InstanceLifecycle"),
                            state_since=transition_time(inst.get("StateTransitionReason", "")),
                        )
                    )
        return out

    def databases(self, region: str) -> list[DbInstance]:
        out = []
        for page in self._client("rds", region).get_paginator("describe_db_instances").paginate():
            for db in page.get("DBInstances", []):
                arn = db.get("DBInstanceArn", "")
                # The ARN carries the owning account: arn:aws:rds:region:ACCOUNT:db:name
                account = arn.split(":")[4] if arn.count(":") >= 5 else self.account_id
                out.append(
                    DbInstance(
                        arn=arn or db["DBInstanceIdentifier"],
                        identifier=db["DBInstanceIdentifier"],
                        instance_class=db["DBInstanceClass"],
                        engine=db.get("Engine", ""),
                        region=region,
                        account_id=account,
                        status=db.get("DBInstanceStatus", "unknown"),
                        multi_az=bool(db.get("MultiAZ", False)),
                        tags=_tags(db.get("TagList")),
                    )
                )
        return out

    def volumes(self, region: str) -> list[Volume]:
        out = []
        for page in self._client("ec2", region).get_paginator("describe_volumes").paginate():
            for vol in page.get("Volumes", []):
                out.append(
                    Volume(
                        volume_id=vol["VolumeId"],
                        volume_type=vol.get("VolumeType", "standard"),
                        size_gib=int(vol["Size"]),
                        region=region,
                        account_id=self.account_id,
                        state=vol.get("State", "unknown"),
                        tags=_tags(vol.get("Tags")),
                        iops=vol.get("Iops"),
                        attached_instance=next(
                            (a.get("InstanceId") for a in vol.get("Attachments", []) if a.get("InstanceId")), None
                        ),
                    )
                )
        return out

    def addresses(self, region: str) -> list[ElasticAddress]:
        response = self._client("ec2", region).describe_addresses()
        return [
            ElasticAddress(
                allocation_id=a.get("AllocationId") or a["PublicIp"],
                public_ip=a["PublicIp"],
                region=region,
                account_id=self.account_id,
                associated=bool(a.get("AssociationId") or a.get("InstanceId") or a.get("NetworkInterfaceId")),
                tags=_tags(a.get("Tags")),
            )
            for a in response.get("Addresses", [])
        ]

    def load_balancers(self, region: str) -> list[LoadBalancer]:
        out = []
        for page in self._client("elbv2", region).get_paginator("describe_load_balancers").paginate():
            for lb in page.get("LoadBalancers", []):
                out.append(
                    LoadBalancer(
                        arn=lb["LoadBalancerArn"],
                        name=lb["LoadBalancerName"],
                        kind=lb.get("Type", "application"),
                        region=region,
                        account_id=self.account_id,
                        created=lb.get("CreatedTime"),
                    )
                )
        for page in self._client("elb", region).get_paginator("describe_load_balancers").paginate():
            for lb in page.get("LoadBalancerDescriptions", []):
                name = lb["LoadBalancerName"]
                out.append(LoadBalancer(name, name, "classic", region, self.account_id, lb.get("CreatedTime")))
        return out

    def spot_prices(self, region: str, instance_types: Sequence[str], now: datetime) -> dict[str, Decimal]:
        """The Linux Spot price of each type in effect at `now`: the latest price per availability zone, and the
        median over the zones (a diversified group runs in several). Types without a Spot price are left out."""
        latest: dict[tuple[str, str], tuple[datetime, Decimal]] = {}
        wanted = sorted(set(instance_types))
        client = self._client("ec2", region)
        for i in range(0, len(wanted), 100):
            pages = client.get_paginator("describe_spot_price_history").paginate(
                InstanceTypes=wanted[i : i + 100], StartTime=now, EndTime=now
            )
            for page in pages:
                for entry in page.get("SpotPriceHistory", []):
                    if entry.get("ProductDescription") not in _LINUX_SPOT:
                        continue
                    key = (entry["InstanceType"], entry.get("AvailabilityZone", ""))
                    at = entry.get("Timestamp") or datetime.min.replace(tzinfo=UTC)
                    at = at if isinstance(at, datetime) else datetime.fromisoformat(str(at).replace("Z", "+00:00"))
                    if key not in latest or at > latest[key][0]:
                        latest[key] = (at, Decimal(str(entry["SpotPrice"])))
        by_type: dict[str, list[Decimal]] = {}
        for (instance_type, _), (_, price) in latest.items():
            by_type.setdefault(instance_type, []).append(price)
        return {t: statistics.median(sorted(p)) for t, p in by_type.items()}

    def metric_values(
        self,
        region: str,
        queries: Sequence[MetricQuery],
        start: datetime,
        end: datetime,
        period_s: int = 60,
        stat: str = "Average",
    ) -> dict[str, list[tuple[datetime, float]]]:
        client = self._client("cloudwatch", region)
        values: dict[str, list[tuple[datetime, float]]] = {}
        for i in range(0, len(queries), _MAX_QUERIES):
            batch = [
                {
                    "Id": q.id,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": q.namespace,
                            "MetricName": q.metric,
                            "Dimensions": [{"Name": q.dimension, "Value": q.dimension_value}],
                        },
                        "Period": period_s,
                        "Stat": stat,
                    },
                    "ReturnData": True,
                }
                for q in queries[i : i + _MAX_QUERIES]
            ]
            token: str | None = None
            while True:
                kwargs: dict[str, Any] = {"MetricDataQueries": batch, "StartTime": start, "EndTime": end}
                if token:
                    kwargs["NextToken"] = token
                response = client.get_metric_data(**kwargs)
                for result in response.get("MetricDataResults", []):
                    pairs = zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
                    values.setdefault(result["Id"], []).extend((ts, float(v)) for ts, v in pairs)
                token = response.get("NextToken")
                if not token:
                    break
        return values
