"""Deployments and their cost: `POST /v1/deployments` (a pipeline reports a deploy; scope `write:deployments`) and
`GET /v1/deployments` (newest first, each with the step in its scope's hourly cost at the deploy; scope `read:costs`).
app.py adds each router's scope."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from outlay.deployments.cost_step import DEFAULT_WINDOW_HOURS, CostStep, StepWindows, cost_step, step_windows
from outlay.money import nanos_text
from outlay.scopes import TAG_PREFIX, parse_scope
from outlay.spread import Grain, to_naive_utc
from outlay.store.deployments import Deployment, DeploymentIn, DeploymentStore
from services.gateway.audit_trail import entry_for
from services.gateway.auth import principal_of
from services.gateway.pagination import PAGE_PARAMS, PageAsk, page_params
from services.gateway.query import (
    CostQuery,
    Cursor,
    FieldError,
    Filters,
    GroupKey,
    QueryError,
    TimeRange,
    parse_group_by,
)
from services.gateway.routes.costs import reject_unknown
from services.gateway.schemas import PROBLEM_RESPONSES
from services.gateway.tenant_stores import stores_of

MAX_DEPLOYMENTS_PAGE = 50
ingest_router = APIRouter(prefix="/v1/deployments", tags=["deployments"])
router = APIRouter(prefix="/v1/deployments", tags=["deployments"])


class CostStepOut(BaseModel):
    """The step in the scope's hourly cost at the deploy; money as decimal strings."""

    currency: str
    cost_kind: str = Field(description="billed when the bill covers both windows, else the live estimate")
    window_hours: int
    hours_before: int
    hours_after: int = Field(description="Hours after the deploy's hour that have passed (the window, once settled)")
    hourly_before: str
    hourly_after: str
    hourly_change: str
    monthly_change: str = Field(description="hourly_change x 730 hours: a month at the new level")
    change_share: float | None = Field(description="hourly_change / hourly_before; null when nothing was spent before")
    settled: bool = Field(
        description="False while the window after is still running: the hours after so far are then compared with "
        "the same hours a day earlier"
    )


class DeploymentOut(Deployment):
    cost_step: CostStepOut | None = Field(description="null until a whole hour after the deploy's hour has passed")


class DeploymentsOut(BaseModel):
    deployments: list[DeploymentOut]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page; null at the end")


def _store(request: Request) -> DeploymentStore:
    return stores_of(request).deployments


def _subject(deployment: Deployment) -> str:
    return f"deployment:{deployment.deployment_id}"


def _detail(deployment: Deployment) -> str:
    return deployment.model_dump_json()


def scope_filters(scope: str) -> Filters:
    """The cost query filters of a scope name (`outlay.scopes`)."""
    ((name, value),) = parse_scope(scope).items()
    if name.startswith(TAG_PREFIX):
        return Filters(tags={name[len(TAG_PREFIX) :]: (value,)})
    return Filters(dimensions={name: (value,)})


def _step_out(currency: str, step: CostStep, window_hours: int) -> CostStepOut:
    return CostStepOut(
        currency=currency,
        cost_kind=step.cost_kind,
        window_hours=window_hours,
        hours_before=step.hours_before,
        hours_after=step.hours_after,
        hourly_before=nanos_text(step.hourly_before),
        hourly_after=nanos_text(step.hourly_after),
        hourly_change=nanos_text(step.hourly_change),
        monthly_change=nanos_text(step.monthly_change),
        change_share=None if step.change_share is None else round(step.change_share, 4),
        settled=step.settled,
    )


async def _cost_step(request: Request, deployment: Deployment, now: datetime, window: int) -> CostStepOut | None:
    windows: StepWindows = step_windows(to_naive_utc(deployment.deployed_at), window)
    query = CostQuery(
        range=TimeRange(windows.first, windows.end),
        grain=Grain.HOUR,
        group_by=parse_group_by([]),  # the implicit currency and cost kind
        filters=scope_filters(deployment.scope),
    )
    report = await stores_of(request).costs.costs(query)
    currency_at, kind_at = query.group_by.index(GroupKey("currency")), query.group_by.index(GroupKey("cost_kind"))
    # currency -> cost kind -> hour -> nano-units
    hourly: dict[str, dict[str, dict[datetime, int]]] = defaultdict(lambda: defaultdict(dict))
    spend: dict[str, int] = defaultdict(int)
    for row in report.rows:
        currency, kind = row.group[currency_at] or "", row.group[kind_at] or ""
        hourly[currency][kind][row.period_start] = row.nanos
        spend[currency] += abs(row.nanos)
    # The scope's main currency; with no cost at all in the windows, a step from nothing to nothing in USD.
    currency = max(spend, key=lambda c: (spend[c], c)) if spend else "USD"
    step = cost_step(hourly[currency], windows, to_naive_utc(now))
    return None if step is None else _step_out(currency, step, window)


@ingest_router.post(
    "",
    status_code=201,
    response_model=Deployment,
    responses=PROBLEM_RESPONSES,
    summary="Report a deploy (a re-report of the same scope, version and time replaces it)",
)
async def report_deployment(request: Request, deployment: DeploymentIn) -> Deployment:
    reject_unknown(request, frozenset())
    audit = entry_for(request, "deployment_reported", _subject, _detail)
    try:
        return await _store(request).report(deployment, principal_of(request).actor, datetime.now(UTC), audit)
    except ValueError as exc:  # the deploy time: named in the message
        raise HTTPException(422, str(exc)) from None


@router.get(
    "",
    response_model=DeploymentsOut,
    responses=PROBLEM_RESPONSES,
    summary="Deploys, newest first, with their cost step",
)
async def list_deployments(
    request: Request,
    ask: PageAsk = Depends(page_params),
    scope: str | None = Query(None, min_length=1, max_length=1024, description="Only this scope's deploys"),
    window_hours: int = Query(DEFAULT_WINDOW_HOURS, ge=1, le=168, description="Hours compared on each side"),
) -> DeploymentsOut:
    reject_unknown(request, PAGE_PARAMS | {"scope", "window_hours"})
    limit = min(ask.limit, MAX_DEPLOYMENTS_PAGE)  # each deploy's step is one cost query
    if "limit" in request.query_params and ask.limit > MAX_DEPLOYMENTS_PAGE:
        raise QueryError([FieldError("limit", f"at most {MAX_DEPLOYMENTS_PAGE} deploys a page")])
    found, last = await _store(request).page(limit, ask.after, scope)
    now = datetime.now(UTC)
    out = [DeploymentOut(**d.model_dump(), cost_step=await _cost_step(request, d, now, window_hours)) for d in found]
    return DeploymentsOut(deployments=out, next_cursor=None if last is None else Cursor(*last).encode())
