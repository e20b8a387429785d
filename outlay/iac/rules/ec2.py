"""EC2: instances (with their volumes, detailed monitoring and CPU credits), EBS volumes and snapshots, Elastic IPs.

Prices: instance hours from the catalogue's EC2 table, storage from its EBS table, the rest from `unit_prices.csv`
(each row names its AWS pricing page).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from outlay.iac.links import linked
from outlay.iac.rules.spec import (
    HOURS,
    Block,
    Component,
    Condition,
    Free,
    Price,
    Quantity,
    ResourceRule,
    RuleError,
    Scope,
    UsageKey,
    attribute,
    per_month,
    unit_price,
    usage,
    usage_or,
    within,
)
from outlay.pricing.catalogue import HOURS_PER_MONTH, UnknownPrice

# EBS volume types as the estimate names them (the names of AWS's pricing page).
VOLUME_NAMES = {
    "gp2": "general purpose SSD, gp2",
    "gp3": "general purpose SSD, gp3",
    "io1": "provisioned IOPS SSD, io1",
    "io2": "provisioned IOPS SSD, io2",
    "st1": "throughput optimized HDD, st1",
    "sc1": "cold HDD, sc1",
}
DEFAULT_VOLUME_TYPE = "gp2"  # what AWS gives a volume whose type is not set
DEFAULT_ROOT_GB = 8  # a root volume whose size is not set: the usual AMI's snapshot size
# Burstable families whose CPU credits are billed in unlimited mode (T2 is "standard" unless set to unlimited).
BURSTABLE = ("t2", "t3", "t3a", "t4g")
UNLIMITED_BY_DEFAULT = ("t3", "t3a", "t4g")
GP3_FREE_IOPS, GP3_FREE_THROUGHPUT = 3000, 125


def volume_type(scope: Scope) -> str:
    return str(scope.attr("volume_type") or scope.attr("type") or DEFAULT_VOLUME_TYPE)


def storage_label(scope: Scope) -> str:
    kind = volume_type(scope)
    return "Storage (magnetic)" if kind == "standard" else f"Storage ({VOLUME_NAMES.get(kind, kind)})"


def ebs_gb_month(scope: Scope) -> Decimal:
    return scope.catalogue.ebs_gb_month(volume_type(scope), scope.region)


def above(key: str, free: int) -> Quantity:
    """An attribute's amount above what the volume type includes (gp3's 3,000 IOPS and 125 MiB/s)."""

    def quantity(scope: Scope) -> Decimal | None:
        value = scope.number(key)
        return None if value is None else max(Decimal(0), value - free)

    return quantity


def of_type(*kinds: str) -> Condition:
    return lambda scope: volume_type(scope) in kinds


def iops_price(scope: Scope) -> Decimal:
    return scope.catalogue.unit_price("ebs", f"{volume_type(scope)}_iops", scope.region).amount


def volume_components(size_key: str, default_size: int | None) -> list[Component]:
    """A volume's storage and what its type adds: provisioned IOPS (io1, io2, gp3 above 3,000), gp3 throughput
    above 125 MiB/s, and magnetic volumes' I/O requests (usage)."""
    return [
        Component(storage_label, "GB", attribute(size_key, default_size), ebs_gb_month),
        Component("Provisioned IOPS", "IOPS", attribute("iops"), iops_price, when=of_type("io1", "io2")),
        Component(
            "Provisioned IOPS",
            "IOPS",
            above("iops", GP3_FREE_IOPS),
            iops_price,
            when=lambda s: volume_type(s) == "gp3" and (s.number("iops") or 0) > GP3_FREE_IOPS,
        ),  # fmt: skip
        Component(
            "Provisioned throughput",
            "MBps",
            above("throughput", GP3_FREE_THROUGHPUT),
            unit_price("ebs", "gp3_throughput"),
            when=lambda s: volume_type(s) == "gp3" and (s.number("throughput") or 0) > GP3_FREE_THROUGHPUT,
        ),  # fmt: skip
        Component(
            "I/O requests",
            "1M request",
            usage("monthly_standard_io_requests", Decimal("0.000001")),
            unit_price("ebs", "standard_io_million"),
            when=of_type("standard"),
            usage_based=True,
        ),  # fmt: skip
    ]


def family(scope: Scope) -> str:
    return str(scope.attr("instance_type", "")).split(".", 1)[0]


def unlimited_credits(scope: Scope) -> bool:
    if family(scope) not in BURSTABLE:
        return False
    mode = scope.block("credit_specification").get("cpu_credits")
    return mode == "unlimited" if mode else family(scope) in UNLIMITED_BY_DEFAULT


def credit_hours(scope: Scope) -> Decimal | None:
    """vCPU-hours of surplus credits: hours above the baseline (usage) times the instance's vCPUs."""
    hours = scope.used("monthly_cpu_credit_hrs")
    if hours is None:
        return None
    vcpus = scope.used("vcpu_count")
    if vcpus is None:
        vcpus = Decimal(scope.catalogue.ec2_instance(str(scope.attr("instance_type"))).vcpu or 1)
    return hours * vcpus


