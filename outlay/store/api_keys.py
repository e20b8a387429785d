"""API keys in the store: created with a random secret shown once, looked up by id and checked against the
secret's SHA-256 digest (the secret has 256 random bits, so a fast digest is safe), revoked at once."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update

from outlay.spread import stored_now, to_naive_utc
from outlay.store.models import ApiKeyRow
from outlay.store.tenant_scope import TenantScoped

PREFIX = "olk"  # keys read "olk_<id>_<secret>": recognisable in a leaked-secrets scan


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


_KEY = re.compile(rf"^{PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{20,100}})$")


def split_key(presented: str) -> tuple[str, str] | None:
    """(key id, secret) of a key this store gave out; None for anything else (never reaches the database)."""
    found = _KEY.match(presented)
    return None if found is None else (found.group(1), found.group(2))


@dataclass(frozen=True)
class StoredKey:
    key_id: str
    tenant_id: str
    name: str
    scopes: list[str]
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    user_id: str | None = None  # a person's key: it acts with at most their role's scopes
    created_by_identity: str | None = None  # its maker, as the approval rule names people

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


def stored_key(row: Mapping[Any, Any]) -> StoredKey:
    def aware(value: datetime | None) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)

    return StoredKey(
        row["key_id"], row["tenant_id"], row["name"], list(row["scopes"]), row["created_by"],
        row["created_at"].replace(tzinfo=UTC), aware(row["expires_at"]), aware(row["revoked_at"]), row["user_id"],
        row["created_by_identity"],
    )  # fmt: skip


def new_key_row(
    tenant_id: str, name: str, scopes: list[str], created_by: str, expires_at: datetime | None = None,
    user_id: str | None = None, created_by_identity: str | None = None,
) -> tuple[dict[str, Any], str]:  # fmt: skip
    """A new key's `api_keys` row, and its full secret text (never stored)."""
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    columns = {
        "key_id": key_id, "tenant_id": tenant_id, "user_id": user_id,
        "created_by_identity": created_by_identity, "name": name, "secret_sha256": digest(secret),
        "scopes": sorted(set(scopes)), "created_by": created_by[:200],
        "created_at": stored_now(), "expires_at": None if expires_at is None else to_naive_utc(expires_at),
        "revoked_at": None,
    }  # fmt: skip
    return columns, f"{PREFIX}_{key_id}_{secret}"


class ApiKeyStore(TenantScoped):
    """One tenant's API keys; `verify` alone looks across tenants, since a presented key says whose it is."""

    async def create(
        self, name: str, scopes: list[str], created_by: str, expires_at: datetime | None = None,
        user_id: str | None = None, created_by_identity: str | None = None,
    ) -> tuple[StoredKey, str]:  # fmt: skip
        """The new key, and its full secret text: returned this once, never stored."""
        columns, secret = new_key_row(self.tenant_id, name, scopes, created_by, expires_at, user_id,
                                      created_by_identity)  # fmt: skip
        async with self._engine.begin() as conn:
            await conn.execute(insert(ApiKeyRow).values(**columns))
        return stored_key(columns), secret

    async def verify(self, presented: str, now: datetime) -> StoredKey | None:
        """The key `presented` is, if it is one, matches, and is neither revoked nor expired."""
        parts = split_key(presented)
        if parts is None:
            return None
        key_id, secret = parts
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(ApiKeyRow.__table__).where(ApiKeyRow.key_id == key_id))).first()
        if row is None or not hmac.compare_digest(row.secret_sha256, digest(secret)):
            return None
        key = stored_key(row._mapping)
        return key if key.usable(now) else None

    async def all(self) -> list[StoredKey]:
        stmt = select(ApiKeyRow.__table__).where(self._mine(ApiKeyRow)).order_by(ApiKeyRow.created_at, ApiKeyRow.key_id)
        async with self._engine.connect() as conn:
            return [stored_key(r._mapping) for r in await conn.execute(stmt)]

    async def revoke(self, key_id: str, now: datetime) -> bool:
        stmt = (
            update(ApiKeyRow)
            .where(self._mine(ApiKeyRow), ApiKeyRow.key_id == key_id, ApiKeyRow.revoked_at.is_(None))
            .values(revoked_at=to_naive_utc(now))
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]
