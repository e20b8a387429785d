"""GET /v1/costs, /v1/costs/reconciliation and /v1/costs/dimensions: translate query parameters into store
queries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from outlay.spread import Grain
from services.gateway.answer_cache import AnswerCache
from services.gateway.costs_query import CostStore
from services.gateway.query import DIMENSIONS, FieldError, Metric, QueryError, build_query, parse_range
from services.gateway.report import iso
from services.gateway.schemas import PROBLEM_RESPONSES, CostsOut, ReconciliationOut
from services.gateway.tenant_stores import stores_of

router = APIRouter(prefix="/v1/costs", tags=["costs"])

_WHEN = "ISO 8601 date or datetime, UTC unless an offset is given; must fall on a granularity boundary"
COSTS_PARAMS = frozenset({"start", "end", "granularity", "group_by", "metric", "tag", *DIMENSIONS})
RECONCILIATION_PARAMS = frozenset({"start", "end", "metric"})
DIMENSION_VALUES_CAP = 1000
DIMENSION_DAYS_CAP = 400  # a year and a bit: the dimensions of this year and the last months of the one before


def store_of(request: Request) -> CostStore:
    return stores_of(request).costs


def reject_unknown(request: Request, allowed: frozenset[str]) -> None:
    """A misspelt filter (`servce=`) would silently widen the answer; refuse it instead."""
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in allowed]
    if unknown:
        raise QueryError([FieldError(name, "unknown parameter") for name in unknown])


def _dimension(name: str) -> Any:
    return Query(default=[], description=f"Keep only these {name} values (repeat for OR)")


@router.get(
    "",
    response_model=CostsOut,
    responses=PROBLEM_RESPONSES,
    summary="Cost over time, grouped and filtered",
)
async def get_costs(
    request: Request,
    start: str | None = Query(None, description=f"Inclusive start; {_WHEN}. Default: range before end"),
    end: str | None = Query(None, description=f"Exclusive end; {_WHEN}. Default: end of the current bucket"),
    granularity: Grain = Query(Grain.DAY, description="Bucket size; default ranges: 1 hour, 2 days, 30 days"),
    group_by: list[str] = Query(
        default=[],
        description="Dimensions or tag:KEY, repeatable or comma-separated; currency and cost_kind always",
    ),
    metric: Metric = Query(Metric.BILLED, description="Which cost column to sum"),
    tag: list[str] = Query(default=[], description="Tag filter KEY:VALUE (same key repeated = OR, keys = AND)"),
    billing_account_id: list[str] = _dimension("billing_account_id"),
    sub_account_id: list[str] = _dimension("sub_account_id"),
    region: list[str] = _dimension("region"),
    service: list[str] = _dimension("service"),
    resource_id: list[str] = _dimension("resource_id"),
    provider: list[str] = _dimension("provider"),
    cost_kind: list[str] = _dimension("cost_kind"),
    currency: list[str] = _dimension("currency"),
) -> Response:
    reject_unknown(request, COSTS_PARAMS)
    query = build_query(
        start=start,
        end=end,
        granularity=granularity.value,
        group_by=group_by,
        dimension_filters={
            "billing_account_id": billing_account_id,
            "sub_account_id": sub_account_id,
            "region": region,
            "service": service,
            "resource_id": resource_id,
            "provider": provider,
            "cost_kind": cost_kind,
            "currency": currency,
        },
        tag_filters=tag,
        metric=metric.value,
        max_cells=request.app.state.max_cells,
    )
    # The body is rendered as documented (CostsOut) by the store; returned as is, not validated row by row again.
    store = store_of(request)
    answers: AnswerCache = request.app.state.answers
    span = (query.range.start, query.range.end)
    body = await answers.get(store.tenant_id, query.identity, span, lambda: store.costs_body(query))
    return Response(body, media_type="application/json")


@router.get(
    "/reconciliation",
    response_model=ReconciliationOut,
    responses=PROBLEM_RESPONSES,
    summary="Live estimates against the bill, per service and day",
)
async def get_reconciliation(
    request: Request,
    start: str | None = Query(None, description=f"Inclusive start day; {_WHEN}. Default: 30 days before end"),
    end: str | None = Query(None, description="Exclusive end day. Default: tomorrow (today included)"),
    metric: Metric = Query(Metric.BILLED, description="Which cost column to compare"),
) -> dict[str, Any]:
    reject_unknown(request, RECONCILIATION_PARAMS)
    time_range = parse_range(start, end, Grain.DAY)
    days_cap = request.app.state.max_cells
    if time_range.buckets(Grain.DAY) > days_cap:
        raise QueryError.single("end", f"at most {days_cap} days between start and end")
    report = await store_of(request).reconciliation(time_range, metric)
    return report.to_json()


class DimensionsOut(BaseModel):
    start: str
    end: str = Field(description="Exclusive")
    dimensions: dict[str, list[str]] = Field(description="Values per dimension (account, region, service, ...)")
    tags: dict[str, list[str]] = Field(description="Values per tag key: what `group_by=tag:KEY` and `tag=` accept")
    limit: int = Field(description="At most this many values per dimension and tag key, and tag keys")


@router.get(
    "/dimensions",
    response_model=DimensionsOut,
    responses=PROBLEM_RESPONSES,
    summary="What costs can be grouped and filtered by: the values of each dimension and tag key in a period",
)
async def get_dimensions(
    request: Request,
    start: str | None = Query(None, description=f"Inclusive start day; {_WHEN}. Default: 30 days before end"),
    end: str | None = Query(None, description="Exclusive end day. Default: tomorrow (today included)"),
) -> DimensionsOut:
    reject_unknown(request, frozenset({"start", "end"}))
    time_range = parse_range(start, end, Grain.DAY)
    if time_range.buckets(Grain.DAY) > DIMENSION_DAYS_CAP:
        raise QueryError.single("end", f"at most {DIMENSION_DAYS_CAP} days between start and end")
    cap = DIMENSION_VALUES_CAP
    values, tags = await store_of(request).dimensions(time_range, cap)
    return DimensionsOut(start=iso(time_range.start), end=iso(time_range.end), dimensions=values, tags=tags, limit=cap)
