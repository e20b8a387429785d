"""The structured query a question becomes, and the answer to it: one pydantic definition each.

A `StructuredQuery` maps one to one onto the public API; its `kind` says which route answers it:

- `cost`: each period is one `GET /v1/costs` (days from `start` to `end`, exclusive, the filters as that route's
  parameters, `group_by` as its `group_by`), and an `explain_spike` also reads `GET /v1/anomalies` over the period;
- `unit_cost`: one `GET /v1/unit-costs` (cost per customer or feature, per N of a business figure);
- `gross_margin`: one `GET /v1/unit-costs` with `metric=revenue` (revenue minus cost, per customer or feature);
- `correlation`: one `GET /v1/unit-economics/correlation` (how daily cost moves with a business figure);
- `allocation`: one `GET /v1/allocation` (cost per owner under the tenant's allocation rules, unallocated shown).

The offline parser emits it, an LLM is constrained to its JSON schema, and the answer shows it so the person asking
can check what was run.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from outlay.events.business_metric import METRIC_NAME, REVENUE
from outlay.scopes import DIMENSIONS, TAG_PREFIX

MAX_PERIOD_DAYS = 400  # the vocabulary covers about this much history; longer questions are refused
MAX_HOURLY_DAYS = 31  # hourly answers longer than a month are unreadable and heavy
MAX_GROUP_BY = 3
MAX_FILTER_VALUES = 100
MAX_LIMIT = 100
MAX_PER = 10**12  # as GET /v1/unit-costs accepts at most
DEFAULT_UNIT_METRIC = "requests"  # what GET /v1/unit-costs divides by when no metric is named
# The cost tags GET /v1/unit-costs groups by (its `by`): the customer or feature tag, spelt exactly so.
UNIT_GROUPS = {"tag:customer": "customer", "tag:feature": "feature"}
_ALLOCATION_DIMENSION = r"^[a-z][a-z0-9_-]{0,63}$"  # as the allocation rules name their dimensions


class QueryKind(StrEnum):
    """Which public route answers the query."""

    COST = "cost"  # GET /v1/costs (and /v1/anomalies for explain_spike)
    UNIT_COST = "unit_cost"  # GET /v1/unit-costs: cost per customer / feature, per N of a business figure
    GROSS_MARGIN = "gross_margin"  # GET /v1/unit-costs?metric=revenue: revenue minus cost
    CORRELATION = "correlation"  # GET /v1/unit-economics/correlation: elasticity, fixed part of cost
    ALLOCATION = "allocation"  # GET /v1/allocation: cost per owner under the allocation rules


UNIT_KINDS = frozenset({QueryKind.UNIT_COST, QueryKind.GROSS_MARGIN})


class Intent(StrEnum):
    COSTS = "costs"  # amounts, optionally grouped, compared, ranked
    EXPLAIN_SPIKE = "explain_spike"  # anomalies in the period, and what grew most against the period before


class AskGrain(StrEnum):
    TOTAL = "total"  # one amount per group over the whole period
    DAY = "day"
    HOUR = "hour"


class OrderBy(StrEnum):
    COST = "cost"
    CHANGE = "change"  # current minus comparison (growth); needs compare_to


class Metric(StrEnum):
    BILLED = "billed"
    EFFECTIVE = "effective"  # amortised: commitments spread over the usage they cover
    LIST = "list"  # on-demand list price


def is_dimension(name: str) -> bool:
    """A column of GET /v1/costs, or `tag:KEY` with a non-empty key."""
    return name in DIMENSIONS or (name.startswith(TAG_PREFIX) and bool(name[len(TAG_PREFIX) :].strip()))


def _check_dimension(name: str) -> str:
    if not is_dimension(name):
        raise ValueError(f"unknown dimension {name!r} (use one of {', '.join(DIMENSIONS)}, or tag:KEY)")
    if "\x00" in name:
        raise ValueError("must not contain NUL characters")
    return name


class Period(BaseModel):
    """Whole UTC days: `start` inclusive, `end` exclusive."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: date = Field(description="First day, inclusive (UTC)")
    end: date = Field(description="Day after the last one: exclusive (UTC)")

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if (self.end - self.start).days > MAX_PERIOD_DAYS:
            raise ValueError(f"at most {MAX_PERIOD_DAYS} days")
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def text(self) -> str:
        last = date.fromordinal(self.end.toordinal() - 1)
        return self.start.isoformat() if self.days == 1 else f"{self.start.isoformat()} to {last.isoformat()}"


