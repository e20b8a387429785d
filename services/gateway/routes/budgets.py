"""Budgets: POST/GET /v1/budgets, GET/PUT/DELETE /v1/budgets/{id}, GET /v1/budgets/{id}/status and the variance
report GET /v1/budgets/variance. The gateway stores budgets; their status comes from the forecast service."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from pydantic import BaseModel, Field

from outlay.budgets import Budget, BudgetIn, BudgetStatus
from outlay.events.policy import PolicyViolation, violation_id
from outlay.policies import BudgetCeiling, PolicyKind
from outlay.spread import to_naive_utc
from outlay.store.budgets import BudgetStore
from services.gateway.audit_trail import entry_for
from services.gateway.auth import requires
from services.gateway.event_sender import EventSender, Undelivered
from services.gateway.forecasts.client import ForecastClient
from services.gateway.pagination import PAGE_PARAMS, PageAsk, page_of, page_params
from services.gateway.permissions import Scope
from services.gateway.routes.costs import reject_unknown
from services.gateway.schemas import ID_PATTERN, PROBLEM_RESPONSES
from services.gateway.tenant_stores import stores_of

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/budgets", tags=["budgets"])
_ID = Path(description="The budget's id", max_length=64, pattern=ID_PATTERN)


class BudgetsOut(BaseModel):
    budgets: list[Budget]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page; null at the end")


class VarianceOut(BaseModel):
    budgets: list[BudgetStatus]


def _store(request: Request) -> BudgetStore:
    return stores_of(request).budgets


def _subject(budget: Budget) -> str:
    return f"budget:{budget.budget_id}"


def _detail(budget: Budget) -> str:
    return budget.model_dump_json()


def _forecasts(request: Request) -> ForecastClient:
    return request.app.state.forecasts  # type: ignore[no-any-return]


@router.post(
    "",
    status_code=201,
    response_model=Budget,
    responses=PROBLEM_RESPONSES,
    summary="Create a budget",
    dependencies=[Depends(requires(Scope.WRITE_BUDGETS))],
)
async def create_budget(request: Request, budget: BudgetIn) -> Budget:
    reject_unknown(request, frozenset())
    await _check_ceilings(request, budget)
    return await _store(request).create(budget, entry_for(request, "budget_created", _subject, _detail))


async def _check_ceilings(request: Request, budget: BudgetIn) -> None:
    """A budget above an enabled budget_ceiling policy is refused, and the attempt is a policy violation event."""
    stores = stores_of(request)
    for policy in await stores.policies.all(PolicyKind.BUDGET_CEILING, enabled_only=True):
        rule = policy.rule
        if isinstance(rule, BudgetCeiling) and rule.exceeded_by(budget.amount, budget.currency):
            detail = f"a budget of {budget.amount} {budget.currency} for {budget.scope} is above {rule.max_amount}"
            violation = PolicyViolation(
                violation_id=violation_id(stores.tenant_id, policy.policy_id, f"budget:{budget.scope}", detail),
                tenant_id=stores.tenant_id, policy_id=policy.policy_id, policy_name=policy.name,
                kind=policy.kind.value, subject=f"budget:{budget.scope}", detail=detail,
                observed_at=datetime.now(UTC), evaluated_by="gateway",
            )  # fmt: skip
            sender: EventSender = request.app.state.events
            try:
                await sender.send(violation)
            except Undelivered:
                log.warning("policy violation event not delivered (budget refused anyway): %s", detail)
            raise HTTPException(
                422, f"amount: {budget.amount} is above the ceiling of policy {policy.name!r} ({rule.max_amount})"
            )


@router.get("", response_model=BudgetsOut, responses=PROBLEM_RESPONSES, summary="Every budget, oldest first")
async def list_budgets(request: Request, ask: PageAsk = Depends(page_params)) -> BudgetsOut:
    reject_unknown(request, PAGE_PARAMS)
    page, next_cursor = page_of(await _store(request).all(), lambda b: (to_naive_utc(b.created_at), b.budget_id), ask)
    return BudgetsOut(budgets=page, next_cursor=next_cursor)


@router.get(
    "/variance",
    response_model=VarianceOut,
    responses=PROBLEM_RESPONSES,
    summary="Budget variance report: every budget's spend, forecast to its period's end and variance",
)
async def variance_report(request: Request) -> VarianceOut:
    reject_unknown(request, frozenset())
    return VarianceOut(budgets=await _forecasts(request).budget_report(tenant_id=stores_of(request).tenant_id))


@router.get("/{budget_id}", response_model=Budget, responses=PROBLEM_RESPONSES, summary="One budget")
async def get_budget(request: Request, budget_id: str = _ID) -> Budget:
    reject_unknown(request, frozenset())
    found = await _store(request).get(budget_id)
    if found is None:
        raise HTTPException(404, f"no budget with id {budget_id!r}")
    return found


@router.put(
    "/{budget_id}",
    response_model=Budget,
    responses=PROBLEM_RESPONSES,
    summary="Replace a budget's name, scope, amount, period and thresholds (its id and creation time stay)",
    dependencies=[Depends(requires(Scope.WRITE_BUDGETS))],
)
async def replace_budget(request: Request, budget: BudgetIn, budget_id: str = _ID) -> Budget:
    reject_unknown(request, frozenset())
    await _check_ceilings(request, budget)
    stored = await _store(request).replace(budget_id, budget, entry_for(request, "budget_updated", _subject, _detail))
    if stored is None:
        raise HTTPException(404, f"no budget with id {budget_id!r}")
    return stored


@router.delete(
    "/{budget_id}",
    status_code=204,
    responses=PROBLEM_RESPONSES,
    summary="Delete a budget",
    dependencies=[Depends(requires(Scope.WRITE_BUDGETS))],
)
async def delete_budget(request: Request, budget_id: str = _ID) -> Response:
    reject_unknown(request, frozenset())
    if await _store(request).delete(budget_id, entry_for(request, "budget_deleted", _subject, _detail)) is None:
        raise HTTPException(404, f"no budget with id {budget_id!r}")
    return Response(status_code=204)


@router.get(
    "/{budget_id}/status",
    response_model=BudgetStatus,
    responses=PROBLEM_RESPONSES,
    summary="Where a budget stands: spent, forecast to the period's end, thresholds and when they cross",
)
async def budget_status(request: Request, budget_id: str = _ID) -> BudgetStatus:
    reject_unknown(request, frozenset())
    return await _forecasts(request).budget_status(budget_id, tenant_id=stores_of(request).tenant_id)
