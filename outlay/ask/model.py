"""The structured query a question becomes, and the answer to it: one pydantic definition each.

A `StructuredQuery` maps one to one onto the public API: each period is one `GET /v1/costs` (days from `start`
to `end`, exclusive, the filters as that route's parameters, `group_by` as its `group_by`), and an
`explain_spike` also reads `GET /v1/anomalies` over the period. The offline parser emits it, an LLM is
constrained to its JSON schema, and the answer shows it so the person asking can check what was run.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from outlay.scopes import DIMENSIONS, TAG_PREFIX

MAX_PERIOD_DAYS = 400  # the vocabulary covers about this much history; longer questions are refused
MAX_HOURLY_DAYS = 31  # hourly answers longer than a month are unreadable and heavy
MAX_GROUP_BY = 3
MAX_FILTER_VALUES = 100
MAX_LIMIT = 100


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
        if self.order_by is OrderBy.CHANGE and self.compare_to is None:
            raise ValueError("order_by=change needs compare_to")
        if self.intent is Intent.EXPLAIN_SPIKE and self.compare_to is None:
            raise ValueError("explain_spike needs compare_to (the period before the spike)")
        if self.grain is AskGrain.HOUR:
            longest = max(p.days for p in (self.period, self.compare_to) if p is not None)
            if longest > MAX_HOURLY_DAYS:
                raise ValueError(f"hourly answers cover at most {MAX_HOURLY_DAYS} days")
        return self

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
    api_calls: list[str] = Field(default_factory=list, description="The public API requests that gave the numbers")
    notes: list[str] = Field(default_factory=list)