RESERVED_TERMS = ("1_year", "3_year")
RESERVED_PAYMENTS = ("no_upfront", "partial_upfront", "all_upfront")


def reserved(scope: Scope) -> bool:
    return scope.usage.get("reserved_instance_type") is not None


def instance_type(scope: Scope) -> str:
    value = scope.attr("instance_type")
    if not value:
        raise RuleError("instance_type: not set (nor in a launch template the input has)")
    return str(value)


def instance_label(scope: Scope) -> str:
    purchase = "reserved" if reserved(scope) else "on-demand"
    return f"Instance usage (Linux/UNIX, {purchase}, {scope.attr('instance_type') or 'type not set'})"


def instance_hour(scope: Scope) -> Decimal:
    """On-demand, or a reservation's recurring hourly charge: nothing when paid all upfront (the upfront payment
    is not a monthly cost); other reservations' rates are not in the catalogue yet."""
    if not reserved(scope):
        return scope.catalogue.ec2_hourly(instance_type(scope), scope.region)
    kind, term = scope.usage.get("reserved_instance_type"), scope.usage.get("reserved_instance_term")
    payment = scope.usage.get("reserved_instance_payment_option")
    if kind not in ("standard", "convertible") or term not in RESERVED_TERMS or payment not in RESERVED_PAYMENTS:
        raise RuleError(f"reserved_instance_type/term/payment_option: expected standard|convertible, "
                        f"{'|'.join(RESERVED_TERMS)}, {'|'.join(RESERVED_PAYMENTS)}; got {kind}, {term}, {payment}")  # fmt: skip
    if payment == "all_upfront":
        return Decimal(0)
    raise UnknownPrice(f"no {kind} {term} {payment} reservation rate for {scope.attr('instance_type')} yet")


LAUNCH_TEMPLATE_PATHS = ("launch_template.id", "launch_template.name")
# Families where EBS optimization is an option with an hourly fee (previous generation); the others are
# EBS-optimized by default at no charge, or (t1, t2) cannot be. AWS: ec2/previous-generation, EBS-optimized.
EBS_OPTIMIZED_FOR_A_FEE = ("c1", "c3", "g2", "i2", "m1", "m2", "m3", "r3")
NOT_EBS_OPTIMIZABLE = ("t1", "t2")
# USD per hour of EBS optimization, by type (aws.amazon.com/ec2/previous-generation, "EBS-optimized instances").
EBS_OPTIMIZED_FEES = {
    "c1.xlarge": "0.05", "c3.xlarge": "0.02", "c3.2xlarge": "0.04", "c3.4xlarge": "0.08", "g2.2xlarge": "0.04",
    "i2.xlarge": "0.02", "i2.2xlarge": "0.04", "i2.4xlarge": "0.08", "m1.large": "0.025", "m1.xlarge": "0.05",
    "m2.2xlarge": "0.025", "m2.4xlarge": "0.05", "m3.xlarge": "0.02", "m3.2xlarge": "0.04", "r3.xlarge": "0.02",
    "r3.2xlarge": "0.04", "r3.4xlarge": "0.08",
}  # fmt: skip


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
    return scope.attr("tenancy") == "host" or bool(scope.attr("host_id"))


def ebs_optimized_price(scope: Scope) -> Decimal:
    """The hourly fee of a previous-generation type that is EBS-optimized on request; nothing for the types that
    are EBS-optimized by default."""
    if family(scope) not in EBS_OPTIMIZED_FOR_A_FEE:
        return Decimal(0)
    return Decimal(EBS_OPTIMIZED_FEES[str(scope.attr("instance_type"))])


def ebs_optimized(scope: Scope) -> bool:
    """Asked for, and possible: previous-generation types take it only in the sizes with a fee (m3.large cannot)."""
    if not truthy(scope.attr("ebs_optimized")) or family(scope) in NOT_EBS_OPTIMIZABLE:
        return False
    return family(scope) not in EBS_OPTIMIZED_FOR_A_FEE or str(scope.attr("instance_type")) in EBS_OPTIMIZED_FEES


def instance_components(hours: Quantity = HOURS) -> list[Component]:
    """An instance's own charges, shared by the types that launch instances (Auto Scaling groups, node groups):
    its hours (none on a Dedicated Host, which is billed as its own resource), detailed monitoring, surplus CPU
    credits and a previous generation's EBS-optimization fee."""
    return [
        Component(instance_label, "hours", hours, tenancy_priced(instance_hour), when=lambda s: not on_a_host(s)),
        Component(
            "EC2 detailed monitoring",
            "metrics",
            per_month(7),
            unit_price("cloudwatch", "metric_month"),
            when=lambda s: truthy(s.attr("monitoring")),
        ),  # fmt: skip
        Component(
            "CPU credits",
            "vCPU-hours",
            credit_hours,
            unit_price("ec2", "cpu_credit_vcpu_hour"),
            when=unlimited_credits,
            usage_based=True,
        ),  # fmt: skip
        Component("EBS-optimized usage", "hours", hours, ebs_optimized_price, when=ebs_optimized),
    ]


