"""Allocation (read:costs to read, admin to change the rules): GET /v1/allocation, GET and PUT
/v1/allocation/rules, GET /v1/allocation/rules/versions. Every change of the rules is a new version, audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from outlay.allocation.engine import PatternTooSlow
from outlay.allocation.periods import ReportGrain
from outlay.allocation.rules import AllocationRules
from outlay.store.allocation import RulesVersion, UnknownDimension, allocation_report, rules_json
from services.gateway.auth import principal_of, requires
from services.gateway.permissions import Scope
from services.gateway.query import FieldError, Metric, QueryError, parse_range
from services.gateway.routes.costs import reject_unknown
from services.gateway.schemas import PROBLEM_RESPONSES
from services.gateway.tenant_stores import stores_of

router = APIRouter(prefix="/v1/allocation", tags=["allocation"])
_ADMIN = [Depends(requires(Scope.ADMIN))]
REPORT_PARAMS = frozenset({"start", "end", "by", "grain", "metric", "version"})
MAX_BUCKETS = 800  # ledger buckets a report reads: two years of days, a month of hours


class RulesOut(BaseModel):
    version: int = Field(description="0 when the organisation has no rules yet")
    rules: dict[str, Any]
    created_by: str | None = None
    created_at: datetime | None = None


class VersionsOut(BaseModel):
    versions: list[RulesOut]


class ValueOut(BaseModel):
    value: str = Field(description="An owner, or `(unallocated)` (always listed last)")
    direct: str = Field(description="Cost its own lines carry (decimal string, nine places)")
    shared: dict[str, str] = Field(description="Shared-cost rule → the part of that pool it received")
    total: str


class TotalsOut(BaseModel):
    currency: str
    cost_kind: str
    total: str = Field(description="Every line's cost in the period: the sum of the values' totals, exactly")
    allocated: str
    unallocated: str
    allocated_share: float | None = Field(description="Share of gross cost (amounts regardless of sign) allocated")
    values: list[ValueOut]


class BucketOut(BaseModel):
    period_start: str
    currency: str
    cost_kind: str
    total: str
    values: list[ValueOut]


class AllocationOut(BaseModel):
    dimension: str
    start: str
    end: str = Field(description="Exclusive")
    grain: ReportGrain
    metric: Metric
    rules_version: int = Field(description="The version of the rules this answer was computed with")
    unallocated_value: str
    totals: list[TotalsOut]
    buckets: list[BucketOut] = Field(description="Per bucket: shared costs are split per bucket")


def _out(found: RulesVersion | None) -> RulesOut:
    if found is None:
        return RulesOut(version=0, rules={"dimensions": {}})
    return RulesOut(version=found.version, rules=rules_json(found.rules), created_by=found.created_by,
                    created_at=found.created_at)  # fmt: skip


@router.get("/rules", response_model=RulesOut, responses=PROBLEM_RESPONSES, summary="The current allocation rules")
async def get_rules(
    request: Request, version: int | None = Query(None, ge=1, description="This version instead of the current")
) -> RulesOut:
    reject_unknown(request, frozenset({"version"}))
    store = stores_of(request).allocation_rules
    found = await (store.current() if version is None else store.version(version))
    if found is None and version is not None:
        raise HTTPException(404, f"no version {version} of the allocation rules")
    return _out(found)


@router.get(
    "/rules/versions", response_model=VersionsOut, responses=PROBLEM_RESPONSES, summary="Every version, newest first"
)
async def get_versions(
    request: Request, limit: int = Query(100, ge=1, le=1000, description="At most this many")
) -> VersionsOut:
    reject_unknown(request, frozenset({"limit"}))
    return VersionsOut(versions=[_out(v) for v in await stores_of(request).allocation_rules.versions(limit)])


@router.put(
    "/rules", dependencies=_ADMIN, response_model=RulesOut, responses=PROBLEM_RESPONSES,
    summary="Replace the allocation rules: a new version, audited; reports re-run under it at once",
)  # fmt: skip
async def put_rules(request: Request, body: AllocationRules) -> RulesOut:
    reject_unknown(request, frozenset())
    stored = await stores_of(request).allocation_rules.put(body, principal_of(request).actor)
    return _out(stored)


@router.get(
    "", response_model=AllocationOut, responses=PROBLEM_RESPONSES,
    summary="Allocated cost per owner, shared parts and unallocated included",
)  # fmt: skip
async def get_allocation(
    request: Request,
    by: str = Query(..., description="A dimension the rules define, e.g. team"),
    start: str | None = Query(None, description="Inclusive start (ISO date or datetime, UTC); default: 30 days"),
    end: str | None = Query(None, description="Exclusive end; default: the end of the current bucket"),
    grain: ReportGrain = Query(ReportGrain.DAY, description="Report buckets; shared splits are made per bucket"),
    metric: Metric = Query(Metric.BILLED, description="Which cost to allocate"),
    version: int | None = Query(None, ge=1, description="Re-run under this version of the rules"),
) -> dict[str, Any]:
    reject_unknown(request, REPORT_PARAMS)
    time_range = parse_range(start, end, grain.source)
    if grain is ReportGrain.MONTH:
        for name, value in (("start", time_range.start), ("end", time_range.end)):
            if value.day != 1 or value != grain.bucket(value):
                raise QueryError([FieldError(name, "must be the first day of a month for grain=month")])
    if time_range.buckets(grain.source) > MAX_BUCKETS:
        raise QueryError.single("end", f"at most {MAX_BUCKETS} {grain.source.value}s between start and end")
    stores = stores_of(request)
    try:
        report = await allocation_report(
            stores.allocation_rules, stores.allocation_lines, by, time_range.start, time_range.end, grain,
            metric.value, version,
        )  # fmt: skip
    except UnknownDimension as exc:
        raise QueryError.single(exc.field, str(exc)) from None
    except PatternTooSlow as exc:
        raise QueryError.single("rules", str(exc)) from None
    return report.to_json()
