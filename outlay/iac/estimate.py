"""Resources and usage in, an `Estimate` out: each resource priced by its type's rule, component by component.

A resource of a type with no rule is listed as unsupported and a free one as free, never dropped. A component
whose price the catalogue lacks, or whose attribute is unusable, becomes a problem naming the resource and is
listed unpriced; everything else still completes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from outlay.iac.links import link
from outlay.iac.report import CostComponent, Estimate, PricedResource, SubResource
from outlay.iac.resources import Problem, Resource
from outlay.iac.rules import RULEBOOK
from outlay.iac.rules.spec import Component, ResourceRule, RuleBook, RuleError, Scope
from outlay.iac.usage import UsageFile
from outlay.pricing.catalogue import PriceCatalogue, UnknownPrice


def price_components(components: Sequence[Component], scope: Scope, problems: list[Problem]) -> list[CostComponent]:
    priced: list[CostComponent] = []
    for component in components:
        try:
            if not component.when(scope):
                continue
            name = component.label(scope)
            quantity = component.quantity(scope)
        except RuleError as exc:
            problems.append(Problem(scope.resource.address, str(exc), "price"))
            continue
        try:
            unit_price = component.price(scope)
        except (UnknownPrice, RuleError) as exc:
            problems.append(Problem(scope.resource.address, f"{name}: {exc}", "price"))
            priced.append(CostComponent(name, component.unit, quantity, None, component.usage_based))
            continue
        priced.append(CostComponent(name, component.unit, quantity, unit_price, component.usage_based))
    return priced


def blocks_of(attributes: Mapping[str, Any], key: str, default: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    value = attributes.get(key)
    blocks = [b for b in value if isinstance(b, Mapping)] if isinstance(value, list) else []
    if isinstance(value, Mapping):
        blocks = [value]
    return blocks or ([default] if default is not None else [])


def price_resource(
    resource: Resource, rule: ResourceRule, usage: Mapping[str, Any], region: str, catalogue: PriceCatalogue,
    problems: list[Problem],
) -> PricedResource:  # fmt: skip
    scope = Scope(resource, resource.attributes, usage, region, catalogue)
    components = price_components(rule.components, scope, problems)
    subresources: list[SubResource] = []
    for block in rule.blocks:
        found = blocks_of(resource.attributes, block.attribute, block.default)
        for i, attributes in enumerate(found):
            inner = Scope(resource, attributes, usage, region, catalogue)
            priced = price_components(block.components, inner, problems)
            if priced:
                subresources.append(SubResource(block.label.format(i=i), priced))
    return PricedResource(resource.address, resource.type, "priced", resource.module, region, resource.action,
                          components, subresources)  # fmt: skip


def estimate(
    resources: Iterable[Resource],
    usage: UsageFile | None = None,
    catalogue: PriceCatalogue | None = None,
    rules: RuleBook = RULEBOOK,
    source: str = "",
    problems: Sequence[Problem] = (),
) -> Estimate:
    """Price `resources`; `problems` met while reading them are carried into the estimate."""
    usage = usage or UsageFile()
    catalogue = catalogue or PriceCatalogue.load()
    given = list(resources)
    regions = Counter(r.region for r in given if r.region)
    given += usage.declared(rules.usage_only_types(), regions.most_common(1)[0][0] if regions else None)
    found = link(given)  # each with the attributes of the resources it references (links.py)
    met = list(problems)
    met.extend(usage.check(found, rules.usage_keys()))
    out: list[PricedResource] = []
    for resource in found:
        if resource.action == "delete":
            continue  # gone after the change: costs nothing (the diff shows what it cost before)
        rule = rules.priced.get(resource.type)
        if rule is None:
            free = rules.free.get(resource.type)
            if free is not None:
                out.append(PricedResource(resource.address, resource.type, "free", resource.module,
                                          resource.region, resource.action, note=free.why))  # fmt: skip
            else:
                out.append(PricedResource(resource.address, resource.type, "unsupported", resource.module,
                                          resource.region, resource.action, note="no price rule for this type yet"))  # fmt: skip
            continue
        if resource.region is None:
            met.append(Problem(resource.address, "no region: set the provider's region (or pass --region)"))
            out.append(PricedResource(resource.address, resource.type, "priced", resource.module, None,
                                      resource.action, note="not priced: no region"))  # fmt: skip
            continue
        out.append(price_resource(resource, rule, usage.for_resource(resource), resource.region, catalogue, met))
    return Estimate(out, met, source)
