"""Terraform plan JSON (`terraform show -json plan.out`, format 0.1 of Terraform 0.12 to 1.x) as `Resource`s.

Planned values give each resource instance (modules, `count` and `for_each` addresses included) with its known
attributes; `resource_changes` say what the change does to it; `prior_state` is what exists before (the base of
a diff). The region comes from the provider configuration the resource uses (a constant, or a variable's value
in the plan), else from its availability zone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from outlay.iac.resources import InputError, Resource, region_of_zone, without_indexes

Which = Literal["planned", "prior"]


def load_plan(path: Path | str) -> dict[str, Any]:
    location = Path(path)
    try:
        document = json.loads(location.read_text())
    except OSError as exc:
        raise InputError(f"{location}: cannot read ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{location}: not JSON ({exc})") from None
    if not is_plan(document):
        raise InputError(f"{location}: not a Terraform plan (no planned_values or resource_changes; "
                         "make one with `terraform show -json plan.out`)")  # fmt: skip
    return document  # type: ignore[no-any-return]


def is_plan(document: Any) -> bool:
    return isinstance(document, dict) and ("planned_values" in document or "resource_changes" in document)


def _walk(
    module: Mapping[str, Any], parents: tuple[str, ...] = ()
) -> Iterator[tuple[Mapping[str, Any], tuple[str, ...]]]:
    for resource in module.get("resources") or []:
        if isinstance(resource, Mapping):  # (a malformed entry is skipped, not fatal)
            yield resource, parents
    for child in module.get("child_modules") or []:
        if isinstance(child, Mapping):
            yield from _walk(child, (*parents, str(child.get("address", ""))))


def _configured(configuration: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Each configured resource's address (without indexes) -> its configuration (`provider_config_key`,
    `expressions`)."""
    found: dict[str, Mapping[str, Any]] = {}

    def visit(module: Mapping[str, Any], prefix: str) -> None:
        for resource in module.get("resources") or []:
            if isinstance(resource, Mapping):
                found[prefix + str(resource.get("address"))] = resource
        for name, call in (module.get("module_calls") or {}).items():
            if isinstance(call, Mapping):
                visit(call.get("module") or {}, f"{prefix}module.{name}.")

    visit(configuration.get("root_module") or {}, "")
    return found


# A reference to another managed resource's identifier (`aws_launch_template.web.id`, `module.m.aws_x.y.name`):
# kept in place of the value it gives, so `links` can join the two resources (a value like "web-lt" would not).
_IDENTIFIER_REFERENCE = re.compile(
    r"^(?:module\.[\w-]+\.)*aws_[a-z0-9_]+\.[\w-]+(?:\[[^\]]*\])?\.(?:id|name|arn|\w+_(?:id|name|arn))$"
)


Lookup = Callable[[str], Any]  # a reference's text -> the value it gives, where the plan knows it (else None)


def with_references(values: Mapping[str, Any], expressions: Mapping[str, Any], lookup: Lookup) -> dict[str, Any]:
    """`values` where an attribute is exactly another resource's id, name or arn (unknown until applied, or equal
    to what the reference gives: not a template around it): that reference's text instead (nested blocks
    likewise)."""
    out = dict(values)
    for key, expression in expressions.items():
        if isinstance(expression, Mapping):
            reference = next(
                (r for r in expression.get("references") or [] if _IDENTIFIER_REFERENCE.match(str(r))), None
            )
            if reference is not None and (out.get(key) is None or out.get(key) == lookup(str(reference))):
                out[key] = str(reference)
        elif isinstance(expression, list) and isinstance(out.get(key), list):
            out[key] = [
                with_references(block, expression[min(i, len(expression) - 1)], lookup)
                if isinstance(block, Mapping)
                and expression
                and isinstance(expression[min(i, len(expression) - 1)], Mapping)
                else block
                for i, block in enumerate(out[key])
            ]
    return out


def _lookup(planned: Mapping[str, Mapping[str, Any]], module: str) -> Lookup:
    """Values of the plan's resources by reference, relative to `module` ("" at the root)."""

    def value(reference: str) -> Any:
        target, _, attribute = reference.rpartition(".")
        for address in (f"{module}.{target}" if module else target, target):
            found = planned.get(address) or planned.get(f"{address}[0]")
            if found is not None:
                return found.get(attribute)
        return None

    return value


