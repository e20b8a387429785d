"""AWS resources as Outlay reads them from describe calls: one definition for metering and the optimizer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Ec2Instance:
    instance_id: str
    instance_type: str
    region: str
    account_id: str
    state: str
    tags: dict[str, str] = field(default_factory=dict)
    platform: str | None = None  # "windows" or None (Linux/UNIX)
    lifecycle: str | None = None  # "spot" | "scheduled" | None (on-demand)
    state_since: datetime | None = None  # when it entered `state`, where AWS says (StateTransitionReason)


@dataclass(frozen=True)
class DbInstance:
    arn: str
    identifier: str
    instance_class: str
    engine: str
    region: str
    account_id: str
    status: str
    multi_az: bool = False
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Volume:
    volume_id: str
    volume_type: str
    size_gib: int
    region: str
    account_id: str
    state: str  # "available" (attached to nothing) | "in-use" | ...
    tags: dict[str, str] = field(default_factory=dict)
    iops: int | None = None  # provisioned (io1/io2) or configured (gp3) IOPS
    attached_instance: str | None = None


Resource = Ec2Instance | DbInstance | Volume


@dataclass(frozen=True)
class MetricQuery:
    """One CloudWatch metric of one resource; `id` is unique within a get_metric_data call."""

    id: str
    namespace: str
    metric: str
    dimension: str
    dimension_value: str
    unit: str
    resource_type: str
    resource_id: str
    region: str
    account_id: str


@dataclass(frozen=True)
class ElasticAddress:
    allocation_id: str
    public_ip: str
    region: str
    account_id: str
    associated: bool  # to an instance or a network interface
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadBalancer:
    arn: str
    name: str
    kind: str  # "application" | "network" | "gateway" | "classic"
    region: str
    account_id: str
    created: datetime | None = None
