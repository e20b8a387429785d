"""Auto Scaling groups: the instances a group runs, priced as EC2 instances (`ec2.py`) with their volumes, times
the group's size.

A group launches from a launch configuration, a launch template, or a mixed instances policy's template; the
estimator links the one it references (`outlay.iac.links`), so the rule reads the template's attributes under the
group's path to it (`launch_configuration.instance_type`). The helpers here (`within`, `times`,
`fleet_components`, `template_volumes`) are shared with EKS node groups (`containers.py`).

The group's size: the usage file's `instances`, else `desired_capacity`, else `min_size` — and one instance when
neither sets any: a group whose size is left to its scaling policies runs at least one instance while it does any
work, and pricing it at zero would hide it. An explicit `desired_capacity = 0` is zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from outlay.iac.links import linked
from outlay.iac.rules import ec2
from outlay.iac.rules.spec import (
    HOURS,
    Block,
    Component,
    Count,
    Free,
    ResourceRule,
    RuleError,
    Scope,
    Select,
    UsageKey,
    as_number,
    only_if,
    times,
    within,
)
from outlay.pricing.catalogue import UnknownPrice

LAUNCH_CONFIGURATION = "launch_configuration"
MIXED_TEMPLATE_PATHS = (
    "mixed_instances_policy.launch_template.launch_template_specification.launch_template_id",
    "mixed_instances_policy.launch_template.launch_template_specification.launch_template_name",
)
INSTANCES_USAGE = UsageKey("instances", "instances the group runs on average (default: its desired capacity)")


def spot_label(scope: Scope) -> str:
    return f"Instance usage (Linux/UNIX, spot, {scope.attr('instance_type')})"


def spot_price(scope: Scope) -> Decimal:
    raise UnknownPrice("spot prices change with supply and demand; not estimated")


def fleet_components(instance: Select, on_demand: Count, spot: Count, check: Callable[[Scope], bool]) -> list[
    Component
]:  # fmt: skip
    """The instances a group launches: `instance` picks their attributes, `on_demand` and `spot` count them;
    `check` raises a RuleError (a problem naming the group) when the group's template is not in the input."""
    hours, monitoring, credits, ebs = ec2.instance_components()
    spot_hours = Component(spot_label, "hours", HOURS, spot_price)

    def everyone(scope: Scope) -> Decimal:
        return on_demand(scope) + spot(scope)

    return [
        Component("Instance usage", "hours", HOURS, hours.price, when=check),  # never listed: only checks
        times(on_demand, within(instance, hours)),
        times(spot, within(instance, spot_hours)),
        *(times(everyone, within(instance, c)) for c in (monitoring, credits, ebs)),
    ]


def template_volumes(paths: Sequence[str], count: Count) -> list[Block]:
    """The volumes of the launch template linked at any of `paths`, each for `count` instances."""
    volumes = [times(count, within(ec2.template_block_devices, c)) for c in ec2.volume_components("volume_size", None)]
    return [Block("block_device_mapping[{i}]", f"{path}.block_device_mappings", volumes) for path in paths]


# --- Auto Scaling groups -----------------------------------------------------------------------------------


def mixed_policy(scope: Scope) -> Mapping[str, Any]:
    return ec2.first(scope.resource.attributes.get("mixed_instances_policy"))


def first_override(scope: Scope) -> Mapping[str, Any]:
    """The first instance type override: on-demand capacity is launched in override order (prioritized)."""
    return ec2.first(ec2.first(mixed_policy(scope).get("launch_template")).get("override"))


def group_capacity(scope: Scope) -> Decimal:
    """The capacity the group runs, in its units (instances, or the overrides' weights)."""
    attributes = scope.resource.attributes
    desired = as_number(attributes.get("desired_capacity"), "desired_capacity")
    if desired is not None:
        return desired
    return max(as_number(attributes.get("min_size"), "min_size") or Decimal(0), Decimal(1))


