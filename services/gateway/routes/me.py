"""The caller: GET /v1/me says who the key is (tenant, person, scopes); POST /v1/me/keys lets a person make a key
of their own. A key an admin made for someone was seen by that admin, so the approval rule counts the admin too
(services/gateway/routes/plans.py); a key a person made for themselves counts them alone."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from outlay.store.audit import AuditEvent
from outlay.text import printable
from services.gateway.auth import principal_of
from services.gateway.routes.costs import reject_unknown
from services.gateway.routes.keys import NewKeyOut, key_out
from services.gateway.schemas import PROBLEM_RESPONSES
from services.gateway.tenant_stores import stores_of

router = APIRouter(prefix="/v1/me", tags=["keys"])


class MeOut(BaseModel):
    tenant_id: str
    key_id: str
    name: str
    user_id: str | None
    scopes: list[str]
    operator: bool = Field(description="The operator's key (OUTLAY_API_KEY): manages tenants, decides plans alone")
    made_by: str | None = Field(
        description="Who made this key ('user:<id>' or 'key:<id>'), when recorded: a plan's approver must not be "
        "the one who asked, nor have made the asker's key"
    )


class OwnKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=150, description="What the key is for, e.g. 'laptop'")
    expires_at: datetime | None = Field(default=None, description="When it stops working (UTC); none: never")

    _printable = field_validator("name")(printable)


@router.get("", response_model=MeOut, responses=PROBLEM_RESPONSES, summary="Who this key is")
async def me(request: Request) -> MeOut:
    reject_unknown(request, frozenset())
    p = principal_of(request)
    return MeOut(tenant_id=p.tenant_id, key_id=p.key_id, name=p.name, user_id=p.user_id,
                 scopes=sorted(s.value for s in p.scopes), operator=p.operator, made_by=p.maker)  # fmt: skip


@router.post(
    "/keys", status_code=201, response_model=NewKeyOut, responses=PROBLEM_RESPONSES,
    summary="Make a key of your own (a person's key; it acts with your role, whatever it becomes)",
)  # fmt: skip
async def make_own_key(request: Request, body: OwnKeyIn) -> NewKeyOut:
    reject_unknown(request, frozenset())
    principal = principal_of(request)
    if principal.user_id is None:
        raise HTTPException(403, "only a person's key makes keys of its own; admins make the others (POST /v1/keys)")
    expires = None if body.expires_at is None else body.expires_at.astimezone(UTC)
    if expires is not None and expires <= datetime.now(UTC):
        raise HTTPException(422, "expires_at: must be in the future")
    # A key never makes a key that may do more, or live longer, than itself: a key limited to some scopes makes
    # keys with those scopes, and one that expires makes keys that expire no later.
    if principal.expires_at is not None and (expires is None or expires > principal.expires_at):
        expires = principal.expires_at
    scopes = [] if principal.follows_role else sorted(s.value for s in principal.scopes)
    stores = stores_of(request)
    key, secret = await stores.api_keys.create(
        body.name, scopes, principal.actor, expires, principal.user_id, principal.identity
    )
    await stores.audit.append([AuditEvent(key.created_at, principal.actor, f"key:{key.key_id}", "key_created",
                                          f"{key.name}: own key of user {principal.user_id}")])  # fmt: skip
    return NewKeyOut(**key_out(key).model_dump(), key=secret)
