"""Policies (read:policies to read, write:policies to change): GET /v1/policies, POST /v1/policies, GET, PUT and
DELETE /v1/policies/{id}. Every change is versioned and written to the audit trail with its before and after."""

from __future__ import annotations

import json
from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field

from outlay.policies import PolicyIn, PolicyKind, Rule
from outlay.spread import to_naive_utc
from outlay.store.policies import Policy
from services.gateway.audit_trail import record
from services.gateway.auth import requires
from services.gateway.pagination import PAGE_PARAMS, PageAsk, page_of, page_params
from services.gateway.permissions import Scope
from services.gateway.query import parse_choice
from services.gateway.routes.costs import reject_unknown
from services.gateway.schemas import ID_PATTERN, PROBLEM_RESPONSES
from services.gateway.tenant_stores import stores_of

router = APIRouter(prefix="/v1/policies", tags=["policies"])
_ID = Path(description="The policy's id", max_length=32, pattern=ID_PATTERN)
_WRITE = [Depends(requires(Scope.WRITE_POLICIES))]


class PolicyOut(BaseModel):
    policy_id: str
    name: str
    kind: PolicyKind
    rule: Rule
    enabled: bool
    version: int
    created_at: datetime
    updated_at: datetime


class PoliciesOut(BaseModel):
    policies: list[PolicyOut]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page; null at the end")


def _out(p: Policy) -> PolicyOut:
    return PolicyOut(policy_id=p.policy_id, name=p.name, kind=p.kind, rule=p.rule, enabled=p.enabled,
                     version=p.version, created_at=p.created_at, updated_at=p.updated_at)  # fmt: skip


def _text(p: Policy) -> str:
    return json.dumps({"name": p.name, "enabled": p.enabled, "rule": p.rule.model_dump(mode="json")}, sort_keys=True)


@router.get("", response_model=PoliciesOut, responses=PROBLEM_RESPONSES, summary="The organisation's policies")
async def list_policies(
    request: Request,
    kind: str | None = Query(None, description=f"Only this kind: {', '.join(PolicyKind)}"),
    ask: PageAsk = Depends(page_params),
) -> PoliciesOut:
    reject_unknown(request, frozenset({"kind"}) | PAGE_PARAMS)
    chosen = None if kind is None else parse_choice(PolicyKind, kind, PolicyKind.REQUIRED_TAGS, "kind")
    found = await stores_of(request).policies.all(chosen)
    page, next_cursor = page_of(found, lambda p: (to_naive_utc(p.created_at), p.policy_id), ask)
    return PoliciesOut(policies=[_out(p) for p in page], next_cursor=next_cursor)


@router.get("/{policy_id}", response_model=PolicyOut, responses=PROBLEM_RESPONSES, summary="One policy")
async def get_policy(request: Request, policy_id: str = _ID) -> PolicyOut:
    reject_unknown(request, frozenset())
    found = await stores_of(request).policies.get(policy_id)
    if found is None:
        raise HTTPException(404, f"no policy with id {policy_id!r}")
    return _out(found)


@router.post(
    "", status_code=201, dependencies=_WRITE, response_model=PolicyOut, responses=PROBLEM_RESPONSES,
    summary="Add a policy (its rule's kind decides which service evaluates it)",
)  # fmt: skip
async def create_policy(request: Request, body: PolicyIn) -> PolicyOut:
    reject_unknown(request, frozenset())
    made = await stores_of(request).policies.create(body)
    await record(request, f"policy:{made.policy_id}", "policy_created", _text(made))
    return _out(made)


@router.put(
    "/{policy_id}", dependencies=_WRITE, response_model=PolicyOut, responses=PROBLEM_RESPONSES,
    summary="Change a policy: a new version, audited with before and after",
)  # fmt: skip
async def replace_policy(request: Request, body: PolicyIn, policy_id: str = _ID) -> PolicyOut:
    reject_unknown(request, frozenset())
    changed = await stores_of(request).policies.replace(policy_id, body)
    if changed is None:
        raise HTTPException(404, f"no policy with id {policy_id!r}")
    before, after = changed
    await record(request, f"policy:{policy_id}", "policy_changed",
                 f"v{before.version} {_text(before)} → v{after.version} {_text(after)}")  # fmt: skip
    return _out(after)


@router.delete(
    "/{policy_id}", status_code=204, dependencies=_WRITE, responses=PROBLEM_RESPONSES, summary="Remove a policy"
)
async def delete_policy(request: Request, policy_id: str = _ID) -> Response:
    reject_unknown(request, frozenset())
    gone = await stores_of(request).policies.delete(policy_id)
    if gone is None:
        raise HTTPException(404, f"no policy with id {policy_id!r}")
    await record(request, f"policy:{policy_id}", "policy_deleted", _text(gone))
    return Response(status_code=204)
