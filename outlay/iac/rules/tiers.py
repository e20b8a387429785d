"""Two shapes the rule vocabulary (`spec.py`) has no word for, shared by the usage-priced services.

Tiered prices: AWS prices much usage by monthly volume tiers ("first 10 TB at $0.09, next 40 TB at $0.085, ...").
`tiered` turns one monthly quantity into one component per tier, each priced from its own share, so an estimate
shows what each tier costs: `tiered("Duration", "GB-seconds", gb_seconds, LAMBDA_TIERS, price)`.

Usage headings: a sub-heading priced from usage alone (an S3 storage class, a CloudFront edge-location group),
which no nested block of the resource declares. `usage_block` is a `Block` read from an attribute no resource has,
so it always stands in with its default; it is listed only when one of its components applies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from outlay.iac.rules.spec import Block, Component, Condition, Quantity, Scope

GB_PER_TB = 1024
GB_PER_PB = 1024 * GB_PER_TB
NO_ATTRIBUTE = ""  # no Terraform attribute has an empty name: a block read from it is always its default


@dataclass(frozen=True)
class Tier:
    label: str  # "first 10TB", "next 40TB", "over 150TB": how the estimate names it
    size: Decimal | None  # how much of the month's quantity falls in it; None: all the rest


def tier_list(*tiers: tuple[str, int | str | None]) -> tuple[Tier, ...]:
    """`tier_list(("first 6B", 6 * 10**9), ("over 6B", None))`: sizes as numbers, the last one None."""
    return tuple(Tier(label, None if size is None else Decimal(size)) for label, size in tiers)


def share(total: Decimal, tiers: Sequence[Tier], index: int) -> Decimal:
    """The part of `total` that falls in tier `index` (tiers fill in order)."""
    start = sum((tier.size or Decimal(0) for tier in tiers[:index]), Decimal(0))
    above = max(Decimal(0), total - start)
    size = tiers[index].size
    return above if size is None else min(above, size)


TierPrice = Callable[[Scope, int], Decimal]  # the unit price of tier `index` where `scope` is


def tiered(
    name: str, unit: str, total: Quantity, tiers: Sequence[Tier], price: TierPrice,
    when: Condition = lambda scope: True, usage_based: bool = True,
) -> list[Component]:  # fmt: skip
    """One component per tier, named `"{name} ({tier label})"`. The first tier is always listed (its cost depends
    on usage until the usage is known); the others only when the month's quantity reaches them."""
    return [_tier_component(name, unit, total, tiers, i, price, when, usage_based) for i in range(len(tiers))]


def _tier_component(
    name: str, unit: str, total: Quantity, tiers: Sequence[Tier], index: int, price: TierPrice, when: Condition,
    usage_based: bool,
) -> Component:  # fmt: skip
    def quantity(scope: Scope) -> Decimal | None:
        amount = total(scope)
        return None if amount is None else share(amount, tiers, index)

    def reached(scope: Scope) -> bool:
        if not when(scope):
            return False
        if index == 0:
            return True
        amount = quantity(scope)
        return amount is not None and amount > 0

    return Component(f"{name} ({tiers[index].label})", unit, quantity, lambda scope: price(scope, index),
                     when=reached, usage_based=usage_based)  # fmt: skip


def usage_block(label: str, components: Sequence[Component], values: dict[str, str] | None = None) -> Block:
    """A sub-heading priced from usage: its components read `values` as their attributes (the storage class or
    edge location they price) and the resource's usage as usual."""
    return Block(label, NO_ATTRIBUTE, components, default=values or {})


def any_used(*keys: str) -> Condition:
    """Some of these usage values are given."""
    return lambda scope: any(scope.usage.get(key) is not None for key in keys)
