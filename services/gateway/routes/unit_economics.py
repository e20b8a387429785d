"""Unit economics: business figures in (`POST /v1/business-metrics`), cost against them out (`GET /v1/unit-costs`,
`GET /v1/unit-economics/correlation`). The routes translate; `outlay.unit_economics` decides (docs/unit-economics.md).

Every figure posted belongs to the caller's tenant (a `tenant_id` in the body is refused), and every answer reads
only the caller's tenant's cost and figures: the stores are bound to the key's tenant (`stores_of`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import ValidationError

from outlay.events.business_metric import (
    GRAIN_LENGTH,
    METRIC_NAME,
    BusinessMetric,
    business_metric_id,
)
from outlay.events.topics import topic_for
from outlay.spread import Grain as CostGrain
from outlay.unit_economics.correlation import correlate
from outlay.unit_economics.figures import STEP, By, CostCell, Grain, at_grain, billed_else_estimated
from outlay.unit_economics.render import correlation_json, figure, iso, line_json, money
from outlay.unit_economics.unit_costs import REVENUE, LineKind, Shared, UnitCostInputs, unit_costs
from services.anomaly.detection.ratios import ratio_anomalies
from services.gateway.auth import principal_of
from services.gateway.event_sender import EventSender, Undelivered
from services.gateway.query import (
    CostQuery,
    FieldError,
    Filters,
    GroupKey,
    Metric,
    QueryError,
    TimeRange,
    parse_choice,
    parse_group_by,
    parse_range,
)
from services.gateway.routes.costs import reject_unknown
from services.gateway.schemas import PROBLEM_RESPONSES
from services.gateway.tenant_stores import stores_of
from services.gateway.unit_economics_schemas import CorrelationOut, MetricIn, MetricsAccepted, MetricsIn, UnitCostsOut

# Writes need write:metrics (software that reports the business), reads read:costs: app.py adds each router's scope.
ingest_router = APIRouter(tags=["unit economics"])
router = APIRouter(tags=["unit economics"])

UNIT_COST_PARAMS = frozenset({"metric", "per", "by", "start", "end", "grain", "cost_metric", "shared"})
CORRELATION_PARAMS = frozenset({"driver", "start", "end", "cost_metric"})
_NAME = re.compile(METRIC_NAME)
_MAX_PER = Decimal("1e12")
# pydantic's model-level errors read "Value error, <field>: <message>": the field named is the one to report.
_NAMED = re.compile(r"^(?:Value error, )?([a-z_]+): (.+)$", re.S)


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _errors_of(exc: ValidationError, where: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        message = str(err.get("msg", "invalid"))
        if not loc:  # a rule across fields: its message starts with the field it blames
            named = _NAMED.match(message)
            loc, message = ([named.group(1)], named.group(2)) if named else ([], message)
        errors.append(FieldError(".".join([where, *loc]), message.removeprefix("Value error, ")))
    return errors


def to_event(item: MetricIn, tenant_id: str, where: str) -> BusinessMetric:
    """The event of one posted figure, stamped with the caller's tenant; QueryError naming the field otherwise."""
    try:
        start = _utc(item.period_start)
    except OverflowError:
        raise QueryError.single(f"{where}.period_start", "out of range") from None
    try:
        if item.period_end is not None:
            end = _utc(item.period_end)
        elif item.grain is not None:
            end = start + GRAIN_LENGTH[item.grain]
        else:
            raise QueryError.single(f"{where}.grain", "give grain (hour or day) or period_end")
    except OverflowError:  # a derived end names the start it came from
        named = "period_end" if item.period_end is not None else "period_start"
        raise QueryError.single(f"{where}.{named}", "out of range") from None
    if item.metric_id is not None:
        # One row per figure: an id of the sender's own would let the same hour be stored twice and counted twice.
        raise QueryError.single(
            f"{where}.metric_id", "is derived from the figure (tenant, name, period, dimension): do not send one"
        )
    if item.grain is not None and end - start != GRAIN_LENGTH[item.grain]:
        raise QueryError.single(f"{where}.period_end", f"does not make one {item.grain.value} from period_start")
    dimension = item.dimension.value if item.dimension else None
    metric_id = business_metric_id(tenant_id, item.name, start, end, dimension, item.dimension_value)
    try:
        return BusinessMetric(
            metric_id=metric_id, tenant_id=tenant_id, name=item.name, period_start=start, period_end=end,
            value=item.value, currency=item.currency, dimension=item.dimension, dimension_value=item.dimension_value,
        )  # fmt: skip
    except ValidationError as exc:
        raise QueryError(_errors_of(exc, where)) from None


