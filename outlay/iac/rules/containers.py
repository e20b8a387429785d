"""Containers: EKS clusters and managed node groups, and ECS services on Fargate.

An EKS cluster is billed by the hour, at the extended-support rate once its Kubernetes version's standard support
has ended. A node group runs EC2 instances (priced as an Auto Scaling group's, `autoscaling.py`): its
`instance_types`' first, or its launch template's, with `disk_size` GB of gp2 each unless its template gives the
volumes. An ECS service on Fargate is billed per vCPU and GB of its task definition, for each task it runs; the
estimator links the task definition (`outlay.iac.links`), or the task set that names it.

Prices: `unit_prices.csv` (eks, fargate), instances and volumes as EC2's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from outlay.iac.links import linked, referenced_by
from outlay.iac.rules import ec2
from outlay.iac.rules.autoscaling import INSTANCES_USAGE, fleet_components, template_volumes
from outlay.iac.rules.ec2 import first, linked_template, template_instance
from outlay.iac.rules.spec import (
    HOURS,
    Component,
    Free,
    Price,
    Quantity,
    ResourceRule,
    RuleError,
    Scope,
    as_number,
    times,
    unit_price,
    within,
)
from outlay.pricing.catalogue import HOURS_PER_MONTH, UnknownPrice

# --- EKS clusters ------------------------------------------------------------------------------------------

# When each Kubernetes version's standard support ends on EKS (docs.aws.amazon.com/eks/latest/userguide/
# kubernetes-versions.html); after it, a cluster is billed at the extended-support rate until upgraded. Versions
# older than the table's are past even extended support (EKS upgrades them): still billed as extended.
STANDARD_SUPPORT_ENDS = {
    "1.23": date(2023, 10, 11),
    "1.24": date(2024, 1, 31),
    "1.25": date(2024, 5, 1),
    "1.26": date(2024, 6, 11),
    "1.27": date(2024, 7, 24),
    "1.28": date(2024, 11, 26),
    "1.29": date(2025, 3, 23),
    "1.30": date(2025, 7, 23),
    "1.31": date(2025, 11, 26),
    "1.32": date(2026, 3, 23),
    "1.33": date(2026, 7, 29),
    "1.34": date(2026, 12, 2),
}


def minor(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        raise RuleError(f"version: expected a Kubernetes version like 1.30, got {version!r}") from None


def extended_support(scope: Scope, today: date | None = None) -> bool:
    """The cluster's version is past standard support (a cluster whose upgrade policy is STANDARD is upgraded
    instead; one without a version gets the newest)."""
    version = scope.attr("version")
    if not version or str(first(scope.attr("upgrade_policy")).get("support_type", "")).upper() == "STANDARD":
        return False
    ends = STANDARD_SUPPORT_ENDS.get(".".join(str(n) for n in minor(str(version))))
    if ends is None:
        return minor(str(version)) < minor(min(STANDARD_SUPPORT_ENDS, key=minor))
    return (today or date.today()) > ends


# --- EKS node groups ---------------------------------------------------------------------------------------

NODE_TEMPLATE_PATHS = ("launch_template.id", "launch_template.name")
DEFAULT_NODE_TYPE = "t3.medium"  # what EKS launches when neither instance_types nor the template says
DEFAULT_NODE_DISK_GB = 20


def node_template(scope: Scope) -> Mapping[str, Any] | None:
    return linked_template(scope.resource.attributes, NODE_TEMPLATE_PATHS)


def node_instance(scope: Scope) -> Mapping[str, Any] | None:
    types = scope.resource.attributes.get("instance_types") or []
    chosen = types[0] if types else None
    template = node_template(scope)
    if template is not None:
        return template_instance(template, chosen or template.get("instance_type") or DEFAULT_NODE_TYPE)
    if scope.resource.attributes.get("launch_template"):
        return None  # a template the input does not have: `node_template_missing` says so
    return {"instance_type": chosen or DEFAULT_NODE_TYPE, "tenancy": "default"}


def node_count(scope: Scope) -> Decimal:
    """The usage file's `instances`, else the scaling config's desired size, else its minimum (at least one)."""
    used = scope.used("instances")
    if used is not None:
        return used
    scaling = first(scope.resource.attributes.get("scaling_config"))
    desired = as_number(scaling.get("desired_size"), "desired_size")
    return (
        desired
        if desired is not None
        else max(as_number(scaling.get("min_size"), "min_size") or Decimal(0), Decimal(1))
    )


def spot_nodes(scope: Scope) -> bool:
    return str(scope.resource.attributes.get("capacity_type") or "ON_DEMAND").upper() == "SPOT"


def on_demand_nodes(scope: Scope) -> Decimal:
    return Decimal(0) if spot_nodes(scope) else node_count(scope)


def spot_node_count(scope: Scope) -> Decimal:
    return node_count(scope) if spot_nodes(scope) else Decimal(0)


def node_template_missing(scope: Scope) -> bool:
    if node_instance(scope) is None and node_count(scope) > 0:
        raise RuleError("its launch template is not in the input: nodes not priced")
    return False


def node_disk(scope: Scope) -> Mapping[str, Any] | None:
    """Each node's disk, unless its launch template gives the volumes."""
    if scope.resource.attributes.get("launch_template"):
        return None
    return {"volume_size": scope.resource.attributes.get("disk_size"), "volume_type": "gp2"}


