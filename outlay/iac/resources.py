"""What the estimator prices: one resource of a plan or template, and the problems met reading it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_ZONE = re.compile(r"^([a-z]{2}(?:-gov)?-[a-z]+-\d)[a-z]$")  # us-east-1a -> us-east-1
_INDEX = re.compile(r"\[[^\]]*\]")  # a count or for_each index: [0], ["key"]


@dataclass(frozen=True)
class Resource:
    """One resource instance, as the plan or template declares it.

    `address` is Terraform's (`module.db.aws_db_instance.this[0]`) or, for CloudFormation, the logical id;
    `type` is the Terraform type the price rules are keyed by (CloudFormation types are mapped to it by their
    source); `attributes` are its known values, nested blocks as lists of mappings.
    """

    address: str
    type: str
    attributes: Mapping[str, Any]
    region: str | None
    module: tuple[str, ...] = ()  # ("module.db", "module.db.module.db_1"): each enclosing module's address
    tags: Mapping[str, str] = field(default_factory=dict)
    action: str = "create"  # create | update | delete | replace | no-op | read (a plan's change); "create" otherwise


@dataclass(frozen=True)
class Problem:
    """Something the estimator could not read or price, named by where it is: the rest still completes."""

    address: str  # the resource's address, or the file when the whole input is at fault
    message: str
    kind: str = "input"  # "input": reading it; "price": pricing it; "usage": the usage file (an error)

    def __str__(self) -> str:
        return f"{self.address}: {self.message}"


class InputError(ValueError):
    """The input as a whole cannot be read (not JSON, not a plan, not a template); the message says why."""


def region_of_zone(zone: Any) -> str | None:
    """The region of an availability zone name ("eu-west-1b" -> "eu-west-1"); None for anything else."""
    match = _ZONE.match(zone) if isinstance(zone, str) else None
    return match.group(1) if match else None


def without_indexes(address: str) -> str:
    """`module.m[0].aws_instance.web["a"]` -> `module.m.aws_instance.web`: the address in the configuration."""
    return _INDEX.sub("", address)


def every_index(address: str) -> str:
    """The address with its last index as `[*]` (`aws_instance.web[2]` -> `aws_instance.web[*]`)."""
    return re.sub(r"\[[^\]]*\]$", "[*]", address)


def read_yaml(path: Path, what: str) -> Any:
    """A YAML file the user wrote (a usage or policy file); unreadable or invalid YAML is an InputError naming it."""
    try:
        return yaml.safe_load(path.read_text())
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
