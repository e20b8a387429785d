"""The optimizer's output: GET /v1/recommendations, GET /v1/plans (and one plan, its audit trail, its measured
saving), POST /v1/plans/{id}/approve and /reject, and GET /v1/savings.

The optimizer owns plans: a decision is sent to it on `outlay.plan_decisions.v1` (202 Accepted) and the plan's
new status shows here, on `outlay.plans.v1` and over WebSocket once the optimizer took it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from outlay.events.plan import ActionPlan, Decision, Kind, PlanDecision, PlanStatus
from outlay.events.usage import Money
from outlay.store.audit import AuditEvent, AuditLog
from outlay.store.plans import PlanStore, RecommendationStore, StoredRecommendation
from services.gateway.auth import principal_of, requires
from services.gateway.event_sender import EventSender, Undelivered
from services.gateway.measured_savings import MAX_AGE_DAYS, measured_savings
from services.gateway.pagination import PAGE_PARAMS, PageAsk, SortKey, page_of, page_params
from services.gateway.permissions import Scope
from services.gateway.query import NUL_MESSAGE, Cursor, ErrorCollector, QueryError, parse_choice, parse_int_in
from services.gateway.routes.audit import MAX_LIMIT as AUDIT_MAX_LIMIT
from services.gateway.routes.audit import AuditEntryOut, entry_out
from services.gateway.routes.costs import reject_unknown, store_of
from services.gateway.schemas import ID_PATTERN, PROBLEM_RESPONSES
from services.gateway.tenant_stores import stores_of

router = APIRouter(tags=["optimizer"])
_ID = Path(description="The plan's id (stable for the same set of changes)", max_length=64, pattern=ID_PATTERN)
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class RecommendationOut(BaseModel):
    recommendation_id: str
    region: str
    kind: Kind
    resource_id: str
    summary: str
    monthly_saving: Money
    confidence: float
    risk: str
    current: str | None
    proposed: str | None
    evidence: dict[str, Any]
    plan_id: str | None = Field(description="The plan that carries it, if it can be applied yet")
    found_at: datetime


class RecommendationsOut(BaseModel):
    recommendations: list[RecommendationOut]
    total_monthly_saving: Money
    currency: str = "USD"
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page; null at the end")


class PlanPageOut(BaseModel):
    plans: list[ActionPlan]
    next_cursor: str | None


class AuditOut(BaseModel):
    plan_id: str
    entries: list[AuditEntryOut]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=2000, description="Why, for the audit trail")

    @field_validator("comment")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError(NUL_MESSAGE)
        return value


class DecisionOut(BaseModel):
    plan_id: str
    decision: Decision
    accepted_at: datetime
    detail: str


class MeasuredOut(BaseModel):
    plan_id: str
    applied_on: date
    days_before: int
    days_after: int
    daily_before: Money | None = Field(description="What the plan's resources cost a day before it was applied")
    daily_after: Money | None = Field(description="... and a day since (whole days after the day it was applied)")
    measured_monthly: Money | None = Field(description="(before - after) x 730 / 24; null until measurable")
    reason: str = Field(description="Why there is no figure yet, if there is none")


class SavingsOut(BaseModel):
    achieved_monthly: Money = Field(description="Monthly saving of the applied plans (as estimated when planned)")
    applied_plans: int
    measured_monthly: Money = Field(
        description="Monthly saving of the applied plans measured from the ledger (the plans that can be measured)"
    )
    measured_plans: int
    available_monthly: Money = Field(description="Monthly saving of the plans proposed, approved or applying")
    available_plans: int
    recommended_monthly: Money = Field(description="Every current recommendation, planned or not")
    currency: str = "USD"


def _plans(request: Request) -> PlanStore:
    return stores_of(request).plans


def _findings(request: Request) -> RecommendationStore:
    return stores_of(request).recommendations


def _audit(request: Request) -> AuditLog:
    return stores_of(request).audit


def _not_found(plan_id: str) -> HTTPException:
    return HTTPException(404, f"no plan with id {plan_id!r}")


@router.get(
    "/v1/recommendations",
    response_model=RecommendationsOut,
    responses=PROBLEM_RESPONSES,
    summary="The latest scan's recommendations, largest saving first",
)
async def list_recommendations(
    request: Request,
    kind: str | None = Query(None, description="Only this kind (rightsize, stop_instance, delete_volume, ...)"),
    region: str | None = Query(None, max_length=32, description="Only this region"),
    ask: PageAsk = Depends(page_params),
) -> RecommendationsOut:
    reject_unknown(request, frozenset({"kind", "region"}) | PAGE_PARAMS)
    chosen = None if kind is None else parse_choice(Kind, kind, Kind.RIGHTSIZE, "kind")
    found = await _findings(request).all(None if chosen is None else chosen.value, region)
    page, next_cursor = page_of(found, _largest_first, ask)
    return RecommendationsOut(
        recommendations=[RecommendationOut(**vars(r)) for r in page],
        total_monthly_saving=sum((r.monthly_saving for r in found), Decimal(0)),
        next_cursor=next_cursor,
    )


_NO_INSTANT = datetime(1970, 1, 1)


def _largest_first(r: StoredRecommendation) -> SortKey:
    """Largest saving first (as text that sorts so: the saving's distance below a bound), then by id."""
    return _NO_INSTANT, f"{Decimal('1e12') - r.monthly_saving:030.9f}|{r.recommendation_id}"


@router.get("/v1/plans", response_model=PlanPageOut, responses=PROBLEM_RESPONSES, summary="Plans, latest first")
async def list_plans(
    request: Request,
    status: str | None = Query(None, description="Only plans in this status (proposed, applied, ...)"),
    limit: str | None = Query(None, description=f"Page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"),
    cursor: str | None = Query(None, description="next_cursor of the previous page"),
) -> PlanPageOut:
    reject_unknown(request, frozenset({"status", "limit", "cursor"}))
    check = ErrorCollector()
    chosen = check.attempt(
        lambda: None if status is None else parse_choice(PlanStatus, status, PlanStatus.PROPOSED, "status")
    )
    size = check.attempt(lambda: parse_int_in(limit, 1, MAX_LIMIT, DEFAULT_LIMIT, "limit"))
    after = check.attempt(lambda: None if cursor is None else Cursor.decode(cursor))
    if check.errors or size is None:
        raise QueryError(check.errors)
    page = await _plans(request).page(
        chosen, size, None if after is None else (after.at.replace(tzinfo=UTC), after.key)
    )
    next_cursor = None
    if page.next_cursor is not None:
        at, plan_id = page.next_cursor
        next_cursor = Cursor(at.replace(tzinfo=None), plan_id).encode()
    return PlanPageOut(plans=page.plans, next_cursor=next_cursor)


@router.get("/v1/plans/{plan_id}", response_model=ActionPlan, responses=PROBLEM_RESPONSES, summary="One plan")
async def get_plan(request: Request, plan_id: str = _ID) -> ActionPlan:
    reject_unknown(request, frozenset())
    found = await _plans(request).get(plan_id)
    if found is None:
        raise _not_found(plan_id)
    return found


@router.get(
    "/v1/plans/{plan_id}/audit",
    response_model=AuditOut,
    responses=PROBLEM_RESPONSES,
    summary="Every decision, step, check and rollback of a plan, in order",
)
async def plan_audit(request: Request, plan_id: str = _ID) -> AuditOut:
    reject_unknown(request, frozenset())
    if await _plans(request).get(plan_id) is None:
        raise _not_found(plan_id)
    # (the page is as long as the API's longest audit page: a plan's trail is steps of its resources)
    entries = await _audit(request).page(subject=f"plan:{plan_id}", limit=AUDIT_MAX_LIMIT)
    return AuditOut(plan_id=plan_id, entries=[entry_out(e) for e in entries])


@router.get(
    "/v1/plans/{plan_id}/measured",
    response_model=MeasuredOut,
    responses=PROBLEM_RESPONSES,
    summary="What an applied plan saves, measured from the ledger: its resources' daily cost before and since",
)
async def plan_measured(request: Request, plan_id: str = _ID) -> MeasuredOut:
    reject_unknown(request, frozenset())
    plan = await _plans(request).get(plan_id)
    if plan is None:
        raise _not_found(plan_id)
    if plan.status is not PlanStatus.APPLIED:
        raise HTTPException(409, f"plan {plan_id!r} is {plan.status.value}: only an applied plan saves anything")
    found = await measured_savings(store_of(request), [plan], datetime.now(UTC))
    if not found:
        raise HTTPException(409, f"plan {plan_id!r} was applied more than {MAX_AGE_DAYS} days ago: not measured")
    m = found[0]
    return MeasuredOut(
        plan_id=m.plan_id, applied_on=m.applied_on, days_before=m.days_before, days_after=m.days_after,
        daily_before=m.daily_before, daily_after=m.daily_after, measured_monthly=m.monthly, reason=m.reason,
    )  # fmt: skip


async def _decide(request: Request, plan_id: str, decision: Decision, body: DecisionIn) -> DecisionOut:
    reject_unknown(request, frozenset())
    plan = await _plans(request).get(plan_id)
    if plan is None:
        raise _not_found(plan_id)
    if plan.status is not PlanStatus.PROPOSED:
        raise HTTPException(409, f"plan {plan_id!r} is {plan.status.value}: only a proposed plan can be decided")
    principal = principal_of(request)
    if principal.user_id is None and not principal.operator:
        raise HTTPException(403, "plans are decided by people: use a key of your own (POST /v1/me/keys)")
    asked_by = set((plan.requested_by or "").split(",")) - {""}
    if decision is Decision.APPROVE and not asked_by and not principal.operator:
        # Two people or none: an approval nobody asked for would be one person's decision alone.
        raise HTTPException(
            409,
            f"plan {plan_id!r}: nobody has asked for its approval; someone asks first "
            f"(POST /v1/plans/{plan_id}/request-approval), then another approver decides",
        )
    if decision is Decision.APPROVE and asked_by & principal.approver_identities:
        raise HTTPException(
            403,
            "whoever asked for a plan's approval cannot approve it, nor anyone with a key they made or that made "
            "theirs: another approver, with a key of their own (POST /v1/me/keys), must",
        )
    now = datetime.now(UTC)
    sender: EventSender = request.app.state.events
    audit, subject, actor = _audit(request), f"plan:{plan_id}", principal_of(request).actor
    # Recorded before it is sent, so the trail reads in order (the optimizer may act within milliseconds).
    await audit.append([AuditEvent(now, actor, subject, f"{decision.value}_requested", body.comment)])
    try:
        await sender.send(
            PlanDecision(
                plan_id=plan_id,
                decision=decision,
                actor=actor,
                comment=body.comment,
                at=now,
                tenant_id=principal.tenant_id,
            )  # fmt: skip
        )
    except Undelivered as exc:
        await audit.append([AuditEvent(datetime.now(UTC), actor, subject, f"{decision.value}_undelivered", str(exc))])
        raise HTTPException(503, f"the decision was not recorded: {exc}", headers={"Retry-After": "5"}) from exc
    return DecisionOut(
        plan_id=plan_id,
        decision=decision,
        accepted_at=now,
        detail="sent to the optimizer; the plan's status changes when it takes the decision",
    )


@router.post(
    "/v1/plans/{plan_id}/request-approval",
    dependencies=[Depends(requires(Scope.REQUEST_PLANS))],
    response_model=ActionPlan,
    responses=PROBLEM_RESPONSES,
    summary="Ask for a proposed plan's approval; an approver other than the asker then approves or rejects it",
)
async def request_approval(request: Request, body: DecisionIn | None = None, plan_id: str = _ID) -> ActionPlan:
    reject_unknown(request, frozenset())
    principal, now = principal_of(request), datetime.now(UTC)
    if principal.user_id is None:
        raise HTTPException(403, "approvals are asked for by people: use a key of your own (POST /v1/me/keys)")
    plans = _plans(request)
    # Recorded with whoever made the asker's key: they could have asked with it, so they may not approve either.
    asked = await plans.request_approval(plan_id, ",".join(sorted(principal.identities)), now)
    if asked is None:
        plan = await plans.get(plan_id)
        if plan is None:
            raise _not_found(plan_id)
        if plan.status is not PlanStatus.PROPOSED:
            raise HTTPException(409, f"plan {plan_id!r} is {plan.status.value}: only a proposed plan awaits approval")
        raise HTTPException(409, f"plan {plan_id!r}: approval was already asked for by {plan.requested_by}")
    comment = (body or DecisionIn()).comment
    await _audit(request).append(
        [AuditEvent(now, principal.actor, f"plan:{plan_id}", "approval_requested", f"{principal.identity} {comment}")]
    )
    return asked


@router.post(
    "/v1/plans/{plan_id}/approve",
    dependencies=[Depends(requires(Scope.APPROVE_PLANS))],
    status_code=202,
    response_model=DecisionOut,
    responses=PROBLEM_RESPONSES,
    summary="Approve a proposed plan: the optimizer applies it (canary, checks, batches, rollback on failure)",
)
async def approve_plan(request: Request, body: DecisionIn | None = None, plan_id: str = _ID) -> DecisionOut:
    return await _decide(request, plan_id, Decision.APPROVE, body or DecisionIn())


@router.post(
    "/v1/plans/{plan_id}/reject",
    dependencies=[Depends(requires(Scope.APPROVE_PLANS))],
    status_code=202,
    response_model=DecisionOut,
    responses=PROBLEM_RESPONSES,
    summary="Reject a proposed plan",
)
async def reject_plan(request: Request, body: DecisionIn | None = None, plan_id: str = _ID) -> DecisionOut:
    return await _decide(request, plan_id, Decision.REJECT, body or DecisionIn())


@router.get(
    "/v1/savings",
    response_model=SavingsOut,
    responses=PROBLEM_RESPONSES,
    summary="Savings achieved (applied plans) and available (open plans, every recommendation), per month",
)
async def savings(request: Request) -> SavingsOut:
    reject_unknown(request, frozenset())
    totals = await _plans(request).savings()
    recommended = sum((r.monthly_saving for r in await _findings(request).all()), Decimal(0))
    applied = await _plans(request).page(PlanStatus.APPLIED, limit=MAX_LIMIT)
    measured = [m for m in await measured_savings(store_of(request), applied.plans, datetime.now(UTC)) if m.monthly]
    return SavingsOut(
        achieved_monthly=totals.applied,
        applied_plans=totals.applied_plans,
        measured_monthly=sum((m.monthly or Decimal(0) for m in measured), Decimal(0)),
        measured_plans=len(measured),
        available_monthly=totals.available,
        available_plans=totals.available_plans,
        recommended_monthly=recommended,
    )
