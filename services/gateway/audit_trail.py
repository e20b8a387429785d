"""Recording a caller's change in their tenant's audit trail: who (the key's actor), what, when, the detail.

`record` appends on its own; `entry_for` makes the entries a store writes in the change's own transaction (so a
change is never committed without its entry)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from starlette.requests import Request

from outlay.store.audit import Audit, AuditEvent
from services.gateway.auth import principal_of
from services.gateway.tenant_stores import stores_of


async def record(request: Request, subject: str, event: str, detail: str = "") -> None:
    """Append one entry for the caller of `request`: `subject` like 'budget:<id>', `event` like 'budget_created'."""
    actor = principal_of(request).actor
    await stores_of(request).audit.append([AuditEvent(datetime.now(UTC), actor, subject, event, detail)])


T = TypeVar("T")


def entry_for(request: Request, event: str, subject: Callable[[T], str], detail: Callable[[T], str]) -> Audit[T]:
    """The audit entry of the caller's change to a thing, made from the thing as the store saw it."""
    actor = principal_of(request).actor
    return lambda thing: [AuditEvent(datetime.now(UTC), actor, subject(thing), event, detail(thing))]
