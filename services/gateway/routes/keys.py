"""API keys (admin scope): POST /v1/keys makes one and shows its secret this once, GET /v1/keys lists them (never
the secrets), DELETE /v1/keys/{id} revokes one at once."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from outlay.spread import to_naive_utc
from outlay.store.api_keys import ApiKeyStore, StoredKey
from outlay.store.audit import AuditEvent, AuditLog
from outlay.text import printable
from services.gateway.auth import principal_of
from services.gateway.pagination import PAGE_PARAMS, PageAsk, page_of, page_params
from services.gateway.permissions import ROLES, Scope, known_role
from services.gateway.routes.costs import reject_unknown
from services.gateway.schemas import ID_PATTERN, PROBLEM_RESPONSES
from services.gateway.tenant_stores import stores_of

router = APIRouter(prefix="/v1/keys", tags=["keys"])
_ID = Path(description="The key's id (the part after 'olk_')", max_length=32, pattern=ID_PATTERN)


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=150, description="What the key is for, e.g. 'ci pipeline'")
    scopes: list[Scope] = Field(default_factory=list, description="What it may do; see also role")
    role: str | None = Field(default=None, description=f"A role's scopes instead: {', '.join(ROLES)}")
    user_id: str | None = Field(
        default=None, max_length=32, pattern=ID_PATTERN,
        description="A person's key: it acts with at most their role's scopes (their role's, when none are given), "
        "and stops working when they are disabled",
    )  # fmt: skip
    expires_at: datetime | None = Field(default=None, description="When it stops working (UTC); none: never")

    _printable = field_validator("name")(printable)

    @field_validator("expires_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        try:
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:
            raise ValueError("out of range") from None

    _role = field_validator("role")(known_role)


class KeyOut(BaseModel):
    key_id: str
    name: str
    scopes: list[str]
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    user_id: str | None = None


class NewKeyOut(KeyOut):
    key: str = Field(description="The key itself: shown this once, never again (only its digest is stored)")


class KeysOut(BaseModel):
    keys: list[KeyOut]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page; null at the end")


def _store(request: Request) -> ApiKeyStore:
    return stores_of(request).api_keys


def _audit(request: Request) -> AuditLog:
    return stores_of(request).audit


def key_out(key: StoredKey) -> KeyOut:
    return KeyOut(
        key_id=key.key_id, name=key.name, scopes=key.scopes, created_by=key.created_by, created_at=key.created_at,
        expires_at=key.expires_at, revoked_at=key.revoked_at, user_id=key.user_id,
    )  # fmt: skip


@router.post("", status_code=201, response_model=NewKeyOut, responses=PROBLEM_RESPONSES, summary="Make an API key")
async def create_key(request: Request, body: KeyIn) -> NewKeyOut:
    reject_unknown(request, frozenset())
    scopes = set(body.scopes) | (set(ROLES[body.role]) if body.role else set())
    if body.user_id is not None:
        user = await stores_of(request).users.get(body.user_id)
        if user is None or user.disabled_at is not None:
            raise HTTPException(422, f"user_id: no active user {body.user_id!r} in this organisation")
        # No scopes given: the key follows the person's role, whatever it becomes (stored as no scopes).
    if not scopes and body.user_id is None:
        raise HTTPException(422, "scopes: give at least one scope, or a role")
    if body.expires_at is not None and body.expires_at <= datetime.now(UTC):
        raise HTTPException(422, "expires_at: must be in the future")
    principal = principal_of(request)
    key, secret = await _store(request).create(
        body.name, [s.value for s in scopes], principal.actor, body.expires_at, body.user_id, principal.identity
    )
    detail = (
        f"{key.name}: {', '.join(key.scopes)}"
        + (f"; for user {key.user_id}" if key.user_id else "")
        + (f"; expires {key.expires_at:%Y-%m-%d %H:%M}" if key.expires_at else "")
    )
    await _audit(request).append(
        [AuditEvent(key.created_at, principal.actor, f"key:{key.key_id}", "key_created", detail)]
    )
    return NewKeyOut(**key_out(key).model_dump(), key=secret)


@router.get("", response_model=KeysOut, responses=PROBLEM_RESPONSES, summary="Every API key (never the secrets)")
async def list_keys(request: Request, ask: PageAsk = Depends(page_params)) -> KeysOut:
    reject_unknown(request, PAGE_PARAMS)
    page, next_cursor = page_of(await _store(request).all(), lambda k: (to_naive_utc(k.created_at), k.key_id), ask)
    return KeysOut(keys=[key_out(k) for k in page], next_cursor=next_cursor)


@router.delete("/{key_id}", status_code=204, responses=PROBLEM_RESPONSES, summary="Revoke a key, at once")
async def revoke_key(request: Request, key_id: str = _ID) -> Response:
    reject_unknown(request, frozenset())
    principal, now = principal_of(request), datetime.now(UTC)
    if not await _store(request).revoke(key_id, now):
        raise HTTPException(404, f"no active key with id {key_id!r}")
    await _audit(request).append([AuditEvent(now, principal.actor, f"key:{key_id}", "key_revoked")])
    return Response(status_code=204)
