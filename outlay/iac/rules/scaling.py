"""Application Auto Scaling: a target costs nothing itself, but sets the capacity of what it scales (a DynamoDB
table's WCU and RCU, an ElastiCache group's shards and replicas). `links.scaled` joins a target to that resource by
its `resource_id`; the scaled resource's rule reads the capacity here: the usage file's `capacity` for the target
(what it runs at on average), else its `min_capacity` (what it never goes below).
"""

from __future__ import annotations

from decimal import Decimal

from outlay.iac.links import referenced_by
from outlay.iac.rules.spec import Condition, Free, ResourceRule, Scope, UsageKey, as_number

TARGET = "aws_appautoscaling_target"


def scaled_capacity(scope: Scope, dimension: str) -> Decimal | None:
    """The capacity the resource's scaling target for `dimension` keeps; None when nothing scales it."""
    for target in referenced_by(scope.resource.attributes, TARGET):
        if target.get("scalable_dimension") == dimension:
            used = (target.get("@usage") or {}).get("capacity")
            return as_number(used if used is not None else target.get("min_capacity"), f"{TARGET}.capacity")
    return None


def is_scaled(dimension: str) -> Condition:
    return lambda scope: scaled_capacity(scope, dimension) is not None


RULES: list[ResourceRule | Free] = [
    Free(
        TARGET,
        "its capacity is priced on the resource it scales",
        usage=[UsageKey("capacity", "the capacity it keeps on average (default: its min_capacity)")],
    ),  # fmt: skip
    Free("aws_appautoscaling_policy"),
]
