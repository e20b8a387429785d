"""Live metering: what is running this minute x the catalogue price -> one-minute estimated usage records.

The domain part (pricing a resource for a minute, turning CloudWatch values into samples) is pure. The
AWS side is behind the small `Inventory` protocol (implemented with boto3 in `outlay.aws.inventory`), so `meter_pass`
can be tested against moto and the record building without any AWS at all.

Billing rules (AWS's, simplified to what a minute of inventory can tell):
- EC2: a `running` instance costs its Linux on-demand hourly price / 60. Windows and Spot instances are not
  in the catalogue: they are dead-lettered (reason names why), not priced wrongly.
- RDS: any status but stopped/starting/creating/deleting costs the class's hourly price / 60, doubled for
  Multi-AZ (AWS bills a standby instance). Storage is not metered yet.
- EBS: every volume that exists (attached or not) costs GB-month price x size / minutes in that month.

Records and samples belong to the tenant whose accounts are metered (`tenant_id`; `OUTLAY_TENANT` under
`outlay run`); their ids do not depend on it (ids are unique within a tenant).
"""

from __future__ import annotations

import calendar
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from outlay.aws.resources import DbInstance, Ec2Instance, MetricQuery, Resource, Volume
from outlay.events import CostKind, DeadLetter, UsageRecord, UtilizationSample
from outlay.events.usage import stable_record_id
from outlay.pricing import PriceCatalogue, UnknownPrice
from outlay.tenancy import DEFAULT_TENANT
from services.ingest.live import names

NANO = Decimal("1e-9")
SOURCE = "metering"
_RDS_NOT_BILLED = frozenset({"stopped", "stopping", "starting", "creating", "deleting", "failed"})
_EBS_NOT_BILLED = frozenset({"creating", "deleting", "deleted", "error"})


@dataclass
class MeteringResult:
    records: list[UsageRecord] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    samples: list[UtilizationSample] = field(default_factory=list)


class Inventory(Protocol):
    """What metering needs from AWS (implemented by `outlay.aws.inventory.AwsInventory`)."""

    @property
    def regions(self) -> Sequence[str]: ...

    def discover(self, region: str) -> list[Resource]: ...

    def metric_values(
        self, region: str, queries: Sequence[MetricQuery], start: datetime, end: datetime
    ) -> dict[str, list[tuple[datetime, float]]]: ...


# --- pricing one minute ---------------------------------------------------------------------------


def minutes_in_month(when: datetime) -> int:
    return calendar.monthrange(when.year, when.month)[1] * 1440


def _check_minute(minute: datetime) -> None:
    if minute.tzinfo is None or minute.second or minute.microsecond:
        raise ValueError(f"metering minute must be a whole, timezone-aware minute: {minute!r}")


def _record(
    resource_id: str,
    region: str,
    account_id: str,
    billing_account_id: str | None,
    minute: datetime,
    service: str,
    category: str,
    usage_type: str,
    quantity: Decimal,
    unit: str,
    cost: Decimal,
    tags: dict[str, str],
    tenant_id: str,
) -> UsageRecord:
    return UsageRecord(
        record_id=stable_record_id(SOURCE, account_id, region, resource_id, minute.isoformat()),
        tenant_id=tenant_id,
        source=SOURCE,
        source_ref=f"metering:{region}",
        cost_kind=CostKind.ESTIMATED,
        charge_period_start=minute,
        charge_period_end=minute + timedelta(minutes=1),
        billing_account_id=billing_account_id or account_id,
        sub_account_id=account_id,
        region=region,
        service=service,
        service_category=category,
        resource_id=resource_id,
        usage_type=usage_type,
        consumed_quantity=quantity.quantize(NANO),
        consumed_unit=unit,
        billed_cost=cost,
        effective_cost=cost,
        list_cost=cost,
        tags=dict(tags),
    )


