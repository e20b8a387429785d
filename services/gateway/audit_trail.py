"""Recording a caller's change in their tenant's audit trail: who (the key's actor), what, when, the detail."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request

from outlay.store.audit import AuditEvent
from services.gateway.auth import principal_of
from services.gateway.tenant_stores import stores_of


async def record(request: Request, subject: str, event: str, detail: str = "") -> None:
    """Append one entry for the caller of `request`: `subject` like 'budget:<id>', `event` like 'budget_created'."""
    actor = principal_of(request).actor
    await stores_of(request).audit.append([AuditEvent(datetime.now(UTC), actor, subject, event, detail)])