class Filter(BaseModel):
    """Keep only these values of one dimension (OR within it; filters on different dimensions are ANDed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dimension: str = Field(description="A dimension (service, region, sub_account_id, ...) or tag:KEY")
    values: tuple[str, ...] = Field(min_length=1, max_length=MAX_FILTER_VALUES, description="Values, exactly as stored")

    _dimension = field_validator("dimension")(_check_dimension)

    @field_validator("values")
    @classmethod
    def _canonical(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if any("\x00" in v for v in values):
            raise ValueError("must not contain NUL characters")
        return tuple(sorted(set(values)))  # sorted: two equal questions give equal queries


class StructuredQuery(BaseModel):
    """What a question asks of the cost API."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: QueryKind = Field(
        default=QueryKind.COST,
        description="Which route answers: cost (GET /v1/costs), unit_cost / gross_margin (GET /v1/unit-costs), "
        "correlation (GET /v1/unit-economics/correlation), allocation (GET /v1/allocation)",
    )
    intent: Intent = Field(default=Intent.COSTS, description="costs, or explain_spike (reads anomalies too)")
    metric: Metric = Field(default=Metric.BILLED, description="Which cost: billed, effective (amortised) or list")
    period: Period = Field(description="The period asked about")
    compare_to: Period | None = Field(default=None, description="The period to compare with (growth, 'vs')")
    grain: AskGrain = Field(default=AskGrain.TOTAL, description="total over the period, or per day / hour")
    group_by: tuple[str, ...] = Field(
        default=(), max_length=MAX_GROUP_BY, description="Dimensions or tag:KEY to break the amount down by"
    )
    filters: tuple[Filter, ...] = Field(default=(), description="Keep only these values")
    order_by: OrderBy = Field(default=OrderBy.COST, description="Rank groups by cost, or by change (growth)")
    descending: bool = Field(default=True, description="Largest first (false: smallest / most negative first)")
    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT, description="Top-N groups; null: all")
    business_metric: str | None = Field(
        default=None,
        pattern=METRIC_NAME,
        description="unit_cost: the business figure cost is divided by (null: requests); correlation: the driver "
        "(null: revenue). Must be a figure the tenant has posted. Null for other kinds",
    )
    per: int | None = Field(
        default=None, ge=1, le=MAX_PER, description="unit_cost: cost per this many units (null: 1000 for requests, "
        "else 1)",
    )  # fmt: skip
    shared_by_usage: bool = Field(
        default=False,
        description="unit_cost / gross_margin grouped by customer or feature: split shared (untagged) cost across "
        "the groups by their figure of business_metric",
    )
    allocate_by: str | None = Field(
        default=None,
        pattern=_ALLOCATION_DIMENSION,
        description="allocation: a dimension the tenant's allocation rules define (e.g. team); null otherwise",
    )

    @field_validator("group_by")
    @classmethod
    def _groups(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            _check_dimension(value)
        if len(set(values)) != len(values):
            raise ValueError("a dimension appears twice")
        return values

    @field_validator("filters")
    @classmethod
    def _sorted_filters(cls, filters: tuple[Filter, ...]) -> tuple[Filter, ...]:
        names = [f.dimension for f in filters]
        if len(set(names)) != len(names):
            raise ValueError("one filter per dimension (list several values in it instead)")
        return tuple(sorted(filters, key=lambda f: f.dimension))

    @model_validator(mode="after")
    def _consistent(self) -> StructuredQuery:
        if self.kind is not QueryKind.COST:
            self._check_business()
        elif self.business_metric is not None or self.per is not None or self.shared_by_usage or self.allocate_by:
            raise ValueError("business_metric, per, shared_by_usage and allocate_by are not for kind cost")
        if self.order_by is OrderBy.CHANGE and self.compare_to is None:
            raise ValueError("order_by=change needs compare_to")
        if self.intent is Intent.EXPLAIN_SPIKE and self.compare_to is None:
            raise ValueError("explain_spike needs compare_to (the period before the spike)")
        if self.grain is AskGrain.HOUR:
            longest = max(p.days for p in (self.period, self.compare_to) if p is not None)
            if longest > MAX_HOURLY_DAYS:
                raise ValueError(f"hourly answers cover at most {MAX_HOURLY_DAYS} days")
        return self

    def _check_business(self) -> None:
        """What the unit-economics and allocation routes can answer: one period, no comparison, their own grouping."""
        kind = self.kind.value
        if self.intent is not Intent.COSTS or self.compare_to is not None or self.order_by is not OrderBy.COST:
            raise ValueError(f"kind {kind} answers one period: no compare_to, order_by change or explain_spike")
        if self.kind in UNIT_KINDS:
            if len(self.group_by) > 1 or any(g not in UNIT_GROUPS for g in self.group_by):
                raise ValueError(f"kind {kind} groups only by {' or '.join(UNIT_GROUPS)} (the cost tag)")
            if any(f.dimension not in self.group_by for f in self.filters):
                raise ValueError(f"kind {kind} filters only on the dimension it groups by")
            if self.shared_by_usage and not self.group_by:
                raise ValueError("shared_by_usage needs group_by (tag:customer or tag:feature)")
            if self.kind is QueryKind.GROSS_MARGIN and (self.business_metric is not None or self.per is not None):
                raise ValueError("gross_margin reads revenue: business_metric and per must be null")
        else:
            if self.group_by or self.filters or self.grain is not AskGrain.TOTAL:
                raise ValueError(f"kind {kind} takes no group_by or filters, and grain total")
            if self.per is not None or self.shared_by_usage:
                raise ValueError(f"per and shared_by_usage are for unit_cost, not {kind}")
        if self.kind is QueryKind.ALLOCATION:
            if self.allocate_by is None:
                raise ValueError("allocation needs allocate_by (a dimension of the allocation rules)")
            if self.business_metric is not None:
                raise ValueError("business_metric is not for kind allocation")
        elif self.allocate_by is not None:
            raise ValueError("allocate_by is only for kind allocation")
        if self.kind is QueryKind.CORRELATION and self.limit is not None:
            raise ValueError("correlation has no groups to limit")

    def unit_metric(self) -> str | None:
        """The business figure the query's route divides by or correlates with (None: not a unit query)."""
        if self.kind is QueryKind.UNIT_COST:
            return self.business_metric or DEFAULT_UNIT_METRIC
        if self.kind is QueryKind.GROSS_MARGIN:
            return REVENUE
        if self.kind is QueryKind.CORRELATION:
            return self.business_metric or REVENUE
        return None

    def filter_of(self, dimension: str) -> Filter | None:
        return next((f for f in self.filters if f.dimension == dimension), None)


class LlmReply(BaseModel):
    """What an LLM must return (its tool's input schema): a query, or why the question cannot be answered."""

    model_config = ConfigDict(extra="forbid")

    answerable: bool = Field(description="false when the question is not about cost the API can answer")
    query: StructuredQuery | None = Field(default=None, description="The query, when answerable")
    reason: str | None = Field(default=None, max_length=500, description="Why not, when not answerable")


class Amount(BaseModel):
    """An amount in one currency and cost kind (billed, estimated): these never add together."""

    currency: str
    cost_kind: str
    cost: str = Field(description="Exact decimal string")
    previous: str | None = Field(default=None, description="The same over compare_to")
    change: str | None = None
    change_pct: str | None = Field(default=None, description="Percent change; null when the previous amount was 0")


class AnswerRow(Amount):
    group: dict[str, str | None] = Field(default_factory=dict, description="Values of group_by")
    period_start: str | None = Field(default=None, description="The bucket, for daily or hourly answers")


class UnitLine(BaseModel):
    """One line of GET /v1/unit-costs as that route gives it (a customer or feature, the unallocated cost, the total);
    with `period_start` for one period of a daily or hourly answer."""

    kind: str = Field(description="group | unallocated | total")
    group: str | None
    currency: str
    cost: str
    driver: str | None = Field(description="The business figure cost is divided by")
    unit_cost: str | None
    revenue: str | None
    gross_margin: str | None
    gross_margin_pct: str | None
    shared_cost: str | None = None
    period_start: str | None = None


class CorrelationFigures(BaseModel):
    """GET /v1/unit-economics/correlation's figures (without its daily points)."""

    driver: str
    currency: str | None
    days: int
    pearson: float | None
    elasticity: float | None
    fixed_cost_per_day: str | None
    fixed_share: float | None
    mean_daily_cost: str | None
    explanation: str


class AllocatedValue(BaseModel):
    value: str = Field(description="An owner, or `(unallocated)`")
    direct: str
    shared: str = Field(description="The sum of the shared-cost parts it received")
    total: str


class AllocationTotal(BaseModel):
    """One (currency, cost kind) of GET /v1/allocation's totals."""

    dimension: str
    rules_version: int
    currency: str
    cost_kind: str
    total: str
    allocated: str
    unallocated: str
    allocated_share: float | None
    values: list[AllocatedValue]


class Answer(BaseModel):
    """The reply to a question: numbers, a short explanation, and the query run (or what was understood)."""

    question: str
    answered: bool
    explanation: str
    source: Literal["offline", "llm"] = Field(description="Who turned the question into the query")
    query: StructuredQuery | None = None
    understood: dict[str, Any] = Field(default_factory=dict, description="When not answered: what was understood")
    totals: list[Amount] = Field(default_factory=list)
    rows: list[AnswerRow] = Field(default_factory=list)
    anomalies: list[dict[str, Any]] = Field(default_factory=list, description="As GET /v1/anomalies lists them")
    unit_lines: list[UnitLine] = Field(default_factory=list, description="unit_cost / gross_margin answers")
    correlation: CorrelationFigures | None = Field(default=None, description="correlation answers")
    allocation: list[AllocationTotal] = Field(default_factory=list, description="allocation answers")
    api_calls: list[str] = Field(default_factory=list, description="The public API requests that gave the numbers")
    notes: list[str] = Field(default_factory=list)
