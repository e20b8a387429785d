"""Tenants (organisations): the one definition of a tenant id, carried by every event and stored on every row
a tenant owns. A deployment with one organisation never names it: everything belongs to `default`."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

DEFAULT_TENANT = "default"
MAX_TENANT_ID = 63
TENANT_PATTERN = rf"^[a-z0-9][a-z0-9-]{{0,{MAX_TENANT_ID - 1}}}$"
_TENANT = re.compile(TENANT_PATTERN)

TenantId = Annotated[
    str,
    Field(pattern=TENANT_PATTERN, description="The organisation this belongs to: lowercase letters, digits, '-'."),
]


def tenant_problem(value: str) -> str | None:
    """What is wrong with a tenant id, or None."""
    if _TENANT.fullmatch(value) is None:  # (match would take "acme\n": `$` matches before a final newline)
        return f"tenant id {value!r} must be 1-{MAX_TENANT_ID} lowercase letters, digits or '-', starting with a letter or digit"
    return None


def checked_tenant(value: str) -> str:
    problem = tenant_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value
