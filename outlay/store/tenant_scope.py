"""The one way a store is confined to a tenant.

A store whose rows belong to tenants derives from `TenantScoped`: an instance is bound to one tenant, and every
statement it runs is filtered with `_mine(Row)` and every row it writes carries `tenant_id`. Callers never pass a
tenant per call, so a handler cannot forget one: the gateway binds stores to the caller's tenant once per request
(`for_tenant`), and services bind them to the tenant of the event they handle.
"""

from __future__ import annotations

import copy
from typing import Any, Self

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.tenancy import DEFAULT_TENANT, checked_tenant


class TenantScoped:
    def __init__(self, engine: AsyncEngine, tenant_id: str = DEFAULT_TENANT) -> None:
        self._engine = engine
        self.tenant_id = checked_tenant(tenant_id)

    def for_tenant(self, tenant_id: str) -> Self:
        """The same store bound to `tenant_id` (cheap: it shares the engine and settings)."""
        bound = copy.copy(self)
        bound.tenant_id = checked_tenant(tenant_id)
        return bound

    def _mine(self, row: Any) -> ColumnElement[bool]:
        """The condition that keeps a statement to this tenant's rows of `row`'s table."""
        return row.tenant_id == self.tenant_id  # type: ignore[no-any-return]
