"""Organisations (the operator's key only): POST /v1/tenants creates one with its first admin key (shown this
once); GET /v1/tenants lists them. Everything else a tenant does, its own admins do with that key."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from outlay.spread import to_naive_utc
from outlay.store.tenants import AlreadyExists, Tenant, TenantStore
from outlay.tenancy import DEFAULT_TENANT, TENANT_PATTERN
from outlay.text import printable
from services.gateway.auth import principal_of
from services.gateway.pagination import PAGE_PARAMS, PageAsk, page_of, page_params
from services.gateway.permissions import Scope
from services.gateway.routes.costs import reject_unknown
from services.gateway.schemas import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])


class TenantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(pattern=TENANT_PATTERN, max_length=63, description="Lowercase letters, digits and '-'")
    name: str = Field(min_length=1, max_length=200)

    _printable = field_validator("name")(printable)


class TenantOut(BaseModel):
    tenant_id: str
    name: str
    created_at: datetime


class NewTenantOut(TenantOut):
    admin_key: str = Field(description="The tenant's first admin key: shown this once, never again")


class TenantsOut(BaseModel):
    tenants: list[TenantOut]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page; null at the end")


def _operator_only(request: Request) -> None:
    if not principal_of(request).operator:
        raise HTTPException(403, "only the operator's key (OUTLAY_API_KEY) manages organisations")


def _out(tenant: Tenant) -> TenantOut:
    return TenantOut(tenant_id=tenant.tenant_id, name=tenant.name, created_at=tenant.created_at)


def _tenants(request: Request) -> TenantStore:
    return request.app.state.tenants  # type: ignore[no-any-return]


@router.post(
    "", status_code=201, response_model=NewTenantOut, responses=PROBLEM_RESPONSES, summary="Add an organisation"
)
async def create_tenant(request: Request, body: TenantIn) -> NewTenantOut:
    reject_unknown(request, frozenset())
    _operator_only(request)
    if body.tenant_id == DEFAULT_TENANT:
        raise HTTPException(409, f"tenant_id: {DEFAULT_TENANT!r} is the operator's own organisation, it exists already")
    principal = principal_of(request)
    try:
        tenant, _, secret = await _tenants(request).create_with_admin_key(
            body.tenant_id, body.name, [Scope.ADMIN.value], principal.actor, principal.identity
        )
    except AlreadyExists as exc:
        raise HTTPException(409, f"tenant_id: {exc}") from None
    return NewTenantOut(**_out(tenant).model_dump(), admin_key=secret)


@router.get("", response_model=TenantsOut, responses=PROBLEM_RESPONSES, summary="Every organisation")
async def list_tenants(request: Request, ask: PageAsk = Depends(page_params)) -> TenantsOut:
    reject_unknown(request, PAGE_PARAMS)
    _operator_only(request)
    page, next_cursor = page_of(await _tenants(request).all(), lambda t: (to_naive_utc(t.created_at), t.tenant_id), ask)
    return TenantsOut(tenants=[_out(t) for t in page], next_cursor=next_cursor)