def instances_for(scope: Scope, capacity: Decimal) -> Decimal:
    weight = as_number(first_override(scope).get("weighted_capacity"), "weighted_capacity") or Decimal(1)
    return Decimal(math.ceil(capacity / weight))


def on_demand_instances(scope: Scope) -> Decimal:
    """Instances bought on demand: all of them, unless a mixed instances policy puts a share on spot."""
    used = scope.used("instances")
    if used is not None:
        return used
    capacity = group_capacity(scope)
    distribution = ec2.first(mixed_policy(scope).get("instances_distribution"))
    base = as_number(distribution.get("on_demand_base_capacity"), "on_demand_base_capacity") or Decimal(0)
    share = as_number(
        distribution.get("on_demand_percentage_above_base_capacity"), "on_demand_percentage_above_base_capacity"
    )
    share = Decimal(100) if share is None else share
    on_demand = min(base, capacity) + max(Decimal(0), capacity - base) * share / 100
    return instances_for(scope, on_demand)


def spot_instances(scope: Scope) -> Decimal:
    if scope.used("instances") is not None:
        return Decimal(0)
    return max(Decimal(0), instances_for(scope, group_capacity(scope)) - on_demand_instances(scope))


def all_instances(scope: Scope) -> Decimal:
    return on_demand_instances(scope) + spot_instances(scope)


def group_instance(scope: Scope) -> Mapping[str, Any] | None:
    attributes = scope.resource.attributes
    config = linked(attributes, LAUNCH_CONFIGURATION)
    if config is not None:
        return ec2.configuration_instance(config)
    template = ec2.linked_template(attributes, ec2.LAUNCH_TEMPLATE_PATHS)
    if template is not None:
        return ec2.template_instance(template)
    template = ec2.linked_template(attributes, MIXED_TEMPLATE_PATHS)
    if template is not None:
        return ec2.template_instance(template, first_override(scope).get("instance_type"))
    return None


def group_template_missing(scope: Scope) -> bool:
    """Raises when the group launches instances from a configuration or template the input does not have."""
    if group_instance(scope) is None and all_instances(scope) > 0:
        raise RuleError("its launch configuration or launch template is not in the input: instances not priced")
    return False


def has_configuration(scope: Scope) -> bool:
    return linked(scope.resource.attributes, LAUNCH_CONFIGURATION) is not None


def configuration_volumes() -> list[Block]:
    """A launch configuration's root volume (8 GB unless set) and EBS volumes, for every instance."""
    root = [only_if(has_configuration, times(all_instances, c))
            for c in ec2.volume_components("volume_size", ec2.DEFAULT_ROOT_GB)]  # fmt: skip
    data = [times(all_instances, c) for c in ec2.volume_components("volume_size", None)]
    return [
        Block("root_block_device", f"{LAUNCH_CONFIGURATION}.root_block_device", root, default={}),
        Block("ebs_block_device[{i}]", f"{LAUNCH_CONFIGURATION}.ebs_block_device", data),
    ]


GROUP_USAGE = [INSTANCES_USAGE, *ec2.RESERVED_USAGE, *ec2.CPU_CREDIT_USAGE, ec2.STANDARD_IO_USAGE]

RULES: list[ResourceRule | Free] = [
    ResourceRule(
        "aws_autoscaling_group",
        fleet_components(group_instance, on_demand_instances, spot_instances, group_template_missing),
        blocks=[
            *configuration_volumes(),
            *template_volumes(ec2.LAUNCH_TEMPLATE_PATHS + MIXED_TEMPLATE_PATHS, all_instances),
        ],  # fmt: skip
        usage=GROUP_USAGE,
    ),
    Free("aws_autoscaling_policy"),
    Free("aws_autoscaling_schedule"),
    Free("aws_autoscaling_attachment"),
    Free("aws_autoscaling_lifecycle_hook"),
    Free("aws_autoscaling_notification"),
]
