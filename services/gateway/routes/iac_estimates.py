"""IaC estimates of pull requests: `POST /v1/iac/estimates` (CI reports a commit's monthly cost change; scope
`write:estimates`) and `GET /v1/iac/estimates` (newest first, optionally of one repository; scope `read:costs`).
app.py adds each router's scope. A re-report of the same (repository, pull request or ref, commit) replaces it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from outlay.store.iac_estimates import IacEstimate, IacEstimateIn, IacEstimateStore
from services.gateway.audit_trail import entry_for
from services.gateway.pagination import PAGE_PARAMS, PageAsk, page_params
from services.gateway.query import Cursor
from services.gateway.routes.costs import reject_unknown
from services.gateway.schemas import PROBLEM_RESPONSES
from services.gateway.tenant_stores import stores_of

ingest_router = APIRouter(prefix="/v1/iac/estimates", tags=["iac estimates"])
router = APIRouter(prefix="/v1/iac/estimates", tags=["iac estimates"])


class IacEstimatesOut(BaseModel):
    estimates: list[IacEstimate]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page; null at the end")


def _store(request: Request) -> IacEstimateStore:
    return stores_of(request).iac_estimates


def _subject(estimate: IacEstimate) -> str:
    return f"iac_estimate:{estimate.estimate_id}"


def _detail(estimate: IacEstimate) -> str:
    return estimate.model_dump_json()


@ingest_router.post(
    "",
    status_code=201,
    response_model=IacEstimate,
    responses=PROBLEM_RESPONSES,
    summary="Report a pull request commit's monthly cost change (a re-report of the commit replaces it)",
)
async def report_estimate(request: Request, estimate: IacEstimateIn) -> IacEstimate:
    reject_unknown(request, frozenset())
    problem = estimate.problem()
    if problem is not None:
        raise HTTPException(422, f"{problem[0]}: {problem[1]}")
    audit = entry_for(request, "iac_estimate_reported", _subject, _detail)
    return await _store(request).report(estimate, audit)


@router.get("", response_model=IacEstimatesOut, responses=PROBLEM_RESPONSES, summary="Reported estimates, newest first")
async def list_estimates(
    request: Request,
    ask: PageAsk = Depends(page_params),
    repository: str | None = Query(None, min_length=1, max_length=200, description="Only this repository's"),
) -> IacEstimatesOut:
    reject_unknown(request, PAGE_PARAMS | {"repository"})
    found, last = await _store(request).page(ask.limit, ask.after, repository)
    return IacEstimatesOut(estimates=found, next_cursor=None if last is None else Cursor(*last).encode())
