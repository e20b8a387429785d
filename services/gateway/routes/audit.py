"""The audit trail (admin scope): GET /v1/audit lists entries in order (every decision, step, check, rollback and
key change), GET /v1/audit/export streams them all (JSON Lines or CSV, to keep elsewhere), GET /v1/audit/verify
checks the hash chain that makes editing or deleting an entry show."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
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


EXPORT_COLUMNS = ("audit_id", "at", "actor", "subject", "event", "resource_id", "detail", "entry_hash")


async def _every_entry(log: AuditLog) -> AsyncIterator[AuditEntryOut]:
    after = 0
    while True:
        page = await log.page(after_id=after, limit=MAX_LIMIT)
        for entry in page:
            yield entry_out(entry)
        if len(page) < MAX_LIMIT:
            return
        after = page[-1].audit_id


def _inert(value: object) -> object:
    """A cell a spreadsheet will not run as a formula (names and comments are written by people)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


async def _lines(log: AuditLog, fmt: str) -> AsyncIterator[str]:
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        yield out.getvalue()
    async for entry in _every_entry(log):
        values = entry.model_dump(mode="json")
        if fmt == "jsonl":
            yield json.dumps(values, ensure_ascii=False) + "\n"
            continue
        out = io.StringIO()
        csv.writer(out).writerow([_inert(values[c]) for c in EXPORT_COLUMNS])
        yield out.getvalue()


@router.get(
    "/export",
    responses={**PROBLEM_RESPONSES, 200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
    summary="Every entry, oldest first, as JSON Lines or CSV (streamed): an export to keep outside the database",
)
async def export_audit(
    request: Request, format: str = Query("jsonl", pattern="^(jsonl|csv)$", description="jsonl or csv")
) -> StreamingResponse:
    reject_unknown(request, frozenset({"format"}))
    media = "application/x-ndjson" if format == "jsonl" else "text/csv"
    headers = {"Content-Disposition": f'attachment; filename="outlay-audit.{format}"'}
    return StreamingResponse(_lines(_log(request), format), media_type=media, headers=headers)
