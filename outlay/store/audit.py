"""The audit trail: an append-only record of who did what to which subject, when, chained by hash so that editing
or deleting an entry shows.

Each entry's `entry_hash` is SHA-256 over the previous entry's hash and this entry's fields (a canonical JSON
text), so changing or deleting an entry inside the chain breaks the hashes after it; `verify` walks the chain and
returns its head. Deleting the newest entries, or rewriting the whole chain (the hash has no key), shows only
against a head recorded elsewhere: keep `verify`'s head outside the database. Appends are serialised so the
chain never forks: PostgreSQL takes a transaction-level advisory lock, SQLite's single writer does the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from outlay.spread import to_naive_utc
from outlay.store.models import AuditRow
from outlay.store.tenant_scope import TenantScoped

T = TypeVar("T")
GENESIS = "0" * 64
_LOCK_KEY = 0x0A0D17  # pg_advisory_xact_lock key of the audit chain
_PAGE = 5000


@dataclass(frozen=True)
class AuditEvent:
    at: datetime
    actor: str
    subject: str
    event: str
    detail: str = ""
    resource_id: str = ""


@dataclass(frozen=True)
class AuditEntry:
    """A stored entry: the event, its place in the trail and its hash."""

    audit_id: int
    event: AuditEvent
    entry_hash: str


def _fields(at: datetime, actor: str, subject: str, resource_id: str, event: str, detail: str) -> dict[str, object]:
    return {
        "at": to_naive_utc(at).replace(microsecond=0),
        "actor": actor[:200],
        "subject": subject[:128],
        "resource_id": resource_id[:256],
        "event": event[:32],
        "detail": detail[:4000],
    }


def chain_hash(previous: str, fields: dict[str, object]) -> str:
    canonical = json.dumps({k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in fields.items()},
                           sort_keys=True, ensure_ascii=False)  # fmt: skip
    return hashlib.sha256(f"{previous}\n{canonical}".encode()).hexdigest()


def _entry(r: Any) -> AuditEntry:
    return AuditEntry(
        r.audit_id,
        AuditEvent(r.at.replace(tzinfo=UTC), r.actor, r.subject, r.event, r.detail, r.resource_id),
        r.entry_hash,
    )


# What a store writes to the audit trail about the thing it changed, in the change's own transaction.
Audit = Callable[[T], Sequence["AuditEvent"]]


async def append_entries(conn: AsyncConnection, tenant_id: str, entries: Sequence[AuditEvent]) -> None:
    """Chain `entries` onto `tenant_id`'s trail inside the caller's transaction (which commits them or none)."""
    await _lock(conn)
    last = (
        await conn.execute(
            select(AuditRow.entry_hash)
            .where(AuditRow.tenant_id == tenant_id)
            .order_by(AuditRow.audit_id.desc())
            .limit(1)
        )
    ).scalar()
    previous = last or GENESIS
    for e in entries:  # one by one: ids follow the chain's order
        fields = _fields(e.at, e.actor, e.subject, e.resource_id, e.event, e.detail)
        previous = chain_hash(previous, fields)
        await conn.execute(insert(AuditRow).values(**fields, entry_hash=previous, tenant_id=tenant_id))


async def _lock(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    else:  # SQLite: a write takes the database's one write lock now, before the last hash is read
        await conn.execute(update(AuditRow).where(AuditRow.audit_id < 0).values(event=AuditRow.event))


class AuditLog(TenantScoped):
    """One tenant's audit trail. Each tenant's entries form their own chain, so an entry moved to another tenant
    breaks both chains, and a tenant verifies its trail without reading anyone else's."""

    async def append(self, entries: Sequence[AuditEvent]) -> None:
        if not entries:
            return
        async with self._engine.begin() as conn:
            await append_entries(conn, self.tenant_id, entries)

    async def of(self, subject: str, limit: int = 1000) -> list[AuditEvent]:
        return [e.event for e in await self.page(subject=subject, limit=limit)]

    async def of_subjects(self, subjects: Sequence[str], limit: int = 1000) -> dict[str, list[AuditEntry]]:
        """Each subject's entries in order (at most `limit` each), in one query: what a batch loader needs."""
        found: dict[str, list[AuditEntry]] = {s: [] for s in subjects}
        if not subjects:
            return found
        ranked = (
            select(
                AuditRow.__table__,
                func.row_number().over(partition_by=AuditRow.subject, order_by=AuditRow.audit_id).label("nth"),
            )
            .where(self._mine(AuditRow), AuditRow.subject.in_(list(found)))
            .subquery()
        )
        stmt = select(ranked).where(ranked.c.nth <= limit).order_by(ranked.c.audit_id)
        async with self._engine.connect() as conn:
            for r in await conn.execute(stmt):
                found[r.subject].append(_entry(r))
        return found

    async def page(self, subject: str | None = None, after_id: int = 0, limit: int = 100) -> list[AuditEntry]:
        """Entries in order, after `after_id`, optionally of one subject."""
        stmt = select(AuditRow.__table__).where(self._mine(AuditRow), AuditRow.audit_id > after_id)
        if subject is not None:
            stmt = stmt.where(AuditRow.subject == subject)
        stmt = stmt.order_by(AuditRow.audit_id).limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_entry(r) for r in rows]

    async def verify(self) -> Verification:
        """Walk the chain. Entries written before it existed (empty hash, from an older store) are skipped as long
        as they come first; after the chain starts, an entry that does not follow breaks it."""
        previous, checked, after = GENESIS, 0, 0
        starts_at: int | None = None
        head: tuple[int, str] | None = None
        table = AuditRow.__table__
        async with self._engine.connect() as conn:
            while True:
                rows = (
                    await conn.execute(
                        select(table)
                        .where(self._mine(AuditRow), table.c.audit_id > after)
                        .order_by(table.c.audit_id)
                        .limit(_PAGE)
                    )
                ).all()
                if not rows:
                    return Verification(checked, None, starts_at, *(head or (None, None)))
                for r in rows:
                    after = r.audit_id
                    if starts_at is None and r.entry_hash == "":
                        continue  # before the chain
                    starts_at = r.audit_id if starts_at is None else starts_at
                    fields = _fields(r.at, r.actor, r.subject, r.resource_id, r.event, r.detail)
                    expected = chain_hash(previous, fields)
                    if r.entry_hash != expected:
                        return Verification(checked, r.audit_id, starts_at, *(head or (None, None)))
                    previous, checked, head = expected, checked + 1, (r.audit_id, expected)


@dataclass(frozen=True)
class Verification:
    checked: int
    broken: int | None  # the first entry that does not follow, or None
    starts_at: int | None  # the first chained entry
    head_id: int | None  # the newest entry checked
    head_hash: str | None
