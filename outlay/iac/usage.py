"""The usage file: monthly usage of the resources whose cost depends on it (Lambda requests, S3 GB, NAT GB).

YAML, the layout Terraform cost tools share:

    version: 0.1
    resource_type_default_usage:      # optional: for every resource of a type
      aws_lambda_function:
        monthly_requests: 1000000
    resource_usage:                   # per address; `[*]` matches every index of a counted resource
      aws_lambda_function.hello_world:
        monthly_requests: 100000000
        request_duration_ms: 250
      aws_s3_bucket.logs:
        standard:                     # nested values are read as "standard.storage_gb"
          storage_gb: 500

A key the resource's price rule does not read is an error naming the key and the resource (`check`), so a
misspelt key never silently prices as zero. Without a value, a usage-based cost is shown as depending on usage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outlay.iac.resources import InputError, Problem, Resource, every_index, read_yaml


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested usage values as dotted keys ({"standard": {"storage_gb": 5}} -> {"standard.storage_gb": 5})."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


@dataclass(frozen=True)
class UsageFile:
    by_address: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    by_type: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    path: str = ""

    def for_resource(self, resource: Resource) -> dict[str, Any]:
        """Type defaults, then the values for every index (`name[*]`), then for this very address."""
        values = dict(self.by_type.get(resource.type, {}))
        values.update(self.by_address.get(every_index(resource.address), {}))
        values.update(self.by_address.get(resource.address, {}))
        return values

    def declared(self, types: set[str], default_region: str | None) -> list[Resource]:
        """The resources the usage file alone declares (of `types`), in its region or `default_region`."""
        out = []
        for address, values in self.by_address.items():
            type_name = address.split(".", 1)[0]
            if type_name in types and "." in address:
                region = values.get("region")
                out.append(Resource(address, type_name, {}, str(region) if region else default_region))
        return out

    def check(self, resources: Iterable[Resource], known_keys: Mapping[str, set[str]]) -> list[Problem]:
        """Problems for every key a resource's rule does not read, and for addresses that match no resource."""
        problems: list[Problem] = []
        seen: set[str] = set()
        for resource in resources:
            seen.update({resource.address, every_index(resource.address)})
            if resource.type not in known_keys:
                continue  # an unsupported type is listed as such; its usage values have nothing to price
            known = known_keys[resource.type]
            for key in self.for_resource(resource):
                if key not in known:
                    hint = f"; it reads {', '.join(sorted(known))}" if known else "; it reads no usage values"
                    problems.append(
                        Problem(resource.address, f"usage key {key!r} is not known for {resource.type}{hint}", "usage")
                    )
        for type_name, values in self.by_type.items():
            if type_name not in known_keys:
                problems.append(Problem(f"resource_type_default_usage.{type_name}",
                                        "no price rule reads usage for this resource type", "usage"))  # fmt: skip
                continue
            for key in values:
                if key not in known_keys[type_name]:
                    problems.append(
                        Problem(f"resource_type_default_usage.{type_name}", f"usage key {key!r} is not known", "usage")
                    )
        for address in self.by_address:
            if address not in seen:
                problems.append(Problem(address, "the usage file names a resource the input does not have", "usage"))
        return problems


def parse_usage(document: Any, path: str = "usage file") -> UsageFile:
    if document is None:
        return UsageFile(path=path)
    if not isinstance(document, Mapping):
        raise InputError(f"{path}: expected a mapping with resource_usage, got {type(document).__name__}")
    unknown = set(document) - {"version", "resource_usage", "resource_type_default_usage"}
    if unknown:
        raise InputError(f"{path}: unknown top-level key {sorted(unknown)[0]!r} (expected version, resource_usage, "
                         "resource_type_default_usage)")  # fmt: skip
    sections: dict[str, dict[str, dict[str, Any]]] = {}
    for section in ("resource_usage", "resource_type_default_usage"):
        entries = document.get(section) or {}
        if not isinstance(entries, Mapping):
            raise InputError(f"{path}: {section} must be a mapping of resource addresses to usage values")
        sections[section] = {}
        for address, values in entries.items():
            if values is None:
                continue
            if not isinstance(values, Mapping):
                raise InputError(f"{path}: {section}.{address} must be a mapping of usage keys to values")
            sections[section][str(address)] = flatten(values)
    return UsageFile(sections["resource_usage"], sections["resource_type_default_usage"], path)


def load_usage(path: Path | str | None) -> UsageFile:
    if path is None:
        return UsageFile()
    return parse_usage(read_yaml(Path(path), "usage file"), str(path))