@ingest_router.post(
    "/v1/business-metrics",
    status_code=202,
    response_model=MetricsAccepted,
    responses=PROBLEM_RESPONSES,
    summary="Business figures (customers, requests, orders, revenue, …) per hour or day, for unit economics",
)
async def post_business_metrics(request: Request, body: MetricsIn) -> MetricsAccepted:
    tenant_id = principal_of(request).tenant_id
    events: list[BusinessMetric] = []
    errors: list[FieldError] = []
    for i, item in enumerate(body.metrics):
        try:
            events.append(to_event(item, tenant_id, f"metrics.{i}"))
        except QueryError as exc:
            errors.extend(exc.errors)
    if errors:
        raise QueryError(errors)  # all or nothing: a sender fixes its batch and sends it again
    sender: EventSender = request.app.state.events
    try:
        # Concurrently: the producer batches them, and each send still waits for the broker's ack.
        await asyncio.gather(*(sender.send(event) for event in events))
    except Undelivered as exc:
        raise HTTPException(
            503, f"the broker did not take every figure ({exc}); send the batch again (ids are stable)",
            headers={"Retry-After": "5"},
        ) from exc  # fmt: skip
    return MetricsAccepted(
        accepted=len(events), metric_ids=[e.metric_id for e in events], topic=topic_for(BusinessMetric).name
    )


T = TypeVar("T")


