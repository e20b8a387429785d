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
from dataclasses import replace
from decimal import Decimal
from typing import Any

from outlay.iac.links import linked
from outlay.iac.rules import ec2
from outlay.iac.rules.spec import (
    HOURS,
    Block,
    Component,
    Free,
    Price,
    ResourceRule,
    RuleError,
    Scope,
    UsageKey,
)
from outlay.pricing.catalogue import UnknownPrice

Select = Callable[[Scope], Mapping[str, Any] | None]  # the attributes a component reads instead of its scope's
Count = Callable[[Scope], Decimal]

LAUNCH_CONFIGURATION = "launch_configuration"
LAUNCH_TEMPLATE_PATHS = ("launch_template.id", "launch_template.name")
MIXED_TEMPLATE_PATHS = (
    "mixed_instances_policy.launch_template.launch_template_specification.launch_template_id",
    "mixed_instances_policy.launch_template.launch_template_specification.launch_template_name",
)
# Families where EBS optimization is an option with an hourly fee (previous generation); the others are
# EBS-optimized by default at no charge, or (t1, t2) cannot be. AWS: ec2/previous-generation, EBS-optimized.
EBS_OPTIMIZED_FOR_A_FEE = ("c1", "c3", "g2", "i2", "m1", "m2", "m3", "r3")
NOT_EBS_OPTIMIZABLE = ("t1", "t2")

INSTANCES_USAGE = UsageKey("instances", "instances the group runs on average (default: its desired capacity)")


# --- component combinators ---------------------------------------------------------------------------------


def within(select: Select, component: Component) -> Component:
    """`component` read from the attributes `select` picks (a launch template, a volume's `ebs` block); it does
    not apply where `select` finds none."""

    def inner(scope: Scope) -> Scope:
        return replace(scope, attributes=select(scope) or {})

    name = component.name if isinstance(component.name, str) else (lambda scope: component.label(inner(scope)))
    return Component(
        name,
        component.unit,
        lambda scope: component.quantity(inner(scope)),
        lambda scope: component.price(inner(scope)),
        when=lambda scope: select(scope) is not None and component.when(inner(scope)),
        usage_based=component.usage_based,
    )


def times(count: Count, component: Component) -> Component:
    """`component` for each of `count` instances (its monthly quantity multiplied); not listed without any."""

    def quantity(scope: Scope) -> Decimal | None:
        one = component.quantity(scope)
        return None if one is None else one * count(scope)

    return replace(component, quantity=quantity, when=lambda scope: count(scope) > 0 and component.when(scope))


def only_if(condition: Callable[[Scope], bool], component: Component) -> Component:
    return replace(component, when=lambda scope: condition(scope) and component.when(scope))


# --- what a launch configuration or template launches ------------------------------------------------------


def truthy(value: Any) -> bool:
    """Launch templates keep some flags as strings ("true", "false", "")."""
    return value.lower() == "true" if isinstance(value, str) else bool(value)


def first(value: Any) -> Mapping[str, Any]:
    """The first of a nested block list (or the block itself), or an empty one."""
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, Mapping) else {}


def configuration_instance(config: Mapping[str, Any]) -> dict[str, Any]:
    """A launch configuration as the instance attributes `ec2.instance_components` reads (detailed monitoring
    is on unless `enable_monitoring = false`)."""
    return {
        "instance_type": config.get("instance_type"),
        "monitoring": truthy(config.get("enable_monitoring", True)),
        "credit_specification": config.get("credit_specification"),
        "ebs_optimized": truthy(config.get("ebs_optimized")),
        "tenancy": config.get("placement_tenancy") or "default",
    }


def template_instance(template: Mapping[str, Any], instance_type: Any = None) -> dict[str, Any]:
    """A launch template as instance attributes; `instance_type` overrides the template's (a mixed instances
    override, a node group's `instance_types`)."""
    return {
        "instance_type": instance_type or template.get("instance_type"),
        "monitoring": truthy(first(template.get("monitoring")).get("enabled")),
        "credit_specification": template.get("credit_specification"),
        "ebs_optimized": truthy(template.get("ebs_optimized")),
        "tenancy": first(template.get("placement")).get("tenancy") or "default",
    }


def linked_template(attributes: Mapping[str, Any], paths: Sequence[str]) -> Mapping[str, Any] | None:
    for path in paths:
        found = linked(attributes, path)
        if found is not None:
            return found
    return None


def tenancy_priced(price: Price) -> Price:
    """Shared tenancy's hourly price; dedicated instances' rates are not in the catalogue yet."""

    def priced(scope: Scope) -> Decimal:
        tenancy = scope.attr("tenancy", "default")
        if tenancy != "default":
            raise UnknownPrice(f"no {tenancy}-tenancy price for {scope.attr('instance_type')} yet")
        return price(scope)

    return priced


def on_a_host(scope: Scope) -> bool:
    """Instances on a Dedicated Host cost nothing by the hour: the host is billed (as its own resource)."""
    return scope.attr("tenancy") == "host"


