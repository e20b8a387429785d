"""Response shapes as documented in OpenAPI. Money is always an exact decimal string."""

from __future__ import annotations

from pydantic import BaseModel, Field

ID_PATTERN = r"^[0-9A-Za-z_.:-]+$"  # ids Outlay gives out (hex digests, UUIDs); anything else is not one

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
class AnomalyOut(BaseModel):
    anomaly_id: str = Field(description="Stable for the whole incident: updates and resolution reuse it")
    series: str = Field(description="Series identity, e.g. 'minute|billing_account_id=111122223333|service=AmazonEC2'")
    dimensions: dict[str, str]
    status: str = Field(description="open while ongoing, closed once it ended")
    direction: str = Field(description="spike or drop")
    start: str
    end: str | None = Field(description="Exclusive end; null while open")
    last_seen: str
    expected_cost: DecimalString = Field(description="What the baseline expected over the incident so far")
    actual_cost: DecimalString
    impact: DecimalString = Field(description="actual - expected (negative for a drop)")
    currency: str
    score: float = Field(description="Peak anomaly likelihood, 0 to 1")
    severity: str = Field(description="low, medium, high or critical")
    root_cause: list[str] = Field(description="Dimension values that explain most of the impact")
    alerted: bool = Field(description="false when recorded only (under the minimum impact, or planned)")
    feedback: str | None = Field(description="true_positive, false_positive or planned, once given")
    feedback_at: str | None
    updated_at: str | None = Field(description="When the gateway stored this state (null on the stream)")


class AnomalyPageOut(BaseModel):
    items: list[AnomalyOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page")


PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"model": Problem, "description": "The body is not valid JSON"},
    401: {
        "model": Problem,
        "description": "Missing or invalid API key",
        "headers": {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    },
    403: {"model": Problem, "description": "The API key lacks the scope this needs (named in `detail`)"},
    404: {"model": Problem, "description": "No such resource"},
    409: {"model": Problem, "description": "The resource is not in a state that allows this (said in `detail`)"},
    422: {"model": Problem, "description": "Invalid parameters; `errors` names each one"},
    429: {
        "model": Problem,
        "description": "This key's request rate is reached; retry after `Retry-After` seconds",
        "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    },
    503: {
        "model": Problem,
        "description": "The store, the broker or the forecast service could not answer; retry after `Retry-After`",
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