class _Collector:
    """Checks every parameter and reports all problems together (each naming its parameter), not only the first."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def __call__(self, parse: Callable[[], T]) -> T:
        try:
            return parse()
        except QueryError as exc:
            self.errors.extend(exc.errors)
            return None  # type: ignore[return-value]  # never used: raise_any raises first

    def raise_any(self) -> None:
        if self.errors:
            raise QueryError(self.errors)


def _metric_name(value: str | None, default: str, field_name: str) -> str:
    name = default if value is None else value
    if _NAME.fullmatch(name) is None:
        raise QueryError.single(field_name, f"not a metric name: {name!r} (e.g. requests, customers, revenue)")
    return name


def _per(value: str | None, metric: str) -> Decimal:
    if value is None:
        return Decimal(1000) if metric == "requests" else Decimal(1)
    try:
        per = Decimal(value.strip())
    except InvalidOperation:
        raise QueryError.single("per", f"must be a positive number, got {value!r}") from None
    if not per.is_finite() or per <= 0 or per > _MAX_PER:
        raise QueryError.single("per", f"must be a positive number up to {_MAX_PER:,.0f}, got {value!r}")
    return per


def _periods(time_range: TimeRange, grain: Grain) -> list[datetime]:
    out, at = [], time_range.start
    while at < time_range.end:
        out.append(at)
        at += STEP[grain]
    return out


async def _costs(request: Request, time_range: TimeRange, grain: Grain, by: By, metric: Metric) -> list[CostCell]:
    """Cost per period, tag value, currency and kind, from the ledger's rollups (the caller's tenant only)."""
    group_by = parse_group_by([f"tag:{by.value}"] if by is not By.NONE else [])
    query = CostQuery(time_range, CostGrain(grain.value), group_by, Filters(), metric, request.app.state.max_cells)
    try:
        report = await stores_of(request).costs.costs(query)
    except QueryError:
        raise QueryError.single(
            "end", "too much cost detail for one answer: narrow start/end or use grain=day"
        ) from None
    where = {key.label: i for i, key in enumerate(query.group_by)}
    tag = where.get(GroupKey(by.value, tag=True).label)
    cells = []
    for row in report.rows:
        group = row.group[tag] if tag is not None else None
        cells.append(CostCell(row.period_start, group or None, str(row.group[where["currency"]]),
                              str(row.group[where["cost_kind"]]), row.nanos))  # fmt: skip
    return cells


def _range(start: str | None, end: str | None, grain: Grain, cap: int) -> TimeRange:
    time_range = parse_range(start, end, CostGrain(grain.value))
    if time_range.buckets(CostGrain(grain.value)) > cap:
        raise QueryError.single("end", f"at most {cap} {grain.value}s between start and end")
    return time_range


@router.get(
    "/v1/unit-costs",
    response_model=UnitCostsOut,
    responses=PROBLEM_RESPONSES,
    summary="Cost per customer, per feature, per 1,000 requests, gross margin: per period, with trend and anomalies",
)
async def get_unit_costs(
    request: Request,
    metric: str | None = Query(None, description="Business figure to divide cost by (default requests)"),
    per: str | None = Query(None, description="Cost per this many units (default 1000 for requests, else 1)"),
    by: str | None = Query(None, description="customer | feature (from the cost tag of that name) | none (default)"),
    start: str | None = Query(None, description="Inclusive, on a grain boundary (default: 30 days or 2 days back)"),
    end: str | None = Query(None, description="Exclusive, on a grain boundary"),
    grain: str | None = Query(None, description="day (default) | hour"),
    cost_metric: str | None = Query(None, description="billed (default) | effective | list"),
    shared: str | None = Query(
        None, description="keep (default: shared cost on its own line) | by_usage (split by each group's metric)"
    ),
) -> dict[str, Any]:
    reject_unknown(request, UNIT_COST_PARAMS)
    collect = _Collector()
    name = collect(lambda: _metric_name(metric, "requests", "metric"))
    scale = collect(lambda: _per(per, name or ""))
    grouping = collect(lambda: parse_choice(By, by, By.NONE, "by"))
    step = collect(lambda: parse_choice(Grain, grain, Grain.DAY, "grain"))
    column = collect(lambda: parse_choice(Metric, cost_metric, Metric.BILLED, "cost_metric"))
    sharing = collect(lambda: parse_choice(Shared, shared, Shared.KEEP, "shared"))
    time_range = collect(lambda: _range(start, end, step or Grain.DAY, request.app.state.max_cells))
    collect.raise_any()
    cells = await _costs(request, time_range, step, grouping, column)
    points = await stores_of(request).business_metrics.points(sorted({name, REVENUE}), time_range.start, time_range.end)
    periods = _periods(time_range, step)
    costs = billed_else_estimated(cells)
    groups = {(currency, group) for (_p, currency, group) in costs}
    if len(periods) * (len(groups) + 2) > request.app.state.max_cells:
        raise QueryError.single("by", "too many lines x periods for one answer: narrow start/end or use grain=day")
    notes = _notes(points, name, step)
    lines = unit_costs(UnitCostInputs(name, scale, grouping, periods, costs, at_grain(points, step), notes, sharing))
    return {
        "metric": name,
        "per": figure(scale),
        "by": grouping.value,
        "grain": step.value,
        "start": iso(time_range.start),
        "end": iso(time_range.end),
        "cost_metric": column.value,
        "cost_basis": "billed_else_estimated",
        "lines": [
            line_json(
                line,
                ratio_anomalies([(c.period_start, c.unit_cost) for c in line.cells if c.unit_cost is not None], step),
            )
            for line in lines
        ],
        "notes": notes,
    }


def _notes(points: list[Any], name: str, grain: Grain) -> list[str]:
    notes = []
    if not any(p.name == name for p in points):
        notes.append(f"no {name} figures in this range: unit costs are null (POST /v1/business-metrics)")
    if grain is Grain.HOUR and any(p.grain == "day" for p in points):
        notes.append("daily figures are left out of hourly answers (a day's figure says nothing of its hours)")
    return notes


@router.get(
    "/v1/unit-economics/correlation",
    response_model=CorrelationOut,
    responses=PROBLEM_RESPONSES,
    summary="How daily cost moves with revenue or usage: elasticity, correlation, and the part that does not scale",
)
async def get_correlation(
    request: Request,
    driver: str | None = Query(None, description="Business figure: revenue (default), requests, orders, customers, …"),
    start: str | None = Query(None, description="Inclusive day (default: 30 days before end)"),
    end: str | None = Query(None, description="Exclusive day (default: tomorrow)"),
    cost_metric: str | None = Query(None, description="billed (default) | effective | list"),
) -> dict[str, Any]:
    reject_unknown(request, CORRELATION_PARAMS)
    collect = _Collector()
    name = collect(lambda: _metric_name(driver, REVENUE, "driver"))
    column = collect(lambda: parse_choice(Metric, cost_metric, Metric.BILLED, "cost_metric"))
    time_range = collect(lambda: _range(start, end, Grain.DAY, request.app.state.max_cells))
    collect.raise_any()
    cells = await _costs(request, time_range, Grain.DAY, By.NONE, column)
    points = await stores_of(request).business_metrics.points([name], time_range.start, time_range.end)
    costs = billed_else_estimated(cells)
    inputs = UnitCostInputs(
        name, Decimal(1), By.NONE, _periods(time_range, Grain.DAY), costs, at_grain(points, Grain.DAY)
    )
    totals = [line for line in unit_costs(inputs) if line.kind is LineKind.TOTAL]
    # One currency is correlated: the one most of the cost is in (amounts in two currencies never add up).
    total = max(totals, key=lambda line: line.cost, default=None)
    days = [c for c in total.cells if c.driver is not None] if total is not None else []
    result = correlate([float(c.cost) for c in days], [float(c.driver or 0) for c in days], name)
    return {
        "driver": name,
        "start": iso(time_range.start),
        "end": iso(time_range.end),
        "currency": total.currency if total is not None else None,
        "cost_metric": column.value,
        "cost_basis": "billed_else_estimated",
        **correlation_json(result),
        "points": [{"day": iso(c.period_start)[:10], "cost": money(c.cost), "driver": figure(c.driver)} for c in days],
        "other_currencies": sorted(line.currency for line in totals if line is not total),
    }