# --- ECS services on Fargate -------------------------------------------------------------------------------

FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
CAPACITY_PROVIDERS = "aws_ecs_cluster_capacity_providers"


def strategy_providers(blocks: Any) -> list[str]:
    found = blocks if isinstance(blocks, list) else [blocks] if isinstance(blocks, Mapping) else []
    return [str(b.get("capacity_provider")) for b in found if isinstance(b, Mapping) and b.get("capacity_provider")]


def cluster_providers(attributes: Mapping[str, Any]) -> list[str]:
    """Where a service without a launch type or strategy runs: its cluster's default strategy; or, when the
    cluster's only capacity providers are Fargate's, Fargate (the cluster has no instances to run it on)."""
    cluster = linked(attributes, "cluster")
    if cluster is None:
        return []
    settings = [cluster, *referenced_by(cluster, CAPACITY_PROVIDERS)]
    for setting in settings:
        default = strategy_providers(setting.get("default_capacity_provider_strategy"))
        if default:
            return default
    for setting in settings:
        providers = [str(p) for p in setting.get("capacity_providers") or []]
        if providers and all(p in FARGATE_PROVIDERS for p in providers):
            return providers
    return []


def launched_on(scope: Scope) -> list[str]:
    """The launch type or capacity providers the service's tasks run on (EC2 when nothing says)."""
    attributes = scope.resource.attributes
    if attributes.get("launch_type"):
        return [str(attributes["launch_type"])]
    return strategy_providers(attributes.get("capacity_provider_strategy")) or cluster_providers(attributes) or ["EC2"]


def on_fargate(scope: Scope) -> bool:
    return any(p in FARGATE_PROVIDERS for p in launched_on(scope))


def task_definition(scope: Scope) -> Mapping[str, Any]:
    """The service's task definition, or its task set's (a service run by an external deployment controller)."""
    attributes = scope.resource.attributes
    found = linked(attributes, "task_definition")
    for task_set in referenced_by(attributes, "aws_ecs_task_set"):
        found = found or linked(task_set, "task_definition")
    if found is None:
        raise RuleError("its task definition is not in the input: Fargate tasks not priced")
    return found


