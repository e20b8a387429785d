"""What a change does to the monthly bill: two estimates (before and after) compared resource by resource and
component by component. Pure functions over `Estimate`s; rendered for terminals, JSON and pull-request comments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from outlay.iac.report import Estimate, PricedResource, text

Change = Literal["added", "removed", "changed", "unchanged"]


@dataclass(frozen=True)
class ComponentDelta:
    name: str  # "root_block_device / Storage (general purpose SSD, gp2)" for a nested block's component
    before: Decimal | None
    after: Decimal | None

    @property
    def delta(self) -> Decimal:
        return (self.after or Decimal(0)) - (self.before or Decimal(0))


@dataclass(frozen=True)
class ResourceDelta:
    address: str
    type: str
    before: Decimal | None  # None: the resource is not in the base
    after: Decimal | None  # None: the change removes it
    components: list[ComponentDelta] = field(default_factory=list)

    @property
    def delta(self) -> Decimal:
        return (self.after or Decimal(0)) - (self.before or Decimal(0))

    @property
    def change(self) -> Change:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed" if self.delta or any(c.delta for c in self.components) else "unchanged"

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "type": self.type,
            "change": self.change,
            "monthly_cost_before": text(self.before),
            "monthly_cost_after": text(self.after),
            "monthly_delta": text(self.delta),
            "components": [
                {"name": c.name, "before": text(c.before), "after": text(c.after), "delta": text(c.delta)}
                for c in self.components
                if c.delta
            ],
        }


@dataclass(frozen=True)
class CostDiff:
    resources: list[ResourceDelta]
    before: Decimal
    after: Decimal
    base: str = ""
    head: str = ""
    # What the head's total leaves out, "address: why": components the catalogue has no price for (or resources
    # without a region), and resources of types without a price rule.
    unpriced: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)

    @property
    def not_priced(self) -> list[str]:
        return [*self.unpriced, *self.unsupported]

    @property
    def delta(self) -> Decimal:
        return self.after - self.before

    @property
    def delta_pct(self) -> Decimal | None:
        """The change as a percentage of the base's monthly cost; None when the base costs nothing."""
        return None if not self.before else self.delta / self.before * 100

    def changed(self) -> list[ResourceDelta]:
        return sorted((r for r in self.resources if r.change != "unchanged"), key=lambda r: -abs(r.delta))

    def to_json(self) -> dict[str, Any]:
        pct = self.delta_pct
        return {
            "base": self.base,
            "head": self.head,
            "currency": "USD",
            "monthly_cost_before": text(self.before),
            "monthly_cost_after": text(self.after),
            "monthly_delta": text(self.delta),
            "monthly_delta_pct": None if pct is None else text(pct.quantize(Decimal("0.01"))),
            "resources": [r.to_json() for r in self.changed()],
            "unpriced": self.unpriced,
            "unsupported": self.unsupported,
        }


def component_costs(resource: PricedResource) -> dict[str, Decimal]:
    costs: dict[str, Decimal] = {}
    for component in resource.components:
        costs[component.name] = costs.get(component.name, Decimal(0)) + (component.monthly_cost or Decimal(0))
    for sub in resource.subresources:
        for component in sub.components:
            name = f"{sub.name} / {component.name}"
            costs[name] = costs.get(name, Decimal(0)) + (component.monthly_cost or Decimal(0))
    return costs


def diff(base: Estimate, head: Estimate) -> CostDiff:
    """Resources matched by address; a resource only in `head` is added, only in `base` removed."""
    before = {r.address: r for r in base.resources}
    after = {r.address: r for r in head.resources}
    deltas = []
    for address in [*before, *(a for a in after if a not in before)]:
        old, new = before.get(address), after.get(address)
        old_components = component_costs(old) if old else {}
        new_components = component_costs(new) if new else {}
        names = [*old_components, *(n for n in new_components if n not in old_components)]
        components = [ComponentDelta(n, old_components.get(n), new_components.get(n)) for n in names]
        kind = (new or old).type  # type: ignore[union-attr]  # (one of them is there: the address came from it)
        deltas.append(ResourceDelta(address, kind, old.monthly_cost if old else None,
                                    new.monthly_cost if new else None, components))  # fmt: skip
    unpriced = [f"{p.address}: {p.message}" for p in head.problems if p.kind == "price"]
    unsupported = [f"{r.address}: {r.type} has no price rule yet" for r in head.of_status("unsupported")]
    return CostDiff(deltas, base.monthly_cost, head.monthly_cost, base.source, head.source, unpriced, unsupported)
