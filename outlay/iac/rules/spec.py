"""The vocabulary price rules are written in: a rule is a resource type and its cost components, each component a
name, a unit, a monthly quantity and a unit price, read from the resource's attributes or its usage values.

Rules are data (see `ec2.py` for the shape); the helpers here build the small functions they hold, so that a rule
reads like a row of a table: `Component("NAT gateway", "hours", HOURS, unit_price("nat_gateway", "hour"))`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from outlay.iac.resources import Resource
from outlay.pricing.catalogue import HOURS_PER_MONTH, PriceCatalogue


class RuleError(ValueError):
    """An attribute or usage value a rule needs is unusable (not a number, an unknown option): names the key."""


@dataclass(frozen=True)
class Scope:
    """What a component reads: one resource, or one nested block of it (`attributes` is then the block's), its
    usage values, its region, and the catalogue to price it with."""

    resource: Resource
    attributes: Mapping[str, Any]
    usage: Mapping[str, Any]
    region: str
    catalogue: PriceCatalogue

    def attr(self, key: str, default: Any = None) -> Any:
        value = self.attributes.get(key)
        return default if value is None else value

    def block(self, key: str) -> Mapping[str, Any]:
        """The first `key` nested block (Terraform keeps single blocks as one-element lists), or an empty one."""
        value = self.attributes.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        return value if isinstance(value, Mapping) else {}

    def number(self, key: str, default: Decimal | int | None = None) -> Decimal | None:
        return _number(self.attr(key), key, default)

    def used(self, key: str) -> Decimal | None:
        """A usage value from the usage file; None when it was not given (the cost then depends on usage)."""
        return _number(self.usage.get(key), key, None)


MAX_QUANTITY = Decimal("1e15")  # more than any month of any AWS resource: a larger number is a typo


def _number(value: Any, key: str, default: Decimal | int | None) -> Decimal | None:
    """A non-negative, finite number (a quantity or size); anything else is a RuleError naming `key`."""
    if value is None or value == "":
        return None if default is None else Decimal(default)
    if isinstance(value, bool):
        raise RuleError(f"{key}: expected a number, got {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise RuleError(f"{key}: expected a number, got {value!r}") from None
    if not number.is_finite() or number < 0 or number > MAX_QUANTITY:
        raise RuleError(f"{key}: expected a number from 0 to {MAX_QUANTITY:,.0f}, got {value!r}")
    return number


def as_number(value: Any, key: str) -> Decimal | None:
    """A number from another resource's attributes, checked as the resource's own would be."""
    return _number(value, key, None)


Quantity = Callable[[Scope], Decimal | None]  # monthly quantity; None: depends on usage not given
Price = Callable[[Scope], Decimal]  # USD per unit; raises UnknownPrice when the catalogue lacks it
Condition = Callable[[Scope], bool]
Label = str | Callable[[Scope], str]


@dataclass(frozen=True)
class UsageKey:
    """A usage-file key a resource type reads, documented where the rule is written."""

    name: str
    description: str


@dataclass(frozen=True)
class Component:
    name: Label
    unit: str
    quantity: Quantity
    price: Price
    when: Condition = lambda scope: True
    usage_based: bool = False  # priced from the usage file rather than from attributes

    def label(self, scope: Scope) -> str:
        return self.name if isinstance(self.name, str) else self.name(scope)


@dataclass(frozen=True)
class Block:
    """Components priced once per nested block (`ebs_block_device`), listed under a sub-heading; `default` stands
    in when the resource has no such block (an instance always has a root volume)."""

    label: str  # "root_block_device", or "ebs_block_device[{i}]" for repeated blocks
    attribute: str
    components: Sequence[Component]
    default: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ResourceRule:
    resource_type: str
    components: Sequence[Component]
    blocks: Sequence[Block] = ()
    usage: Sequence[UsageKey] = ()
    # Declared by the usage file alone (no plan has it): `aws_data_transfer.<name>` for traffic no resource owns.
    from_usage: bool = False


@dataclass(frozen=True)
class Free:
    """A resource type with no cost of its own (a VPC, a security group, an IAM role). `usage`: keys it takes
    for the resource it affects (an autoscaling target's capacity is priced on the table it scales)."""

    resource_type: str
    why: str = ""
    usage: Sequence[UsageKey] = ()


@dataclass
class RuleBook:
    priced: dict[str, ResourceRule] = field(default_factory=dict)
    free: dict[str, Free] = field(default_factory=dict)

    def add(self, *entries: ResourceRule | Free) -> None:
        for entry in entries:
            if entry.resource_type in self.priced or entry.resource_type in self.free:
                raise ValueError(f"two rules for {entry.resource_type}")
            if isinstance(entry, Free):
                self.free[entry.resource_type] = entry
            else:
                self.priced[entry.resource_type] = entry

    def usage_only_types(self) -> set[str]:
        return {name for name, rule in self.priced.items() if rule.from_usage}

    def usage_keys(self) -> dict[str, set[str]]:
        """The usage-file keys each priced type reads."""
        keys = {name: {key.name for key in rule.usage} for name, rule in self.priced.items()}
        keys.update({name: {key.name for key in free.usage} for name, free in self.free.items() if free.usage})
        return keys


# --- quantities --------------------------------------------------------------------------------------------


def per_month(amount: Decimal | int = HOURS_PER_MONTH) -> Quantity:
    """A fixed monthly quantity (by default the month's 730 hours)."""
    value = Decimal(amount)
    return lambda scope: value


HOURS = per_month()


def attribute(key: str, default: Decimal | int | None = None, scale: Decimal | int = 1) -> Quantity:
    """The quantity is an attribute (`volume_size` GB), times `scale`."""
    factor = Decimal(scale)

    def quantity(scope: Scope) -> Decimal | None:
        value = scope.number(key, default)
        return None if value is None else value * factor

    return quantity


def usage(key: str, scale: Decimal | int = 1) -> Quantity:
    """The quantity is a usage value (`monthly_requests`), times `scale`; unknown until the usage file says."""
    factor = Decimal(scale)

    def quantity(scope: Scope) -> Decimal | None:
        value = scope.used(key)
        return None if value is None else value * factor

    return quantity


def usage_or(key: str, default: Decimal | int) -> Quantity:
    """A usage value, or `default` when the usage file does not give it (an instance runs all month)."""
    fallback = Decimal(default)
    return lambda scope: scope.used(key) if scope.used(key) is not None else fallback


# --- prices ------------------------------------------------------------------------------------------------


def unit_price(service: str, component: str) -> Price:
    """A usage-priced component's unit price from the catalogue's `unit_prices.csv`."""
    return lambda scope: scope.catalogue.unit_price(service, component, scope.region).amount


def fixed(amount: str) -> Price:
    """A price written in the rule itself (a fee that has no catalogue row); the rule names its source."""
    value = Decimal(amount)
    return lambda scope: value


def has(key: str) -> Condition:
    """The attribute is set and truthy."""
    return lambda scope: bool(scope.attr(key))


def is_one_of(key: str, values: Sequence[str], default: str | None = None) -> Condition:
    return lambda scope: str(scope.attr(key, default)) in values


# --- combinators: a component read another way -------------------------------------------------------------

Select = Callable[[Scope], Mapping[str, Any] | None]  # the attributes a component reads instead of its scope's
Count = Callable[[Scope], Decimal]


def within(select: Select, component: Component) -> Component:
    """`component` read from the attributes `select` picks (a launch template, a volume's `ebs` block); it does
    not apply where `select` finds none."""

    last: list[Any] = [None, None]  # the scope last asked about and its view: one component asks four times

    def view(scope: Scope) -> Mapping[str, Any] | None:
        if last[0] is not scope:
            last[0], last[1] = scope, select(scope)
        return last[1]  # type: ignore[no-any-return]

    def inner(scope: Scope) -> Scope:
        return replace(scope, attributes=view(scope) or {})

    name = component.name if isinstance(component.name, str) else (lambda scope: component.label(inner(scope)))
    return Component(
        name,
        component.unit,
        lambda scope: component.quantity(inner(scope)),
        lambda scope: component.price(inner(scope)),
        when=lambda scope: view(scope) is not None and component.when(inner(scope)),
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
