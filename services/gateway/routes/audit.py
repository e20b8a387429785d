"""The audit trail (admin scope): GET /v1/audit lists entries in order (every decision, step, check, rollback and
key change), GET /v1/audit/verify checks the hash chain that makes editing or deleting an entry show."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from outlay.store.audit import AuditEntry, AuditLog
from services.gateway.query import NUL_MESSAGE, ErrorCollector, FieldError, QueryError, parse_int_in
from services.gateway.routes.costs import reject_unknown
from services.gateway.schemas import PROBLEM_RESPONSES
from services.gateway.tenant_stores import stores_of

router = APIRouter(prefix="/v1/audit", tags=["audit"])
MAX_LIMIT = 1000


class AuditEntryOut(BaseModel):
    audit_id: int
    at: datetime
    actor: str
    subject: str = Field(description="What it is about, e.g. plan:<id>")
    event: str
    resource_id: str
    detail: str
    entry_hash: str = Field(description="SHA-256 over the previous entry's hash and this entry")


def entry_out(e: AuditEntry) -> AuditEntryOut:
    event = e.event
    return AuditEntryOut(
        audit_id=e.audit_id, at=event.at, actor=event.actor, subject=event.subject, event=event.event,
        resource_id=event.resource_id, detail=event.detail, entry_hash=e.entry_hash,
    )  # fmt: skip


class AuditPageOut(BaseModel):
    entries: list[AuditEntryOut]
    next_after: int | None = Field(description="Pass as `after` for the next page; null at the end")


class VerifyOut(BaseModel):
    entries_checked: int
    intact: bool
    first_broken_id: int | None = Field(description="The first entry whose hash does not follow from the chain")
    chain_starts_at: int | None = Field(description="The first chained entry (entries before the chain existed)")
    head_id: int | None = Field(description="The newest entry: keep (head_id, head_hash) elsewhere to catch a "
                                "deletion of the newest entries or a rewrite of the whole chain")  # fmt: skip
    head_hash: str | None


def _log(request: Request) -> AuditLog:
    return stores_of(request).audit


@router.get("", response_model=AuditPageOut, responses=PROBLEM_RESPONSES, summary="The audit trail, oldest first")
async def list_audit(
    request: Request,
    subject: str | None = Query(None, max_length=128, description="Only entries about this, e.g. plan:<id>"),
    after: str | None = Query(None, description="next_after of the previous page"),
    limit: str | None = Query(None, description=f"Page size, 1 to {MAX_LIMIT} (default 100)"),
) -> AuditPageOut:
    reject_unknown(request, frozenset({"subject", "after", "limit"}))
    check = ErrorCollector()
    size = check.attempt(lambda: parse_int_in(limit, 1, MAX_LIMIT, 100, "limit"))
    start = check.attempt(lambda: parse_int_in(after, 0, 2**31 - 1, 0, "after"))  # audit_id is a 32-bit integer
    if subject is not None and "\x00" in subject:
        check.errors.append(FieldError("subject", NUL_MESSAGE))
    if check.errors or size is None or start is None:
        raise QueryError(check.errors)
    entries = await _log(request).page(subject, start, size)
    return AuditPageOut(
        entries=[entry_out(e) for e in entries],
        next_after=entries[-1].audit_id if len(entries) == size else None,
    )


@router.get("/verify", response_model=VerifyOut, responses=PROBLEM_RESPONSES, summary="Check the hash chain")
async def verify_audit(request: Request) -> VerifyOut:
    reject_unknown(request, frozenset())
    result = await _log(request).verify()
    return VerifyOut(
        entries_checked=result.checked, intact=result.broken is None, first_broken_id=result.broken,
        chain_starts_at=result.starts_at, head_id=result.head_id, head_hash=result.head_hash,
    )  # fmt: skip