# USD per hour of a Dedicated Host, by family (aws.amazon.com/ec2/dedicated-hosts/pricing, US East): the
# instances on it are not billed by the hour.
HOST_HOURLY = {"mac1": "1.083", "mac2": "0.65"}


def host_family(scope: Scope) -> str:
    """A host is declared by its family (mac1) or by the instance type it holds (mac1.metal)."""
    return str(scope.attr("instance_family") or scope.attr("instance_type") or "").split(".", 1)[0]


def host_hour(scope: Scope) -> Decimal:
    family_name = host_family(scope)
    if family_name not in HOST_HOURLY:
        raise UnknownPrice(f"no Dedicated Host price for the {family_name or '(unset)'} family yet")
    return Decimal(HOST_HOURLY[family_name])


def own_or_template(scope: Scope) -> Mapping[str, Any]:
    """An instance's attributes over those of the launch template it is launched from (its own win)."""
    template = linked_template(scope.resource.attributes, LAUNCH_TEMPLATE_PATHS)
    if template is None:
        return scope.attributes
    own = {key: value for key, value in scope.attributes.items() if value not in (None, "", [])}
    return {**template_instance(template), **own}


def template_block_devices(scope: Scope) -> Mapping[str, Any]:
    """A launch template's block device mapping keeps its volume in an `ebs` block."""
    return scope.block("ebs")


RESERVED_USAGE = (
    UsageKey("reserved_instance_type", "standard or convertible: price the hours as a reservation"),
    UsageKey("reserved_instance_term", "1_year or 3_year"),
    UsageKey("reserved_instance_payment_option", "no_upfront, partial_upfront or all_upfront"),
)
CPU_CREDIT_USAGE = (
    UsageKey("monthly_cpu_credit_hrs", "hours a month a burstable instance runs above its baseline"),
    UsageKey("vcpu_count", "vCPUs those credit hours are counted on (default: the instance type's)"),
)
STANDARD_IO_USAGE = UsageKey("monthly_standard_io_requests", "I/O requests a month on magnetic volumes")

RULES: list[ResourceRule | Free] = [
    ResourceRule(
        "aws_instance",
        [within(own_or_template, c) for c in instance_components(usage_or("monthly_hrs", HOURS_PER_MONTH))],
        blocks=[
            Block(
                "root_block_device", "root_block_device", volume_components("volume_size", DEFAULT_ROOT_GB), default={}
            ),  # fmt: skip
            Block("ebs_block_device[{i}]", "ebs_block_device", volume_components("volume_size", None)),
            *(
                Block(
                    "launch_template.block_device_mappings[{i}]",
                    f"{path}.block_device_mappings",
                    [within(template_block_devices, c) for c in volume_components("volume_size", None)],
                )
                for path in LAUNCH_TEMPLATE_PATHS
            ),
        ],  # fmt: skip
        usage=[
            UsageKey("monthly_hrs", "hours a month the instance runs (default 730)"),
            *RESERVED_USAGE,
            *CPU_CREDIT_USAGE,
            STANDARD_IO_USAGE,
        ],  # fmt: skip
    ),
    ResourceRule("aws_ebs_volume", volume_components("size", None), usage=[STANDARD_IO_USAGE]),
    ResourceRule(
        "aws_ebs_snapshot",
        [
            Component(
                "EBS snapshot storage",
                "GB",
                usage("monthly_gb_stored"),
                unit_price("ebs", "snapshot_storage"),
                usage_based=True,
            )
        ],  # fmt: skip
        usage=[UsageKey("monthly_gb_stored", "GB the snapshot holds (incremental: only changed blocks)")],
    ),
    ResourceRule(
        "aws_ec2_host",
        [
            Component(
                lambda s: f"EC2 Dedicated Host (on-demand, {host_family(s)})",
                "hours",
                HOURS,
                host_hour,
            )
        ],  # fmt: skip
    ),
    ResourceRule("aws_eip", [Component("IP address (if unused)", "hours", HOURS, unit_price("ec2", "public_ipv4"))]),
    Free("aws_eip_association"),
    Free("aws_launch_template", "priced where it is used (an instance or Auto Scaling group)"),
    Free("aws_launch_configuration", "priced where it is used (an Auto Scaling group)"),
    Free("aws_key_pair"),
    Free("aws_security_group"),
    Free("aws_security_group_rule"),
    Free("aws_placement_group"),
    Free("aws_volume_attachment"),
    Free("aws_network_interface"),
]
