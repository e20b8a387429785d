"""Idle resources: paid for, doing nothing. Each finding is priced from the catalogue and says why it was found.

- An EBS volume in state `available` (attached to nothing): delete it after a snapshot. Its storage, and any
  provisioned IOPS, are the saving; the snapshot's storage is the cost kept (counted against the saving).
- Volumes of an instance stopped for the whole lookback: a stopped instance costs nothing, its volumes do.
- An Elastic IP associated with nothing: public IPv4 addresses cost $0.005 an hour whether used or not.
- A load balancer that served no request over the lookback (no metric: skipped, never guessed idle).
- An instance whose CPU stayed at or under 5% at p95 and 10% at p99 for the lookback (AWS Trusted Advisor's
  low-utilization check uses daily CPU <= 10%): stop it, or schedule it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import numpy as np

from outlay.aws.resources import ElasticAddress, LoadBalancer, Volume
from outlay.money import cents
from outlay.pricing.catalogue import PriceCatalogue, UnknownPrice
from services.optimizer.recommendations import Kind, Recommendation, Risk, Skipped, monthly
from services.optimizer.rightsizing.percentiles import Percentiles
from services.optimizer.rightsizing.recommend import Instance

IDLE_P95_CPU = 5.0
IDLE_P99_CPU = 10.0
SNAPSHOT_SHARE = Decimal("0.5")  # a snapshot keeps the written blocks: half the volume is the usual estimate


def _volume_monthly(volume: Volume, catalogue: PriceCatalogue) -> Decimal:
    storage = catalogue.ebs_gb_month(volume.volume_type, volume.region) * volume.size_gib
    if volume.volume_type in ("io1", "io2") and volume.iops:
        storage += catalogue.unit_price("ebs", f"{volume.volume_type}_iops", volume.region).amount * volume.iops
    elif volume.volume_type == "gp3" and volume.iops and volume.iops > 3000:
        storage += catalogue.unit_price("ebs", "gp3_iops", volume.region).amount * (volume.iops - 3000)
    return storage


def idle_volumes(
    volumes: list[Volume], stopped_for_lookback: set[str], catalogue: PriceCatalogue
) -> tuple[list[Recommendation], list[Skipped]]:
    """`stopped_for_lookback`: ids of instances stopped for the whole lookback (their volumes are parked)."""
    found: list[Recommendation] = []
    skipped: list[Skipped] = []
    for v in volumes:
        unattached = v.state == "available"
        parked = v.attached_instance is not None and v.attached_instance in stopped_for_lookback
        if not (unattached or parked):
            continue
        try:
            cost = _volume_monthly(v, catalogue)
            snapshot = catalogue.unit_price("ebs", "snapshot_storage", v.region).amount * v.size_gib * SNAPSHOT_SHARE
        except UnknownPrice as exc:
            skipped.append(Skipped(v.volume_id, str(exc)))
            continue
        saving = cents(cost - snapshot)
        if saving <= 0:
            continue
        found.append(
            Recommendation(
                kind=Kind.DELETE_VOLUME if unattached else Kind.DELETE_STOPPED_VOLUMES,
                resource_id=v.volume_id,
                region=v.region,
                summary=(
                    f"snapshot and delete unattached {v.size_gib} GiB {v.volume_type} volume"
                    if unattached
                    else f"snapshot and delete the {v.size_gib} GiB {v.volume_type} volume of an instance stopped "
                    "for the whole lookback"
                ),
                monthly_saving=saving,
                confidence=0.95 if unattached else 0.8,
                risk=Risk.LOW if unattached else Risk.MEDIUM,
                current=v.state,
                proposed=None,
                evidence={"size_gb": float(v.size_gib), "monthly_cost": str(cost), "snapshot_monthly": str(snapshot)},
            )
        )
    return found, skipped


def idle_addresses(
    addresses: list[ElasticAddress], catalogue: PriceCatalogue
) -> tuple[list[Recommendation], list[Skipped]]:
    found: list[Recommendation] = []
    skipped: list[Skipped] = []
    for a in addresses:
        if a.associated:
            continue
        try:
            hourly = catalogue.unit_price("ec2", "public_ipv4", a.region).amount
        except UnknownPrice as exc:
            skipped.append(Skipped(a.allocation_id, str(exc)))
            continue
        found.append(
            Recommendation(
                kind=Kind.RELEASE_ADDRESS,
                resource_id=a.allocation_id,
                region=a.region,
                summary=f"release Elastic IP {a.public_ip} (associated with nothing)",
                monthly_saving=monthly(hourly),
                confidence=0.95,
                risk=Risk.LOW,
                current="unassociated",
                evidence={"public_ip": a.public_ip},
            )
        )
    return found, skipped


def idle_load_balancers(
    balancers: list[LoadBalancer],
    requests: dict[str, float],
    catalogue: PriceCatalogue,
    lookback_start: datetime,
    lookback_days: int = 14,
) -> tuple[list[Recommendation], list[Skipped]]:
    """`requests`: per load balancer arn, RequestCount (ALB/CLB) or NewFlowCount (NLB) summed over the lookback.

    Elastic Load Balancing publishes no datapoint for a period without traffic, so a balancer missing from
    `requests` served nothing if it existed for the whole lookback; a younger one (or one whose age is unknown)
    is skipped: too new to judge."""
    found: list[Recommendation] = []
    skipped: list[Skipped] = []
    for lb in balancers:
        served = requests.get(lb.arn)
        if served is None and (lb.created is None or lb.created > lookback_start):
            skipped.append(Skipped(lb.arn, "no request datapoints and younger than the lookback: too new to judge"))
            continue
        if served is not None and served > 0:
            continue
        try:
            hourly = catalogue.unit_price("elb", f"{lb.kind}_hour", lb.region).amount
        except UnknownPrice as exc:
            skipped.append(Skipped(lb.arn, str(exc)))
            continue
        found.append(
            Recommendation(
                kind=Kind.DELETE_LOAD_BALANCER,
                resource_id=lb.arn,
                region=lb.region,
                summary=f"delete {lb.kind} load balancer: no requests in {lookback_days} days",
                monthly_saving=monthly(hourly),
                confidence=0.9,
                risk=Risk.MEDIUM,  # a DNS name may still point at it
                current=lb.kind,
                evidence={"requests": served or 0.0, "lookback_days": float(lookback_days)},
            )
        )
    return found, skipped


def idle_instances(
    instances: list[Instance], cpu: Percentiles, catalogue: PriceCatalogue
) -> tuple[list[Recommendation], list[Skipped]]:
    """`cpu` rows follow `instances`."""
    found: list[Recommendation] = []
    skipped: list[Skipped] = []
    for row, instance in enumerate(instances):
        resource_id, instance_type, region = instance.resource_id, instance.instance_type, instance.region
        if cpu.samples[row] == 0:
            skipped.append(Skipped(resource_id, "no CPUUtilization samples in the lookback"))
            continue
        p95, p99 = float(cpu.p95[row]), float(cpu.p99[row])
        if np.isnan(p95) or p95 > IDLE_P95_CPU or p99 > IDLE_P99_CPU:
            continue
        try:
            hourly = catalogue.ec2_hourly(instance_type, region)
        except UnknownPrice as exc:
            skipped.append(Skipped(resource_id, str(exc)))
            continue
        found.append(
            Recommendation(
                kind=Kind.STOP_INSTANCE,
                resource_id=resource_id,
                region=region,
                summary=f"stop idle {instance_type} (p95 CPU {p95:.1f}%, p99 {p99:.1f}%)",
                monthly_saving=monthly(hourly),
                confidence=0.7,  # CPU alone: it may still serve rare requests
                risk=Risk.HIGH,
                current=instance_type,
                evidence={"p95_cpu": p95, "p99_cpu": p99, "max_cpu": float(cpu.max[row])},
            )
        )
    return found, skipped