def _ec2(res: Ec2Instance, minute: datetime, cat: PriceCatalogue, payer: str | None, tenant: str) -> UsageRecord | None:
    if res.state != "running":
        return None
    if res.platform and res.platform.lower() == "windows":
        raise UnknownPrice(f"no Windows price for EC2 {res.instance_type!r} in {res.region} (catalogue is Linux)")
    if res.lifecycle == "spot":
        raise UnknownPrice(f"no Spot price for EC2 {res.instance_type!r} in {res.region} (catalogue is on-demand)")
    hourly = cat.ec2_hourly(res.instance_type, res.region)
    return _record(
        res.instance_id, res.region, res.account_id, payer, minute, names.EC2, names.COMPUTE,
        f"BoxUsage:{res.instance_type}", Decimal(1) / 60, "Hrs", (hourly / 60).quantize(NANO), res.tags, tenant,
    )  # fmt: skip


def _rds(res: DbInstance, minute: datetime, cat: PriceCatalogue, payer: str | None, tenant: str) -> UsageRecord | None:
    if res.status in _RDS_NOT_BILLED:
        return None
    hourly = cat.rds_hourly(res.instance_class, res.engine, res.region)
    copies = 2 if res.multi_az else 1
    usage = "Multi-AZUsage" if res.multi_az else "InstanceUsage"
    return _record(
        res.arn, res.region, res.account_id, payer, minute, names.RDS, names.DATABASES,
        f"{usage}:{res.instance_class}", Decimal(copies) / 60, "Hrs", (hourly * copies / 60).quantize(NANO),
        res.tags, tenant,
    )  # fmt: skip


def _ebs(res: Volume, minute: datetime, cat: PriceCatalogue, payer: str | None, tenant: str) -> UsageRecord | None:
    if res.state in _EBS_NOT_BILLED:
        return None
    per_gb_month = cat.ebs_gb_month(res.volume_type, res.region)
    month_minutes = minutes_in_month(minute)
    return _record(
        res.volume_id, res.region, res.account_id, payer, minute, names.EC2, names.STORAGE,
        f"EBS:VolumeUsage.{res.volume_type}", Decimal(res.size_gib) / month_minutes, "GB-Mo",
        (per_gb_month * res.size_gib / month_minutes).quantize(NANO), res.tags, tenant,
    )  # fmt: skip


def _dead_letter(res: Resource, reason: str) -> DeadLetter:
    if isinstance(res, Ec2Instance):
        kind, rid, fld = "ec2", res.instance_id, "InstanceType"
        raw = {
            "InstanceType": res.instance_type,
            "Platform": res.platform,
            "InstanceLifecycle": res.lifecycle,
        }
    elif isinstance(res, DbInstance):
        kind, rid, fld = "rds", res.arn, "DBInstanceClass"
        raw = {"DBInstanceClass": res.instance_class, "Engine": res.engine, "MultiAZ": str(res.multi_az)}
    else:
        kind, rid, fld = "ebs", res.volume_id, "VolumeType"
        raw = {"VolumeType": res.volume_type, "Size": str(res.size_gib)}
    return DeadLetter(source=SOURCE, file=f"aws://{res.region}/{kind}/{rid}", field=fld, reason=reason, raw=raw)


def price_minute(
    resources: Iterable[Resource],
    minute: datetime,
    catalogue: PriceCatalogue,
    billing_account_id: str | None = None,
    tenant_id: str = DEFAULT_TENANT,
) -> MeteringResult:
    """One estimated usage record of `tenant_id` per billable resource for [minute, minute + 1 min); unknown
    prices become dead letters naming the type, so nothing is silently dropped."""
    _check_minute(minute)
    result = MeteringResult()
    for res in resources:
        try:
            if isinstance(res, Ec2Instance):
                record = _ec2(res, minute, catalogue, billing_account_id, tenant_id)
            elif isinstance(res, DbInstance):
                record = _rds(res, minute, catalogue, billing_account_id, tenant_id)
            else:
                record = _ebs(res, minute, catalogue, billing_account_id, tenant_id)
        except UnknownPrice as exc:
            result.dead_letters.append(_dead_letter(res, str(exc)))
            continue
        if record is not None:
            result.records.append(record)
    return result


# --- utilization ----------------------------------------------------------------------------------

# (namespace, dimension, resource type, [(metric, unit)]). get_metric_data is billed per metric, so only
# the few the optimizer reads: CPU for rightsizing, network and connections for idle detection.
_METRICS: dict[type, tuple[str, str, str, tuple[tuple[str, str], ...]]] = {
    Ec2Instance: (
        "AWS/EC2", "InstanceId", "ec2-instance",
        (("CPUUtilization", "Percent"), ("NetworkIn", "Bytes"), ("NetworkOut", "Bytes")),
    ),
    DbInstance: (
        "AWS/RDS", "DBInstanceIdentifier", "rds-instance",
        (("CPUUtilization", "Percent"), ("DatabaseConnections", "Count"), ("FreeableMemory", "Bytes")),
    ),
}  # fmt: skip