def size(text: Any, key: str, per_unit: int, unit_word: str) -> Decimal:
    """A task size as ECS takes it: "1 vCPU" / "2 GB", or CPU units (1024 a vCPU) / MiB (1024 a GB)."""
    cleaned = str(text).strip().lower()
    if cleaned.endswith(unit_word):
        number, divisor = cleaned.removesuffix(unit_word).strip(), 1
    else:
        number, divisor = cleaned, per_unit
    try:
        return Decimal(number) / divisor
    except ArithmeticError:
        raise RuleError(f"{key}: expected a task size like 1024 or '1 {unit_word}', got {text!r}") from None


def tasks(scope: Scope) -> Decimal:
    """Tasks the service keeps running: `desired_count`; one when unset (its count is left to autoscaling)."""
    count = as_number(scope.resource.attributes.get("desired_count"), "desired_count")
    return Decimal(1) if count is None else count


def task_hours(key: str, per_unit: int, unit_word: str) -> Quantity:
    def quantity(scope: Scope) -> Decimal:
        definition = task_definition(scope)
        if definition.get(key) is None:
            raise RuleError(f"its task definition sets no {key}: Fargate needs one")
        return size(definition[key], key, per_unit, unit_word) * tasks(scope) * HOURS_PER_MONTH

    return quantity


def arm(scope: Scope) -> bool:
    platform = first(task_definition(scope).get("runtime_platform"))
    return str(platform.get("cpu_architecture", "")).upper() == "ARM64"


def fargate_price(x86: str, graviton: str) -> Price:
    """Fargate's Linux price for the task's architecture; Fargate Spot's varies and is not estimated."""
    on_x86, on_arm = unit_price("fargate", x86), unit_price("fargate", graviton)

    def price(scope: Scope) -> Decimal:
        if "FARGATE" not in launched_on(scope):
            raise UnknownPrice("Fargate Spot prices change with spare capacity; not estimated")
        return on_arm(scope) if arm(scope) else on_x86(scope)

    return price


RULES: list[ResourceRule | Free] = [
    ResourceRule(
        "aws_eks_cluster",
        [
            Component(
                "EKS cluster",
                "hours",
                HOURS,
                unit_price("eks", "cluster_hour"),
                when=lambda scope: not extended_support(scope),
            ),
            Component(
                "EKS cluster (extended support)",
                "hours",
                HOURS,
                unit_price("eks", "extended_cluster_hour"),
                when=extended_support,
            ),
        ],
    ),  # fmt: skip
    ResourceRule(
        "aws_eks_node_group",
        [
            *fleet_components(node_instance, on_demand_nodes, spot_node_count, node_template_missing),
            *(
                times(node_count, within(node_disk, c))
                for c in ec2.volume_components("volume_size", DEFAULT_NODE_DISK_GB)
            ),
        ],
        blocks=template_volumes(NODE_TEMPLATE_PATHS, node_count),
        usage=[INSTANCES_USAGE, *ec2.RESERVED_USAGE, *ec2.CPU_CREDIT_USAGE, ec2.STANDARD_IO_USAGE],
    ),  # fmt: skip
    ResourceRule(
        "aws_ecs_service",
        [
            Component(
                "Per vCPU per hour",
                "vCPU-hours",
                task_hours("cpu", 1024, "vcpu"),
                fargate_price("vcpu_hour", "vcpu_hour_arm"),
                when=on_fargate,
            ),
            Component(
                "Per GB per hour",
                "GB-hours",
                task_hours("memory", 1024, "gb"),
                fargate_price("gb_hour", "gb_hour_arm"),
                when=on_fargate,
            ),
        ],
    ),  # fmt: skip
    Free("aws_eks_addon", "the add-on's software is free; what it runs on is priced"),
    Free("aws_eks_identity_provider_config"),
    Free("aws_eks_access_entry"),
    Free("aws_ecs_cluster", "free; its services' tasks and instances are priced"),
    Free("aws_ecs_task_definition", "priced where it runs (an ECS service)"),
    Free("aws_ecs_task_set", "priced with its service"),
    Free("aws_ecs_cluster_capacity_providers"),
    Free("aws_ecs_capacity_provider"),
]
