"""The `RulesSource` port on the store: the tenants' current versions in one query, a version's rules through the
allocation rules store (`outlay.store.allocation`), which confines each read to its tenant."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.allocation.rules import AllocationRules
from outlay.store.allocation import AllocationRulesStore
from outlay.store.models import AllocationRulesRow


class StoreRulesSource:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._store = AllocationRulesStore(engine)

    async def current_versions(self, tenants: Collection[str]) -> dict[str, int]:
        # Only version numbers, for the batch's tenants, on the table's primary key (tenant_id, version): cheap
        # enough to run once per batch. A service reads across tenants here, as it handles every tenant's events.
        row = AllocationRulesRow
        stmt = (
            select(row.tenant_id, func.max(row.version))
            .where(row.tenant_id.in_(sorted(tenants)))
            .group_by(row.tenant_id)
        )
        async with self._engine.connect() as conn:
            return {tenant: int(version) for tenant, version in await conn.execute(stmt)}

    async def rules(self, tenant: str, version: int) -> AllocationRules:
        found = await self._store.for_tenant(tenant).version(version)
        if found is None:  # versions are never deleted: only a store emptied under a running stage gets here
            raise LookupError(f"tenant {tenant!r} has no allocation rules version {version}")
        return found.rules
