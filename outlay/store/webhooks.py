"""Webhook subscriptions and their deliveries in the store.

Deliveries are a queue in the `webhook_deliveries` table: queued once per (webhook, event update), claimed by one
gateway at a time (a conditional update from `pending` to `sending`), and ended as `delivered` or, after the last
try, `dead` (the dead-letter list), from which a person can queue it again.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.spread import stored_now, to_naive_utc
from outlay.store.audit import Audit, append_entries
from outlay.store.models import WebhookDeliveryRow, WebhookRow
from outlay.store.upsert import dialect_insert
from outlay.telemetry import tracing
from outlay.tenancy import DEFAULT_TENANT

CLAIM_TIMEOUT = timedelta(minutes=5)  # a delivery `sending` this long was claimed by a gateway that stopped


@dataclass(frozen=True)
class Webhook:
    webhook_id: str
    url: str
    secret: str
    events: list[str]
    filters: dict[str, Any]
    description: str
    created_at: datetime
    format: str = "outlay"
    tenant_id: str = DEFAULT_TENANT


@dataclass(frozen=True)
class Delivery:
    delivery_id: int
    webhook_id: str
    event_type: str
    body: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None
    trace_parent: str | None = None


def _webhook(row: Mapping[Any, Any]) -> Webhook:
    return Webhook(row["webhook_id"], row["url"], row["secret"], list(row["events"]), dict(row["filters"]),
                   row["description"], row["created_at"].replace(tzinfo=UTC), row["format"], row["tenant_id"])  # fmt: skip


def _delivery(row: Mapping[Any, Any]) -> Delivery:
    delivered = row["delivered_at"]
    return Delivery(
        row["delivery_id"], row["webhook_id"], row["event_type"], row["body"], row["status"], row["attempts"],
        row["next_attempt_at"].replace(tzinfo=UTC), row["last_status_code"], row["last_error"],
        row["created_at"].replace(tzinfo=UTC), None if delivered is None else delivered.replace(tzinfo=UTC),
        row["trace_parent"],
    )  # fmt: skip


class WebhookStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(
        self, url: str, events: list[str], filters: dict[str, Any], description: str, tenant_id: str,
        format: str = "outlay", audit: Audit[Webhook] | None = None,
    ) -> Webhook:  # fmt: skip
        """A new subscription; `audit`'s entries for it are written in the same transaction."""
        columns = {
            "webhook_id": secrets.token_hex(8), "tenant_id": tenant_id, "url": url,
            "secret": secrets.token_urlsafe(32), "events": sorted(set(events)), "filters": filters,
            "description": description, "format": format,
            "created_at": stored_now(),
        }  # fmt: skip
        made = _webhook(columns)
        async with self._engine.begin() as conn:
            await conn.execute(insert(WebhookRow).values(**columns))
            if audit is not None:
                await append_entries(conn, tenant_id, audit(made))
        return made

    async def all(self, tenant_id: str) -> list[Webhook]:
        stmt = select(WebhookRow.__table__).where(WebhookRow.tenant_id == tenant_id).order_by(WebhookRow.created_at)
        async with self._engine.connect() as conn:
            return [_webhook(r._mapping) for r in await conn.execute(stmt)]

    async def get(self, webhook_id: str, tenant_id: str) -> Webhook | None:
        stmt = select(WebhookRow.__table__).where(
            WebhookRow.webhook_id == webhook_id, WebhookRow.tenant_id == tenant_id
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _webhook(row._mapping)

    async def delete(self, webhook_id: str, tenant_id: str, audit: Audit[Webhook] | None = None) -> Webhook | None:
        """Unsubscribe (its deliveries go too); returns what it was (None: no such webhook of this tenant)."""
        stmt = (
            delete(WebhookRow)
            .where(WebhookRow.webhook_id == webhook_id, WebhookRow.tenant_id == tenant_id)
            .returning(*WebhookRow.__table__.c)
        )
        async with self._engine.begin() as conn:
            found = (await conn.execute(stmt)).first()
            if found is None:
                return None
            await conn.execute(delete(WebhookDeliveryRow).where(WebhookDeliveryRow.webhook_id == webhook_id))
            gone = _webhook(found._mapping)
            if audit is not None:
                await append_entries(conn, tenant_id, audit(gone))
        return gone

    async def enqueue(
        self, event_type: str, items: Sequence[tuple[str, Any]], accepts: Callable[[Webhook, Any], bool],
        render: Callable[[Webhook, Any], str], now: datetime, only: str | None = None,
    ) -> int:  # fmt: skip
        """Queue (dedupe key, event) items, rendered for each webhook (its format), for every webhook of
        `event_type` whose filter `accepts` the event (or for the webhook `only`, whatever it subscribed to: a
        test); an item already queued for a webhook is not queued again. Returns how many were queued.

        An event goes only to webhooks of its own tenant (events without a tenant, the ping, only to `only`)."""
        stmt = select(WebhookRow.__table__)
        if only is not None:
            stmt = stmt.where(WebhookRow.webhook_id == only)
        else:
            stmt = stmt.where(WebhookRow.tenant_id.in_({getattr(e, "tenant_id", None) for _, e in items} - {None}))
        async with self._engine.connect() as conn:
            hooks = [_webhook(r._mapping) for r in await conn.execute(stmt)]
        trace_parent = tracing.http_headers().get(tracing.TRACEPARENT)
        rows = [
            {
                "webhook_id": hook.webhook_id,
                "dedupe_key": key,
                "event_type": event_type,
                "body": render(hook, event),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": to_naive_utc(now),
                "last_status_code": None,
                "last_error": "",
                "created_at": to_naive_utc(now),
                "delivered_at": None,
                "trace_parent": trace_parent,
            }  # fmt: skip
            for hook in hooks
            if only is not None or event_type in hook.events
            for key, event in items
            if (only is not None or getattr(event, "tenant_id", None) == hook.tenant_id) and accepts(hook, event)
        ]
        if not rows:
            return 0
        async with self._engine.begin() as conn:
            stmt = dialect_insert(conn, WebhookDeliveryRow.__table__).on_conflict_do_nothing(
                index_elements=["webhook_id", "dedupe_key"]
            )
            result = await conn.execute(stmt, rows)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def claim_due(self, now: datetime, limit: int = 50) -> list[tuple[Delivery, Webhook]]:
        """Deliveries due now (and ones a stopped gateway left `sending`), each claimed by this caller alone."""
        table = WebhookDeliveryRow.__table__
        stale = to_naive_utc(now - CLAIM_TIMEOUT)
        due = or_(
            (table.c.status == "pending") & (table.c.next_attempt_at <= to_naive_utc(now)),
            (table.c.status == "sending") & (table.c.next_attempt_at <= stale),
        )
        claimed: list[tuple[Delivery, Webhook]] = []
        async with self._engine.connect() as conn:
            candidates = (await conn.execute(select(table).where(due).order_by(table.c.delivery_id).limit(limit))).all()
        for row in candidates:
            async with self._engine.begin() as conn:
                won = await conn.execute(
                    update(WebhookDeliveryRow)
                    .where(
                        table.c.delivery_id == row.delivery_id,
                        table.c.status == row.status,
                        table.c.next_attempt_at == row.next_attempt_at,
                    )  # fmt: skip
                    .values(status="sending", next_attempt_at=to_naive_utc(now))
                )
                if not won.rowcount:  # type: ignore[attr-defined]
                    continue  # another gateway took it
                hook = (
                    await conn.execute(select(WebhookRow.__table__).where(WebhookRow.webhook_id == row.webhook_id))
                ).first()
            if hook is not None:
                claimed.append((_delivery(row._mapping), _webhook(hook._mapping)))
        return claimed

    async def release(self, delivery_ids: Sequence[int]) -> None:
        """Deliveries claimed but not attempted go back to the queue, due now (their webhook's earlier one failed)."""
        if not delivery_ids:
            return
        async with self._engine.begin() as conn:
            await conn.execute(
                update(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.delivery_id.in_(list(delivery_ids)), WebhookDeliveryRow.status == "sending")
                .values(status="pending")
            )

    async def finish(
        self, delivery_id: int, *, delivered: bool, attempts: int, now: datetime, status_code: int | None,
        error: str, retry_at: datetime | None,
    ) -> None:  # fmt: skip
        """Record one attempt: delivered, to be tried again at `retry_at`, or dead (`retry_at` None)."""
        status = "delivered" if delivered else ("pending" if retry_at is not None else "dead")
        values: dict[str, Any] = {
            "status": status, "attempts": attempts, "last_status_code": status_code, "last_error": error[:1000],
            "next_attempt_at": to_naive_utc(retry_at or now), "delivered_at": to_naive_utc(now) if delivered else None,
        }  # fmt: skip
        async with self._engine.begin() as conn:
            await conn.execute(
                update(WebhookDeliveryRow).where(WebhookDeliveryRow.delivery_id == delivery_id).values(**values)
            )

    def _owned(self, webhook_id: str, tenant_id: str) -> ColumnElement[bool]:
        """The deliveries of `webhook_id` when it is `tenant_id`'s (none otherwise): the store confines, not routes."""
        mine = select(WebhookRow.webhook_id).where(
            WebhookRow.webhook_id == webhook_id, WebhookRow.tenant_id == tenant_id
        )
        return WebhookDeliveryRow.webhook_id.in_(mine.scalar_subquery())

    async def deliveries(
        self, webhook_id: str, tenant_id: str, status: str | None = None, limit: int = 100, before: int | None = None
    ) -> list[Delivery]:
        """The delivery log of one of `tenant_id`'s webhooks, newest first; `before`: only older than that id."""
        table = WebhookDeliveryRow.__table__
        stmt = select(table).where(self._owned(webhook_id, tenant_id))
        if status is not None:
            stmt = stmt.where(table.c.status == status)
        if before is not None:
            stmt = stmt.where(table.c.delivery_id < before)
        stmt = stmt.order_by(table.c.delivery_id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            return [_delivery(r._mapping) for r in await conn.execute(stmt)]

    async def redeliver(self, webhook_id: str, tenant_id: str, delivery_id: int, now: datetime) -> bool:
        """Queue a delivery again now (a dead one, or a delivered one a receiver lost), with fresh tries."""
        stmt = (
            update(WebhookDeliveryRow)
            .where(
                WebhookDeliveryRow.delivery_id == delivery_id,
                self._owned(webhook_id, tenant_id),
                WebhookDeliveryRow.status.in_(["dead", "delivered"]),
            )  # fmt: skip
            .values(status="pending", attempts=0, next_attempt_at=to_naive_utc(now), delivered_at=None)
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]
