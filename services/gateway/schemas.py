"""Response shapes as documented in OpenAPI. Money is always an exact decimal string."""

from __future__ import annotations

from pydantic import BaseModel, Field

DecimalString = str


class CostRowOut(BaseModel):
    period_start: str = Field(description="Bucket start, ISO 8601 UTC")
    group: dict[str, str | None] = Field(description="Group values by dimension (tag groups as tag:KEY)")
    cost: DecimalString = Field(description="Exact decimal string, nine places")


class TotalOut(BaseModel):
    currency: str
    cost_kind: str
    cost: DecimalString


class CostsOut(BaseModel):
    granularity: str
    start: str
    end: str = Field(description="Exclusive")
    metric: str
    group_by: list[str] = Field(description="Requested groups; currency and cost_kind are always added")
    currency: str | None = Field(description="The currency of every row, or null when rows mix currencies")
    cost_kind: str | None = Field(description="The cost kind of every row, or null when rows mix kinds")
    rows: list[CostRowOut]
    total: DecimalString | None = Field(
        description="Sum of all rows when they share one currency and one cost kind, else null (see totals)"
    )
    totals: list[TotalOut]


class ReconciliationRowOut(BaseModel):
    day: str
    service: str
    currency: str
    estimated: DecimalString
    billed: DecimalString
    difference: DecimalString = Field(description="billed - estimated")
    difference_pct: str | None = Field(description="difference / estimated x 100, two places; null if no estimate")


class ReconciliationTotalOut(BaseModel):
    currency: str
    estimated: DecimalString
    billed: DecimalString
    difference: DecimalString
    difference_pct: str | None


class ReconciliationOut(BaseModel):
    start: str
    end: str
    metric: str
    rows: list[ReconciliationRowOut]
    totals: list[ReconciliationTotalOut]


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] = Field(default_factory=list)


# Documented as application/json by FastAPI; `problems.document_problem_media_type` corrects that to
# application/problem+json, the type every error is actually sent with.
PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {
        "model": Problem,
        "description": "Missing or invalid API key",
        "headers": {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    },
    422: {"model": Problem, "description": "Invalid parameters; `errors` names each one"},
    503: {
        "model": Problem,
        "description": "The cost store could not answer; retry after `Retry-After` seconds",
        "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    },
}


class CheckOut(BaseModel):
    ok: bool
    detail: str


class ReadinessOut(BaseModel):
    status: str = Field(description="ready or unavailable")
    failed: list[str] = Field(description="Names of the checks that failed")
    checks: dict[str, CheckOut] = Field(description="store and broker")
