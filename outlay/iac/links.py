"""Related resources, for the rules that price one resource by another's attributes: an Auto Scaling group or EKS
node group by its launch template, an ECS service by its task definition and its cluster's capacity providers.

A rule sees only its own resource, so before pricing, `link` adds to each resource the attributes of the resources
it references. A source gives a reference it cannot evaluate as the text of the reference (`aws_launch_template.
web.id`, or `${aws_launch_template.web.id}`; within a module, relative to it); a string attribute that names a
resource of the input this way is a link. Its target's attributes are added beside it under the link's dotted
path, the way the usage file flattens nested values:

    launch_configuration = "aws_launch_configuration.web.name"
        -> launch_configuration.instance_type, launch_configuration.root_block_device, ...
           launch_configuration.@address, launch_configuration.@type
    launch_template = [{"id": "aws_launch_template.web.id"}]
        -> launch_template.id.instance_type, launch_template.id.block_device_mappings, ...

(the path of a reference inside nested blocks leaves out the blocks' indexes), so a rule's nested `Block` can read
a linked resource's blocks by one key. `@referenced_by` lists the resources that reference this one (each a
mapping of its attributes, its own links, `@address` and `@type`): an ECS service is found by its task set, a
cluster's capacity providers by the cluster. Links are followed two steps deep, which also stops cycles.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from outlay.iac.resources import Resource

ADDRESS = "@address"
TYPE = "@type"
REFERENCED_BY = "@referenced_by"
DEPTH = 2  # service -> cluster -> the cluster's capacity providers

# module.a.module.b.aws_type.name[index], then the attribute read from it (.id, .name, .arn, ...)
_REFERENCE = re.compile(
    r"""^(?:\$\{)?
    (?P<address>(?:module\.[\w-]+(?:\[[^\]]*\])?\.)*(?:data\.)?[a-z][a-z0-9_]*\.[\w-]+(?:\[[^\]]*\])?)
    (?:\.[^}]*)?\}?$""",
    re.VERBOSE,
)


def link(resources: Sequence[Resource]) -> list[Resource]:
    """`resources`, each with the attributes of those it references and a list of those referencing it."""
    index = {resource.address: resource for resource in resources}
    # The first segments a reference into the input can start with: most strings (ids, names, CIDRs) cannot.
    heads = frozenset({"module", "data", *(resource.type for resource in resources)})
    targets = {resource.address: list(references(resource, index, heads)) for resource in resources}
    for address, target in scaled(resources):
        targets[address].append(("resource_id", target))
    referrers: dict[str, list[str]] = defaultdict(list)
    for address, found in targets.items():
        for _, target in found:
            referrers[target].append(address)

    def view(address: str, depth: int, backwards: bool = True) -> dict[str, Any]:
        resource = index[address]
        attributes: dict[str, Any] = {**resource.attributes, ADDRESS: address, TYPE: resource.type}
        if depth == 0:
            return attributes
        for path, target in targets[address]:
            attributes.update({f"{path}.{key}": value for key, value in view(target, depth - 1).items()})
        if backwards and referrers[address]:
            attributes[REFERENCED_BY] = [view(other, depth - 1, backwards=False) for other in referrers[address]]
        return attributes

    linked: list[Resource] = []
    for resource in resources:
        if targets[resource.address] or referrers[resource.address]:
            attributes = view(resource.address, DEPTH)
            del attributes[ADDRESS], attributes[TYPE]  # a resource's own identity is on the Resource already
            resource = replace(resource, attributes=attributes)
        linked.append(resource)
    return linked


# What an Application Auto Scaling target's `resource_id` names ("table/orders", "replication-group/cache"): the
# type of the scaled resource and the attribute that holds that name. Its value is a built string, not a
# reference, so it is matched by value.
SCALED_RESOURCES = {"table": ("aws_dynamodb_table", "name"),
                    "replication-group": ("aws_elasticache_replication_group", "replication_group_id")}  # fmt: skip


def scaled(resources: Sequence[Resource]) -> Iterator[tuple[str, str]]:
    """(scaling target's address, the address of the resource it scales) for each `aws_appautoscaling_target`."""
    named: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in resources:
        for kind, attribute in SCALED_RESOURCES.values():
            if r.type == kind and r.attributes.get(attribute):
                named[(kind, str(r.attributes[attribute]))].append(r.address)
    # Two resources of one name (possible only across regions or accounts): which one is scaled is not known.
    by_name = {key: addresses[0] for key, addresses in named.items() if len(addresses) == 1}
    for resource in resources:
        if resource.type != "aws_appautoscaling_target":
            continue
        kind, _, rest = str(resource.attributes.get("resource_id") or "").partition("/")
        if kind in SCALED_RESOURCES and rest:
            found = by_name.get((SCALED_RESOURCES[kind][0], rest.split("/", 1)[0]))
            if found is not None:
                yield resource.address, found


def references(resource: Resource, index: Mapping[str, Resource], heads: frozenset[str]) -> Iterator[tuple[str, str]]:
    """(dotted path, target address) for each string attribute, top-level or in nested blocks, that references
    another resource of `index`."""
    for path, value in _strings(resource.attributes, ""):
        if "." in value and value.lstrip("${").split(".", 1)[0] not in heads:
            continue
        target = resolve(value, resource, index)
        if target is not None:
            yield path, target


def resolve(text: str, resource: Resource, index: Mapping[str, Resource]) -> str | None:
    """The address `text` references, relative to `resource`'s module first; None when it names no resource."""
    text = text.strip()
    if "." not in text and text in index and text != resource.address:
        return text  # a CloudFormation logical id (!Ref): its addresses have no dots, Terraform's always do
    match = _REFERENCE.match(text)
    if match is None:
        return None
    address = match.group("address")
    candidates = [f"{resource.module[-1]}.{address}", address] if resource.module else [address]
    for candidate in candidates:
        if candidate in index and candidate != resource.address:
            return candidate
    return None


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Each string in a mapping, and in nested blocks (lists of mappings), with its dotted path; lists of strings
    (subnet ids, security groups) are not followed: no rule prices by them."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            if isinstance(key, str) and not key.startswith("@"):
                yield from _strings(inner, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, Mapping):
                yield from _strings(item, path)


def linked(attributes: Mapping[str, Any], path: str) -> dict[str, Any] | None:
    """The attributes of the resource linked at `path` (`launch_template.id`), or None when nothing is."""
    prefix = f"{path}."
    if f"{prefix}{TYPE}" not in attributes:
        return None
    return {key.removeprefix(prefix): value for key, value in attributes.items() if key.startswith(prefix)}


def referenced_by(attributes: Mapping[str, Any], resource_type: str) -> list[Mapping[str, Any]]:
    """The resources of `resource_type` referencing the one `attributes` belong to."""
    found = attributes.get(REFERENCED_BY) or []
    return [other for other in found if isinstance(other, Mapping) and other.get(TYPE) == resource_type]