def ebs_optimized_price(scope: Scope) -> Decimal:
    if ec2.family(scope) in EBS_OPTIMIZED_FOR_A_FEE:
        raise UnknownPrice(f"no EBS-optimized fee for {scope.attr('instance_type')} yet")
    return Decimal(0)  # EBS-optimized by default: no extra charge


def ebs_optimized(scope: Scope) -> bool:
    return truthy(scope.attr("ebs_optimized")) and ec2.family(scope) not in NOT_EBS_OPTIMIZABLE


def spot_label(scope: Scope) -> str:
    return f"Instance usage (Linux/UNIX, spot, {scope.attr('instance_type')})"


def spot_price(scope: Scope) -> Decimal:
    raise UnknownPrice("spot prices change with supply and demand; not estimated")


def fleet_components(instance: Select, on_demand: Count, spot: Count, check: Callable[[Scope], bool]) -> list[
    Component
]:  # fmt: skip
    """The instances a group launches: `instance` picks their attributes, `on_demand` and `spot` count them;
    `check` raises a RuleError (a problem naming the group) when the group's template is not in the input."""
    hours, monitoring, credits = ec2.instance_components()
    shared_hours = only_if(lambda scope: not on_a_host(scope), replace(hours, price=tenancy_priced(hours.price)))
    ebs = Component("EBS-optimized usage", "hours", HOURS, ebs_optimized_price, when=ebs_optimized)
    spot_hours = Component(spot_label, "hours", HOURS, spot_price)

    def everyone(scope: Scope) -> Decimal:
        return on_demand(scope) + spot(scope)

    return [
        Component("Instance usage", "hours", HOURS, hours.price, when=check),  # never listed: only checks
        times(on_demand, within(instance, shared_hours)),
        times(spot, within(instance, spot_hours)),
        *(times(everyone, within(instance, c)) for c in (monitoring, credits, ebs)),
    ]


def ebs_of(scope: Scope) -> Mapping[str, Any]:
    """A launch template's block device mapping keeps its volume in an `ebs` block."""
    return scope.block("ebs")


def template_volumes(paths: Sequence[str], count: Count) -> list[Block]:
    """The volumes of the launch template linked at any of `paths`, each for `count` instances."""
    volumes = [times(count, within(ebs_of, c)) for c in ec2.volume_components("volume_size", None)]
    return [Block("block_device_mapping[{i}]", f"{path}.block_device_mappings", volumes) for path in paths]


# --- Auto Scaling groups -----------------------------------------------------------------------------------


def mixed_policy(scope: Scope) -> Mapping[str, Any]:
    return first(scope.resource.attributes.get("mixed_instances_policy"))


def first_override(scope: Scope) -> Mapping[str, Any]:
    """The first instance type override: on-demand capacity is launched in override order (prioritized)."""
    return first(first(mixed_policy(scope).get("launch_template")).get("override"))


def group_capacity(scope: Scope) -> Decimal:
    """The capacity the group runs, in its units (instances, or the overrides' weights)."""
    attributes = scope.resource.attributes
    desired = number_in(attributes, "desired_capacity")
    if desired is not None:
        return desired
    return max(number_in(attributes, "min_size") or Decimal(0), Decimal(1))


def number_in(attributes: Mapping[str, Any], key: str) -> Decimal | None:
    value = attributes.get(key)
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise RuleError(f"{key}: expected a number, got {value!r}") from None


def instances_for(scope: Scope, capacity: Decimal) -> Decimal:
    weight = number_in(first_override(scope), "weighted_capacity") or Decimal(1)
    return Decimal(math.ceil(capacity / weight))


def on_demand_instances(scope: Scope) -> Decimal:
    """Instances bought on demand: all of them, unless a mixed instances policy puts a share on spot."""
    used = scope.used("instances")
    if used is not None:
        return used
    capacity = group_capacity(scope)
    distribution = first(mixed_policy(scope).get("instances_distribution"))
    base = number_in(distribution, "on_demand_base_capacity") or Decimal(0)
    share = number_in(distribution, "on_demand_percentage_above_base_capacity")
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
        return configuration_instance(config)
    template = linked_template(attributes, LAUNCH_TEMPLATE_PATHS)
    if template is not None:
        return template_instance(template)
    template = linked_template(attributes, MIXED_TEMPLATE_PATHS)
    if template is not None:
        return template_instance(template, first_override(scope).get("instance_type"))
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
            *template_volumes(LAUNCH_TEMPLATE_PATHS + MIXED_TEMPLATE_PATHS, all_instances),
        ],  # fmt: skip
        usage=GROUP_USAGE,
    ),
    Free("aws_autoscaling_policy"),
    Free("aws_autoscaling_schedule"),
    Free("aws_autoscaling_attachment"),
    Free("aws_autoscaling_lifecycle_hook"),
    Free("aws_autoscaling_notification"),
]
