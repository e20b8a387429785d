"""What the estimator prices: one resource of a plan or template, and the problems met reading it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


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
