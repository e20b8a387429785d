"""One region's scan: inventory and CloudWatch through the AWS port, then every finder, then the findings.

The lookback (14 days) is read at 5-minute resolution: CPUUtilization per running instance and, where the
CloudWatch agent reports it, memory (CWAgent mem_used_percent); load balancers' request counts per day; Spot prices
for the instance types of interruption-tolerant workloads; RDS CPU and FreeableMemory per available database. The
same CPU, as hourly means, finds off-hours schedules for dev and test instances.

`allowed_type` (from the tenant's allowed-instance-families policies) limits what rightsizing proposes; the scanned
instances and volumes are kept on the result for the tenant's policies to be checked against
(`services.optimizer.policy_checks`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

import numpy as np

from outlay.aws.resources import DbInstance, Ec2Instance, ElasticAddress, LoadBalancer, MetricQuery, Volume
from outlay.pricing.catalogue import PriceCatalogue, UnknownPrice
from services.optimizer.idle import idle_addresses, idle_instances, idle_load_balancers, idle_volumes
from services.optimizer.recommendations import Recommendation, Skipped
from services.optimizer.rightsizing.percentiles import percentiles
from services.optimizer.rightsizing.recommend import Instance, RightsizingSettings, rightsize, rightsize_databases
from services.optimizer.schedules import ScheduledInstance, off_hours
from services.optimizer.spot import spot_candidates, why_interruptible

PERIOD_S = 300
ARCH_TAG = "outlay:arch"  # "any": the workload runs on arm64 (Graviton) and x86 alike
# Request metrics per load balancer kind: (namespace, metric, dimension).
_LB_METRICS = {
    "application": ("AWS/ApplicationELB", "RequestCount", "LoadBalancer"),
    "network": ("AWS/NetworkELB", "NewFlowCount", "LoadBalancer"),
    "gateway": ("AWS/GatewayELB", "NewFlowCount", "LoadBalancer"),
    "classic": ("AWS/ELB", "RequestCount", "LoadBalancerName"),
}


class OptimizerInventory(Protocol):
    """What the optimizer reads from AWS (implemented by `outlay.aws.inventory.AwsInventory`)."""

    def instances(self, region: str) -> list[Ec2Instance]: ...

    def volumes(self, region: str) -> list[Volume]: ...

    def addresses(self, region: str) -> list[ElasticAddress]: ...

    def databases(self, region: str) -> list[DbInstance]: ...

    def load_balancers(self, region: str) -> list[LoadBalancer]: ...

    def spot_prices(self, region: str, instance_types: Sequence[str], now: datetime) -> dict[str, Decimal]: ...

    def metric_values(
        self,
        region: str,
        queries: Sequence[MetricQuery],
        start: datetime,
        end: datetime,
        period_s: int = 60,
        stat: str = "Average",
    ) -> dict[str, list[tuple[datetime, float]]]: ...


@dataclass
class ScanResult:
    recommendations: list[Recommendation] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # per resource id: what plans' policy reads
    instances: list[Ec2Instance] = field(default_factory=list)  # the inventory scanned: what policies are checked on
    volumes: list[Volume] = field(default_factory=list)

    def add(self, found: tuple[list[Recommendation], list[Skipped]]) -> None:
        self.recommendations.extend(found[0])
        self.skipped.extend(found[1])


def _query(
    i: int, prefix: str, namespace: str, metric: str, dimension: str, value: str, inst: Ec2Instance
) -> MetricQuery:
    return MetricQuery(
        f"{prefix}{i}",
        namespace,
        metric,
        dimension,
        value,
        "Percent",
        "ec2",
        inst.instance_id,
        inst.region,
        inst.account_id,
    )


def _grid(points: list[tuple[datetime, float]], start: datetime, slots: int) -> np.ndarray:
    row = np.full(slots, np.nan, dtype=np.float32)
    for at, value in points:
        slot = int((at - start).total_seconds() // PERIOD_S)
        if 0 <= slot < slots:
            row[slot] = value
    return row


def scan_region(
    inventory: OptimizerInventory,
    region: str,
    catalogue: PriceCatalogue,
    now: datetime,
    settings: RightsizingSettings = RightsizingSettings(),
    env_tag: str = "env",
    allowed_type: Callable[[str], bool] | None = None,
) -> ScanResult:
    result = ScanResult()
    lookback = timedelta(days=settings.lookback_days)
    # On a five-minute boundary: the samples' slots then line up with the clock's hours (a schedule's "09:00"); from
    # any other minute, each hour's mean would take a few minutes of the next one.
    start = _on_period(now - lookback)
    slots = int(lookback.total_seconds() // PERIOD_S)
    instances = inventory.instances(region)
    result.instances = list(instances)
    result.tags = {i.instance_id: dict(i.tags) for i in instances}
    running = [i for i in instances if i.state == "running" and i.platform is None and i.lifecycle is None]
    cpu_q = [
        _query(k, "cpu", "AWS/EC2", "CPUUtilization", "InstanceId", i.instance_id, i) for k, i in enumerate(running)
    ]
    mem_q = [
        _query(k, "mem", "CWAgent", "mem_used_percent", "InstanceId", i.instance_id, i) for k, i in enumerate(running)
    ]
    values = inventory.metric_values(region, [*cpu_q, *mem_q], start, now, period_s=PERIOD_S) if running else {}
    cpu = np.vstack([_grid(values.get(q.id, []), start, slots) for q in cpu_q]) if running else np.empty((0, slots))
    memory = np.vstack([_grid(values.get(q.id, []), start, slots) for q in mem_q]) if running else np.empty((0, slots))
    cpu_p, _ = percentiles(cpu.astype(np.float32))
    memory_p, _ = percentiles(memory.astype(np.float32))
    sized = [
        Instance(i.instance_id, i.instance_type, region, arch_neutral=i.tags.get(ARCH_TAG) == "any", tags=i.tags)
        for i in running
    ]
    idle = idle_instances(sized, cpu_p, catalogue)
    idle_ids = {r.resource_id for r in idle[0]}
    rightsized = rightsize(sized, cpu_p, memory_p, catalogue, settings, allowed_type)
    # An idle instance is to be stopped, not resized: both would be offered for the same money.
    result.add(([r for r in rightsized[0] if r.resource_id not in idle_ids], rightsized[1]))
    result.add(idle)
    interruptible = [i for i in sized if why_interruptible(i.tags) is not None]
    if interruptible:
        spot = inventory.spot_prices(region, sorted({i.instance_type for i in interruptible}), now)
        result.add(spot_candidates(interruptible, spot, catalogue, env_tag))
    if running:
        scheduled = [ScheduledInstance(i.instance_id, i.instance_type, region, i.tags) for i in running]
        # Hours on the clock (a schedule is "09:00-18:00"), not hours from the lookback's start minute.
        first_hour = start.replace(minute=0, second=0, microsecond=0)
        lead = np.full((len(running), int((start - first_hour).total_seconds()) // PERIOD_S), np.nan)
        result.add(off_hours(scheduled, _hourly(np.hstack([lead, cpu])), first_hour, catalogue, env_tag))
    parked = {
        i.instance_id
        for i in instances
        if i.state == "stopped" and i.state_since is not None and i.state_since <= start
    }
    databases = [d for d in inventory.databases(region) if d.status == "available"]
    result.tags |= {d.arn: dict(d.tags) for d in databases}
    result.add(_databases(inventory, databases, region, catalogue, start, now, slots, settings, allowed_type))
    volumes, addresses = inventory.volumes(region), inventory.addresses(region)
    result.volumes = list(volumes)
    result.tags |= {v.volume_id: dict(v.tags) for v in volumes} | {a.allocation_id: dict(a.tags) for a in addresses}
    result.add(idle_volumes(volumes, parked, catalogue))
    result.add(idle_addresses(addresses, catalogue))
    balancers = inventory.load_balancers(region)
    result.add(
        idle_load_balancers(
            balancers, _requests(inventory, region, balancers, start, now), catalogue, start, settings.lookback_days
        )
    )
    return result


def _on_period(at: datetime) -> datetime:
    """`at` rounded down to a PERIOD_S boundary (of the epoch, so of every hour)."""
    return at - timedelta(seconds=int(at.timestamp()) % PERIOD_S, microseconds=at.microsecond)


def _hourly(grid: np.ndarray) -> np.ndarray:
    """Five-minute samples -> hourly means (NaN where an hour has none)."""
    per_hour = 3600 // PERIOD_S
    hours = grid.shape[1] // per_hour
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an hour without samples is NaN, as meant
        return np.nanmean(grid[:, : hours * per_hour].reshape(grid.shape[0], hours, per_hour), axis=2)


def _databases(
    inventory: OptimizerInventory,
    databases: list[DbInstance],
    region: str,
    catalogue: PriceCatalogue,
    start: datetime,
    now: datetime,
    slots: int,
    settings: RightsizingSettings,
    allowed_type: Callable[[str], bool] | None = None,
) -> tuple[list[Recommendation], list[Skipped]]:
    """RDS rightsizing: CPU and memory in use (from FreeableMemory and the class's memory) of every available
    database. Managed engines run on Graviton classes as on x86 ones, so databases are arch-neutral."""
    if not databases:
        return [], []
    queries = []
    for k, db in enumerate(databases):
        for prefix, metric, unit in (("dbcpu", "CPUUtilization", "Percent"), ("dbfree", "FreeableMemory", "Bytes")):
            queries.append(
                MetricQuery(
                    f"{prefix}{k}",
                    "AWS/RDS",
                    metric,
                    "DBInstanceIdentifier",
                    db.identifier,
                    unit,
                    "rds",
                    db.arn,
                    region,
                    db.account_id,
                )  # fmt: skip
            )
    values = inventory.metric_values(region, queries, start, now, period_s=PERIOD_S)
    cpu = np.vstack([_grid(values.get(f"dbcpu{k}", []), start, slots) for k in range(len(databases))])
    used = np.full_like(cpu, np.nan)
    for k, db in enumerate(databases):
        try:
            memory_gib = catalogue.rds_instance(db.instance_class).memory_gib
        except UnknownPrice:
            continue  # the sizer skips it with the reason
        if memory_gib:
            free = _grid(values.get(f"dbfree{k}", []), start, slots)
            used[k] = np.clip(100.0 * (1.0 - free / (float(memory_gib) * 2**30)), 0.0, 100.0)
    cpu_p, _ = percentiles(cpu.astype(np.float32))
    memory_p, _ = percentiles(used.astype(np.float32))
    sized = [
        Instance(
            db.arn, db.instance_class, region, arch_neutral=True, tags=db.tags, engine=db.engine, multi_az=db.multi_az
        )  # fmt: skip
        for db in databases
    ]
    return rightsize_databases(sized, cpu_p, memory_p, catalogue, settings, allowed_type)


def _requests(
    inventory: OptimizerInventory, region: str, balancers: list[LoadBalancer], start: datetime, end: datetime
) -> dict[str, float]:
    queries = []
    for k, lb in enumerate(balancers):
        namespace, metric, dimension = _LB_METRICS.get(lb.kind, _LB_METRICS["application"])
        # ALB/NLB metrics name the balancer by the tail of its ARN: app/<name>/<id>.
        value = lb.name if lb.kind == "classic" else lb.arn.split(":loadbalancer/", 1)[-1]
        queries.append(
            MetricQuery(f"lb{k}", namespace, metric, dimension, value, "Count", "elb", lb.arn, region, lb.account_id)
        )
    values = inventory.metric_values(region, queries, start, end, period_s=86400, stat="Sum") if queries else {}
    return {q.resource_id: sum(v for _, v in values[q.id]) for q in queries if values.get(q.id)}
