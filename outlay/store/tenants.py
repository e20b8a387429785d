"""Organisations and their people: the `tenants` and `users` tables.

Tenants are created by the operator; each tenant's admins add users with a role (`viewer`, `engineer`, `finance`,
`approver`, `admin`: `services.gateway.permissions.ROLES`) and make keys for them.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.spread import stored_now, to_naive_utc
from outlay.store.api_keys import StoredKey, new_key_row, stored_key
from outlay.store.audit import AuditEvent, append_entries
from outlay.store.models import ApiKeyRow, ServiceRollup, TenantRow, UserRow
from outlay.store.tenant_scope import TenantScoped
from outlay.tenancy import checked_tenant

MAX_USERS = 10_000


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class User:
    user_id: str
    tenant_id: str
    email: str
    name: str
    role: str
    created_at: datetime
    disabled_at: datetime | None


class AlreadyExists(Exception):
    """A tenant id, or a user's e-mail within a tenant, is taken."""


def _tenant(row: Mapping[Any, Any]) -> Tenant:
    return Tenant(row["tenant_id"], row["name"], row["created_at"].replace(tzinfo=UTC))


def _user(row: Mapping[Any, Any]) -> User:
    disabled = row["disabled_at"]
    return User(
        row["user_id"], row["tenant_id"], row["email"], row["name"], row["role"],
        row["created_at"].replace(tzinfo=UTC), None if disabled is None else disabled.replace(tzinfo=UTC),
    )  # fmt: skip


class TenantStore:
    """The organisations (an operator's view: not confined to one)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, tenant_id: str, name: str) -> Tenant:
        columns = {"tenant_id": checked_tenant(tenant_id), "name": name[:200], "created_at": stored_now()}
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(TenantRow).values(**columns))
        except IntegrityError as exc:
            raise AlreadyExists(f"tenant {tenant_id!r} exists already") from exc
        return _tenant(columns)

    async def create_with_admin_key(
        self, tenant_id: str, name: str, admin_scopes: list[str], actor: str, actor_identity: str | None
    ) -> tuple[Tenant, StoredKey, str]:
        """A tenant, its first admin key (and the key's secret, shown this once) and their audit entries, all in one
        transaction: a failure leaves no tenant without a key, nor a key without its audit trail."""
        columns = {"tenant_id": checked_tenant(tenant_id), "name": name[:200], "created_at": stored_now()}
        key_columns, secret = new_key_row(tenant_id, "first admin key", admin_scopes, actor,
                                          created_by_identity=actor_identity)  # fmt: skip
        tenant, key = _tenant(columns), stored_key(key_columns)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(TenantRow).values(**columns))
                await conn.execute(insert(ApiKeyRow).values(**key_columns))
                await append_entries(conn, tenant_id, [
                    AuditEvent(tenant.created_at, actor, f"tenant:{tenant_id}", "tenant_created", tenant.name),
                    AuditEvent(key.created_at, actor, f"key:{key.key_id}", "key_created", f"{key.name}: admin"),
                ])  # fmt: skip
        except IntegrityError as exc:
            raise AlreadyExists(f"tenant {tenant_id!r} exists already") from exc
        return tenant, key, secret

    async def get(self, tenant_id: str) -> Tenant | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(TenantRow.__table__).where(TenantRow.tenant_id == tenant_id))).first()
        return None if row is None else _tenant(row._mapping)

    async def all(self) -> list[Tenant]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(TenantRow.__table__).order_by(TenantRow.tenant_id))
            return [_tenant(r._mapping) for r in rows]

    async def with_costs(self) -> list[str]:
        """Every tenant the ledger holds costs of (`default` included when it has any), for batch jobs that visit
        each tenant in turn."""
        async with self._engine.connect() as conn:
            # (the service-level rollups: far fewer rows than the per-resource ones, the same tenants)
            found = await conn.execute(select(ServiceRollup.tenant_id).distinct().order_by(ServiceRollup.tenant_id))
            return [t for (t,) in found]


class UserStore(TenantScoped):
    """One tenant's people."""

    async def create(self, email: str, name: str, role: str) -> User:
        columns = {
            "user_id": secrets.token_hex(8), "tenant_id": self.tenant_id, "email": email.strip().lower()[:320],
            "name": name[:200], "role": role, "created_at": stored_now(), "disabled_at": None,
        }  # fmt: skip
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(UserRow).values(**columns))
        except IntegrityError as exc:
            raise AlreadyExists(f"a user with e-mail {columns['email']!r} exists already") from exc
        return _user(columns)

    async def get(self, user_id: str) -> User | None:
        stmt = select(UserRow.__table__).where(self._mine(UserRow), UserRow.user_id == user_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _user(row._mapping)

    async def all(self) -> list[User]:
        stmt = (
            select(UserRow.__table__)
            .where(self._mine(UserRow))
            .order_by(UserRow.created_at, UserRow.user_id)
            .limit(MAX_USERS)
        )
        async with self._engine.connect() as conn:
            return [_user(r._mapping) for r in await conn.execute(stmt)]

    async def update(
        self, user_id: str, *, role: str | None = None, disabled_at: datetime | None = None, enable: bool = False
    ) -> User | None:
        """Change a role, disable (at `disabled_at`) or enable again; None when there is no such person. Enabling a
        person whose e-mail an active person has taken since raises AlreadyExists."""
        values: dict[str, Any] = {}
        if role is not None:
            values["role"] = role
        if disabled_at is not None:
            values["disabled_at"] = to_naive_utc(disabled_at)
        elif enable:
            values["disabled_at"] = None
        if values:
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(
                        update(UserRow).where(self._mine(UserRow), UserRow.user_id == user_id).values(**values)
                    )
            except IntegrityError as exc:
                raise AlreadyExists("an active person has this e-mail now") from exc
        return await self.get(user_id)