def metric_queries(resources: Iterable[Resource]) -> list[MetricQuery]:
    """The CloudWatch metrics to read for these resources (running instances and live databases)."""
    out: list[MetricQuery] = []
    for res in resources:
        spec = _METRICS.get(type(res))
        if spec is None:
            continue
        namespace, dimension, rtype, metrics = spec
        if isinstance(res, Ec2Instance):
            if res.state != "running":
                continue
            dim_value, rid = res.instance_id, res.instance_id
        elif isinstance(res, DbInstance):
            if res.status in _RDS_NOT_BILLED:
                continue
            dim_value, rid = res.identifier, res.arn
        else:
            continue
        for metric, unit in metrics:
            out.append(
                MetricQuery(
                    id=f"m{len(out)}", namespace=namespace, metric=metric, dimension=dimension,
                    dimension_value=dim_value, unit=unit, resource_type=rtype, resource_id=rid,
                    region=res.region, account_id=res.account_id,
                )
            )  # fmt: skip
    return out


def samples_from(
    queries: Sequence[MetricQuery], values: dict[str, list[tuple[datetime, float]]], tenant_id: str = DEFAULT_TENANT
) -> list[UtilizationSample]:
    """CloudWatch results (query id -> [(timestamp, value)]) -> one sample of `tenant_id` per resource, metric and
    minute."""
    out = []
    for query in queries:
        for timestamp, value in values.get(query.id, []):
            minute = timestamp.replace(second=0, microsecond=0)
            out.append(
                UtilizationSample(
                    record_id=stable_record_id("cloudwatch", query.resource_id, query.metric, minute.isoformat()),
                    tenant_id=tenant_id,
                    timestamp=minute,
                    account_id=query.account_id,
                    region=query.region,
                    resource_type=query.resource_type,
                    resource_id=query.resource_id,
                    metric=query.metric,
                    value=float(value),
                    unit=query.unit,
                )
            )
    return out


# --- one pass -------------------------------------------------------------------------------------


def meter_pass(
    inventory: Inventory,
    catalogue: PriceCatalogue,
    minute: datetime,
    billing_account_id: str | None = None,
    metrics_minute: datetime | None = None,
    tenant_id: str = DEFAULT_TENANT,
) -> MeteringResult:
    """Discover every region, price `minute`, and read utilization for `metrics_minute` (default: the same
    minute; the runner asks for an older one because CloudWatch publishes a few minutes late), all of
    `tenant_id`."""
    _check_minute(minute)
    sample_minute = metrics_minute or minute
    result = MeteringResult()
    for region in inventory.regions:
        resources = inventory.discover(region)
        priced = price_minute(resources, minute, catalogue, billing_account_id, tenant_id)
        result.records.extend(priced.records)
        result.dead_letters.extend(priced.dead_letters)
        queries = metric_queries(resources)
        if queries:
            values = inventory.metric_values(region, queries, sample_minute, sample_minute + timedelta(minutes=1))
            result.samples.extend(samples_from(queries, values, tenant_id))
    return result


# --- dead letters ---------------------------------------------------------------------------------


class DeadLetterOnce:
    """Lets each (resource, reason) dead letter through once: an unpriced resource is unpriced every
    minute, and 1,440 copies a day of the same letter would bury the rest of the dead-letter topic.

    Remembers at most `capacity` keys, least recently seen forgotten first, so memory stays bounded on a
    huge or churning fleet; a forgotten resource that is still unpriced is simply dead-lettered again."""

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def first_time(self, letters: Iterable[DeadLetter]) -> list[DeadLetter]:
        fresh = []
        for letter in letters:
            key = (letter.file, letter.reason)
            if key in self._seen:
                self._seen.move_to_end(key)
                continue
            self._seen[key] = None
            if len(self._seen) > self.capacity:
                self._seen.popitem(last=False)
            fresh.append(letter)
        return fresh

    def __len__(self) -> int:
        return len(self._seen)