def _expression_value(expression: Mapping[str, Any], variables: Mapping[str, Any]) -> Any:
    if "constant_value" in expression:
        return expression["constant_value"]
    for reference in expression.get("references") or []:
        if str(reference).startswith("var."):
            found = variables.get(str(reference)[4:])
            if isinstance(found, Mapping) and "value" in found:
                return found["value"]
    return None


def _regions(document: Mapping[str, Any]) -> dict[str, str]:
    """Provider configuration key -> its region, where the plan says."""
    configuration = document.get("configuration") or {}
    variables = document.get("variables") or {}
    out: dict[str, str] = {}
    for key, provider in (configuration.get("provider_config") or {}).items():
        region = _expression_value(((provider.get("expressions") or {}).get("region") or {}), variables)
        if isinstance(region, str) and region:
            out[str(key)] = region
    return out


def _region_of(values: Mapping[str, Any]) -> str | None:
    zone = region_of_zone(values.get("availability_zone"))
    if zone:
        return zone
    arn = values.get("arn")
    if isinstance(arn, str) and arn.count(":") >= 4 and arn.split(":")[3]:
        return arn.split(":")[3]
    return None


def _action(actions: list[str]) -> str:
    if actions == ["no-op"] or not actions:
        return "no-op"
    if "delete" in actions and "create" in actions:
        return "replace"
    return actions[0]


def _from_changes(document: Mapping[str, Any]) -> dict[str, Any]:
    """A plan without `planned_values` (some tools strip it): the after-state of `resource_changes`, as a root
    module with each resource's module chain rebuilt from its `module_address`."""
    modules: dict[str, dict[str, Any]] = {}
    root: dict[str, Any] = {"resources": [], "child_modules": []}
    for change in document.get("resource_changes") or []:
        if not isinstance(change, Mapping):
            continue
        after = (change.get("change") or {}).get("after")
        if not isinstance(after, Mapping):
            continue  # deleted: nothing after the change
        entry = {**change, "values": after}
        parent = root
        path = str(change.get("module_address") or "")
        for depth in range(1, path.count("module.") + 1):
            address = ".module.".join(path.split(".module.")[:depth])
            if address not in modules:
                modules[address] = {"address": address, "resources": [], "child_modules": []}
                parent["child_modules"].append(modules[address])
            parent = modules[address]
        parent["resources"].append(entry)
    return root


def plan_resources(
    document: Mapping[str, Any], which: Which = "planned", default_region: str | None = None
) -> list[Resource]:
    """The plan's managed resources after the change (`planned`) or before it (`prior`)."""
    if which == "planned":
        root = (document.get("planned_values") or {}).get("root_module") or _from_changes(document)
    else:
        root = ((document.get("prior_state") or {}).get("values") or {}).get("root_module") or {}
    regions = _regions(document)
    configured = _configured(document.get("configuration") or {})
    actions = {
        str(change.get("address")): _action(list((change.get("change") or {}).get("actions") or []))
        for change in document.get("resource_changes") or []
        if isinstance(change, Mapping)
    }
    planned = {str(entry.get("address")): entry.get("values") or {} for entry, _ in _walk(root)}
    resources = []
    for entry, modules in _walk(root):
        if entry.get("mode", "managed") != "managed":
            continue  # data sources cost nothing
        address = str(entry.get("address"))
        config = configured.get(without_indexes(address), {})
        lookup = _lookup(planned, modules[-1] if modules else "")
        given = entry.get("values")
        values = with_references(given if isinstance(given, Mapping) else {}, config.get("expressions") or {}, lookup)
        provider_name = str(entry.get("provider_name", "aws")).rsplit("/", 1)[-1]
        region = (regions.get(str(config.get("provider_config_key", ""))) or _region_of(values)
                  or regions.get(provider_name) or default_region)  # fmt: skip
        tags = values.get("tags_all") or values.get("tags") or {}
        tags = tags if isinstance(tags, Mapping) else {}
        action = actions.get(address, "create") if which == "planned" else "no-op"
        resources.append(Resource(address, str(entry.get("type")), values, region, modules,
                                  {str(k): str(v) for k, v in tags.items()}, action))  # fmt: skip
    return resources
