"""An estimate: each resource's monthly cost components, and the resources that are free or not supported.

`Estimate.to_json` is the documented JSON schema (docs/iac.md): money as decimal strings with the exactness of
the price (never floats), quantities likewise, `null` where a cost depends on usage not given.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from outlay.iac.resources import Problem

SCHEMA_VERSION = "1"
CENT = Decimal("0.01")
Status = Literal["priced", "free", "unsupported"]


def text(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


@dataclass(frozen=True)
class CostComponent:
    name: str
    unit: str
    monthly_quantity: Decimal | None  # None: depends on usage the usage file does not give
    unit_price: Decimal | None  # None: the catalogue has no price (the problem says which)
    usage_based: bool = False

    @property
    def monthly_cost(self) -> Decimal | None:
        if self.monthly_quantity is None or self.unit_price is None:
            return None
        return self.monthly_quantity * self.unit_price

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "monthly_quantity": text(self.monthly_quantity),
            "unit_price": text(self.unit_price),
            "monthly_cost": text(self.monthly_cost),
            "usage_based": self.usage_based,
        }


@dataclass(frozen=True)
class SubResource:
    """A nested block priced on its own (`root_block_device`, `ebs_block_device[0]`)."""

    name: str
    components: list[CostComponent]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "components": [c.to_json() for c in self.components]}


@dataclass(frozen=True)
class PricedResource:
    address: str
    type: str
    status: Status
    module: tuple[str, ...] = ()
    region: str | None = None
    action: str = "create"
    components: list[CostComponent] = field(default_factory=list)
    subresources: list[SubResource] = field(default_factory=list)
    note: str = ""  # why a resource is free or unsupported

    def name_in_module(self) -> str:
        """The address without its module path (`aws_db_instance.this[0]`)."""
        return self.address.removeprefix(self.module[-1] + ".") if self.module else self.address

    def all_components(self) -> Iterator[CostComponent]:
        yield from self.components
        for sub in self.subresources:
            yield from sub.components

    @property
    def monthly_cost(self) -> Decimal:
        return sum((c.monthly_cost for c in self.all_components() if c.monthly_cost is not None), Decimal(0))

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "type": self.type,
            "status": self.status,
            "module": self.module[-1] if self.module else None,
            "region": self.region,
            "action": self.action,
            "monthly_cost": text(self.monthly_cost),
            "components": [c.to_json() for c in self.components],
            "subresources": [s.to_json() for s in self.subresources],
            "note": self.note or None,
        }


@dataclass(frozen=True)
class Estimate:
    resources: list[PricedResource]
    problems: list[Problem] = field(default_factory=list)
    source: str = ""
    currency: str = "USD"

    def of_status(self, status: Status) -> list[PricedResource]:
        return [r for r in self.resources if r.status == status]

    @property
    def monthly_cost(self) -> Decimal:
        return sum((r.monthly_cost for r in self.resources), Decimal(0))

    def unpriced(self) -> list[str]:
        """Addresses whose cost is at least partly unknown for want of a price (not for want of usage)."""
        return sorted({p.address for p in self.problems if p.kind == "price"})

    def to_json(self) -> dict[str, Any]:
        priced = self.of_status("priced")
        return {
            "schema_version": SCHEMA_VERSION,
            "source": self.source,
            "currency": self.currency,
            "monthly_cost": text(self.monthly_cost),
            "summary": {
                "resources": len(self.resources),
                "priced": len(priced),
                "free": len(self.of_status("free")),
                "unsupported": len(self.of_status("unsupported")),
                "usage_based_unknown": sum(1 for r in priced for c in r.all_components() if c.monthly_quantity is None),
            },
            "resources": [r.to_json() for r in self.resources],
            "problems": [{"address": p.address, "message": p.message} for p in self.problems],
        }


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT)


def module_tree(resources: Iterable[PricedResource]) -> dict[str, list[PricedResource]]:
    """Resources grouped by their innermost module ("" for the root), in first-seen order."""
    tree: dict[str, list[PricedResource]] = {}
    for resource in resources:
        tree.setdefault(resource.module[-1] if resource.module else "", []).append(resource)
    return tree
