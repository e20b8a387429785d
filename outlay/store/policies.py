"""One tenant's policies in the store: rules in and out as `outlay.policies` models, each change a new version."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.policies import PolicyIn, PolicyKind, Rule
from outlay.spread import stored_now
from outlay.store.models import PolicyRow
from outlay.store.tenant_scope import TenantScoped

_RULE: TypeAdapter[Rule] = TypeAdapter(Rule)
MAX_POLICIES = 1000


@dataclass(frozen=True)
class Policy:
    policy_id: str
    name: str
    rule: Rule
    enabled: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def kind(self) -> PolicyKind:
        return self.rule.kind


def _policy(row: Mapping[Any, Any]) -> Policy:
    return Policy(
        row["policy_id"], row["name"], _RULE.validate_python(row["rule"]), row["enabled"], row["version"],
        row["created_at"].replace(tzinfo=UTC), row["updated_at"].replace(tzinfo=UTC),
    )  # fmt: skip


class PolicyStore(TenantScoped):
    """One tenant's policies."""

    async def create(self, policy: PolicyIn) -> Policy:
        now = stored_now()
        columns = {
            "policy_id": secrets.token_hex(8), "tenant_id": self.tenant_id, "name": policy.name,
            "kind": policy.rule.kind.value, "rule": policy.rule.model_dump(mode="json", exclude_none=True), "enabled": policy.enabled,
            "version": 1, "created_at": now, "updated_at": now,
        }  # fmt: skip
        async with self._engine.begin() as conn:
            await conn.execute(insert(PolicyRow).values(**columns))
        return _policy(columns)

    async def replace(self, policy_id: str, policy: PolicyIn) -> tuple[Policy, Policy] | None:
        """(before, after) of a change (the version goes up), or None when there is no such policy."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    select(PolicyRow.__table__)
                    .where(self._mine(PolicyRow), PolicyRow.policy_id == policy_id)
                    .with_for_update()
                )
            ).first()
            if row is None:
                return None
            before = _policy(row._mapping)
            values = {
                "name": policy.name, "kind": policy.rule.kind.value, "rule": policy.rule.model_dump(mode="json", exclude_none=True),
                "enabled": policy.enabled, "version": before.version + 1, "updated_at": stored_now(),
            }  # fmt: skip
            await conn.execute(
                update(PolicyRow).where(self._mine(PolicyRow), PolicyRow.policy_id == policy_id).values(**values)
            )
        return before, _policy({**row._mapping, **values})

    async def get(self, policy_id: str) -> Policy | None:
        stmt = select(PolicyRow.__table__).where(self._mine(PolicyRow), PolicyRow.policy_id == policy_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _policy(row._mapping)

    async def all(self, kind: PolicyKind | None = None, enabled_only: bool = False) -> list[Policy]:
        stmt = select(PolicyRow.__table__).where(self._mine(PolicyRow))
        if kind is not None:
            stmt = stmt.where(PolicyRow.kind == kind.value)
        if enabled_only:
            stmt = stmt.where(PolicyRow.enabled.is_(True))
        stmt = stmt.order_by(PolicyRow.created_at, PolicyRow.policy_id).limit(MAX_POLICIES)
        async with self._engine.connect() as conn:
            return [_policy(r._mapping) for r in await conn.execute(stmt)]

    async def delete(self, policy_id: str) -> Policy | None:
        found = await self.get(policy_id)
        if found is None:
            return None
        async with self._engine.begin() as conn:
            await conn.execute(delete(PolicyRow).where(self._mine(PolicyRow), PolicyRow.policy_id == policy_id))
        return found


async def enabled_policies(engine: AsyncEngine, kind: PolicyKind) -> dict[str, list[Policy]]:
    """Every tenant's enabled policies of one kind, for a service that evaluates them for all the tenants it serves
    (each result is still kept to its own tenant)."""
    stmt = (
        select(PolicyRow.__table__)
        .where(PolicyRow.kind == kind.value, PolicyRow.enabled.is_(True))
        .order_by(PolicyRow.tenant_id, PolicyRow.created_at, PolicyRow.policy_id)
    )
    found: dict[str, list[Policy]] = {}
    async with engine.connect() as conn:
        for row in await conn.execute(stmt):
            found.setdefault(row.tenant_id, []).append(_policy(row._mapping))
    return found
