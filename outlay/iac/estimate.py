"""Resources and usage in, an `Estimate` out: each resource priced by its type's rule, component by component.

A resource of a type with no rule is listed as unsupported and a free one as free, never dropped. A component
whose price the catalogue lacks, or whose attribute is unusable, becomes a problem naming the resource and is
listed unpriced; everything else still completes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from outlay.iac.links import link
from outlay.iac.report import CostComponent, Estimate, PricedResource, SubResource
from outlay.iac.resources import Problem, Resource
from outlay.iac.rules import RULEBOOK
from outlay.iac.rules.spec import Component, ResourceRule, RuleBook, RuleError, Scope
from outlay.iac.usage import UsageFile
from outlay.pricing.catalogue import PriceCatalogue, UnknownPrice

# What a rule may raise on odd attribute values (a size "big", a block where a list was expected): the rule's
# own RuleError and UnknownPrice name the key; the others are reported with the component they came from.
RULE_FAILURES = (RuleError, UnknownPrice, ArithmeticError, KeyError, TypeError, ValueError, AttributeError, IndexError)


def price_components(components: Sequence[Component], scope: Scope, problems: list[Problem]) -> list[CostComponent]:
    priced: list[CostComponent] = []
    for component in components:
        try:
            if not component.when(scope):
                continue
            name = component.label(scope)
            quantity = component.quantity(scope)
        except RULE_FAILURES as exc:
            problems.append(Problem(scope.resource.address, _reason(exc), "price"))
            continue
        try:
            unit_price = component.price(scope)
        except RULE_FAILURES as exc:
            problems.append(Problem(scope.resource.address, f"{name}: {_reason(exc)}", "price"))
            priced.append(CostComponent(name, component.unit, quantity, None, component.usage_based))
            continue
        priced.append(CostComponent(name, component.unit, quantity, unit_price, component.usage_based))
    return priced


USAGE = "@usage"


def _carrying_usage(resource: Resource, values: Mapping[str, Any]) -> Resource:
    return replace(resource, attributes={**resource.attributes, USAGE: dict(values)}) if values else resource


def _reason(exc: Exception) -> str:
    if isinstance(exc, (RuleError, UnknownPrice)):
        return str(exc)
    return f"an attribute has a value the price rule cannot use ({type(exc).__name__}: {exc})"


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
    # A resource's usage values travel with it (under "@usage"), for the rules of the resources it affects.
    given = [_carrying_usage(r, usage.for_resource(r)) for r in given]
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
            met.append(Problem(resource.address, "no region: set the provider's region (or pass --region)", "price"))
            out.append(PricedResource(resource.address, resource.type, "priced", resource.module, None,
                                      resource.action, note="not priced: no region"))  # fmt: skip
            continue
        try:
            out.append(price_resource(resource, rule, usage.for_resource(resource), resource.region, catalogue, met))
        except RULE_FAILURES as exc:  # (a block the rule could not walk): this resource only
            met.append(Problem(resource.address, _reason(exc), "price"))
            out.append(PricedResource(resource.address, resource.type, "priced", resource.module, resource.region,
                                      resource.action, note="not priced: see its problem"))  # fmt: skip
    return Estimate(out, met, source)
