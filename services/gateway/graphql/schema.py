"""The GraphQL schema: the same questions as REST, answered by the same parsers, stores and renderers.

Money is an exact decimal string, instants ISO 8601 UTC, as in REST. Argument problems come back as errors that
name the argument (`start: ...`); each field checks the scope REST asks for it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

import strawberry
from fastapi import HTTPException
from pydantic import BaseModel, ValidationError
from strawberry.scalars import JSON

from outlay.allocation.periods import ReportGrain
from outlay.events.plan import ActionPlan, Kind, PlanStatus
from outlay.money import to_nanos
from outlay.store.audit import AuditEntry
from outlay.store.plans import StoredRecommendation
from services.gateway.anomalies.listing import parse_anomaly_query
from services.gateway.graphql.context import BadArgument, GraphQLContext
from services.gateway.permissions import Scope
from services.gateway.query import (
    Cursor,
    ErrorCollector,
    Metric,
    QueryError,
    build_query,
    parse_choice,
    parse_int_in,
)
from services.gateway.report import iso, money
from services.gateway.routes.allocation import get_allocation
from services.gateway.routes.anomalies import FeedbackIn, give_feedback
from services.gateway.routes.ask import AskIn, ask_question
from services.gateway.routes.costs import get_dimensions
from services.gateway.routes.forecasts import get_forecasts
from services.gateway.routes.plans import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    DecisionIn,
    approve_plan,
    reject_plan,
    request_approval,
)
from services.gateway.routes.unit_economics import get_correlation, get_unit_costs
from services.gateway.schemas import ID_PATTERN

Info = strawberry.Info[GraphQLContext, None]
M = TypeVar("M", bound=BaseModel)
_ID = re.compile(ID_PATTERN)


def _money(value: Decimal) -> str:
    return money(to_nanos(value))


def _json(value: Any) -> JSON:
    return cast(JSON, value)


def _when(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


def problem(exc: QueryError | HTTPException) -> BadArgument:
    """A REST problem as a GraphQL error message that names the field."""
    if isinstance(exc, QueryError):
        return BadArgument("; ".join(f"{e.field}: {e.message}" for e in exc.errors))
    return BadArgument(str(exc.detail))


def checked_id(name: str, value: str) -> str:
    """Ids as REST's paths take them (a NUL or an overlong id never reaches the store)."""
    if len(value) > 64 or not _ID.fullmatch(value):
        raise BadArgument(f"{name}: not an id")
    return value


def _model(model: type[M], name: str, values: dict[str, Any]) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadArgument(f"{name}: {first['msg']}") from None


@strawberry.type
class Me:
    tenant_id: str
    key_id: str
    name: str
    scopes: list[str]


@strawberry.type
class CostRow:
    period_start: str
    group: JSON
    cost: str


@strawberry.type
class CostTotal:
    currency: str
    cost_kind: str
    cost: str


@strawberry.type
class CostReport:
    granularity: str
    start: str
    end: str
    metric: str
    group_by: list[str]
    currency: str | None
    cost_kind: str | None
    rows: list[CostRow]
    total: str | None
    totals: list[CostTotal]

    @classmethod
    def of(cls, body: dict[str, Any]) -> CostReport:
        return cls(
            granularity=body["granularity"], start=body["start"], end=body["end"], metric=body["metric"],
            group_by=body["group_by"], currency=body["currency"], cost_kind=body["cost_kind"],
            rows=[CostRow(period_start=r["period_start"], group=r["group"], cost=r["cost"]) for r in body["rows"]],
            total=body["total"], totals=[CostTotal(**t) for t in body["totals"]],
        )  # fmt: skip


@strawberry.type
class Anomaly:
    anomaly_id: str
    series: str
    dimensions: JSON
    status: str
    direction: str
    start: str
    end: str | None
    last_seen: str
    expected_cost: str
    actual_cost: str
    impact: str
    currency: str
    score: float
    severity: str
    root_cause: list[str]
    alerted: bool
    feedback: str | None
    feedback_at: str | None
    updated_at: str | None


@strawberry.type
class AnomalyPage:
    items: list[Anomaly]
    next_cursor: str | None


@strawberry.type
class AuditEntryType:
    audit_id: int
    at: str
    actor: str
    subject: str
    resource_id: str
    event: str
    detail: str
    entry_hash: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryType:
        e = entry.event
        return cls(audit_id=entry.audit_id, at=iso(e.at), actor=e.actor, subject=e.subject,
                   resource_id=e.resource_id, event=e.event, detail=e.detail, entry_hash=entry.entry_hash)  # fmt: skip


@strawberry.type
class Plan:
    plan_id: str
    status: str
    region: str
    title: str
    changes: JSON
    monthly_saving: str
    currency: str
    risk: str
    requires_approval: bool
    approval_reasons: list[str]
    reason: str
    decided_by: str | None
    decided_at: str | None
    requested_by: str | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, plan: ActionPlan) -> Plan:
        return cls(
            plan_id=plan.plan_id, status=plan.status.value, region=plan.region, title=plan.title,
            changes=_json([c.model_dump(mode="json") for c in plan.changes]), monthly_saving=_money(plan.monthly_saving),
            currency=plan.currency, risk=plan.risk.value, requires_approval=plan.requires_approval,
            approval_reasons=list(plan.approval_reasons), reason=plan.reason, decided_by=plan.decided_by,
            decided_at=_when(plan.decided_at), requested_by=plan.requested_by, created_at=iso(plan.created_at),
            updated_at=iso(plan.updated_at),
        )  # fmt: skip

    @strawberry.field(
        description="The plan's first 50 decisions, steps, checks and rollbacks, in order (all of them: REST's "
        "GET /v1/plans/{id}/audit)"
    )
    async def audit(self, info: Info) -> list[AuditEntryType]:
        return [AuditEntryType.of(e) for e in await info.context.plan_audit.load(self.plan_id)]


@strawberry.type
class PlanPage:
    items: list[Plan]
    next_cursor: str | None


@strawberry.type
class Recommendation:
    recommendation_id: str
    region: str
    kind: str
    resource_id: str
    summary: str
    monthly_saving: str
    confidence: float
    risk: str
    current: str | None
    proposed: str | None
    evidence: JSON
    plan_id: str | None
    found_at: str

    @classmethod
    def of(cls, r: StoredRecommendation) -> Recommendation:
        return cls(
            recommendation_id=r.recommendation_id, region=r.region, kind=r.kind, resource_id=r.resource_id,
            summary=r.summary, monthly_saving=_money(r.monthly_saving), confidence=r.confidence, risk=r.risk,
            current=r.current, proposed=r.proposed, evidence=_json(r.evidence), plan_id=r.plan_id, found_at=iso(r.found_at),
        )  # fmt: skip

    @strawberry.field(description="The plan that carries it, if any")
    async def plan(self, info: Info) -> Plan | None:
        if self.plan_id is None:
            return None
        found = await info.context.plans.load(self.plan_id)
        return None if found is None else Plan.of(found)


@strawberry.type
class Budget:
    budget_id: str
    name: str
    scope: str
    amount: str
    currency: str
    period: str
    start: str | None
    end: str | None
    thresholds: JSON
    created_at: str

    @strawberry.field(description="Where it stands (REST: GET /v1/budgets/{id}/status); null if not forecast yet")
    async def status(self, info: Info) -> JSON | None:
        info.context.need(Scope.READ_BUDGETS)  # as REST
        return _json(await info.context.budget_status.load(self.budget_id))


@strawberry.type
class PolicyType:
    policy_id: str
    name: str
    kind: str
    rule: JSON
    enabled: bool
    version: int
    created_at: str
    updated_at: str


@strawberry.type
class Query:
    @strawberry.field(description="Who is calling: the key, its tenant and scopes")
    def me(self, info: Info) -> Me:
        p = info.context.principal
        return Me(tenant_id=p.tenant_id, key_id=p.key_id, name=p.name, scopes=sorted(s.value for s in p.scopes))

    @strawberry.field(description="Cost over time, grouped and filtered (REST: GET /v1/costs)")
    async def costs(
        self, info: Info, start: str | None = None, end: str | None = None, granularity: str = "day",
        group_by: list[str] | None = None, metric: str = "billed", filters: JSON | None = None,
        tags: list[str] | None = None,
    ) -> CostReport:  # fmt: skip
        info.context.need(Scope.READ_COSTS)
        dimensions: Any = filters or {}
        if not isinstance(dimensions, dict) or not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in dimensions.values()
        ):
            raise BadArgument('filters: an object of dimension → list of values, e.g. {"service": ["AmazonEC2"]}')
        try:
            query = build_query(
                start=start, end=end, granularity=granularity, group_by=group_by or [],
                dimension_filters={str(k): v for k, v in dimensions.items()}, tag_filters=tags or [], metric=metric,
                max_cells=info.context.http.app.state.max_cells,
            )  # fmt: skip
            report = await info.context.stores.costs.costs(query)
        except QueryError as exc:
            raise problem(exc) from None
        return CostReport.of(report.to_json())

    @strawberry.field(description="What costs can be grouped and filtered by in a period (REST: /v1/costs/dimensions)")
    async def dimensions(self, info: Info, start: str | None = None, end: str | None = None) -> JSON:
        info.context.need(Scope.READ_COSTS)
        try:
            return _json((await get_dimensions(info.context.http, start, end)).model_dump(mode="json"))
        except QueryError as exc:
            raise problem(exc) from None

    @strawberry.field(description="Forecasts per scope, as REST gives them (GET /v1/forecasts): a list of forecasts")
    async def forecasts(self, info: Info, scopes: list[str] | None = None, horizon_days: int | None = None) -> JSON:
        info.context.need(Scope.READ_FORECASTS)
        horizon = None if horizon_days is None else str(horizon_days)
        try:
            out = await get_forecasts(info.context.http, scopes or [], horizon, None)
        except (QueryError, HTTPException) as exc:
            raise problem(exc) from None
        return _json(out.model_dump(mode="json")["forecasts"])

    @strawberry.field(
        description="Allocated cost per owner, shared parts and unallocated included (REST: GET /v1/allocation)"
    )
    async def allocation(
        self, info: Info, by: str, start: str | None = None, end: str | None = None, grain: str | None = None,
        metric: str | None = None, version: int | None = None,
    ) -> JSON:  # fmt: skip
        info.context.need(Scope.READ_COSTS)
        try:
            report_grain = parse_choice(ReportGrain, grain, ReportGrain.DAY, "grain")
            cost_metric = parse_choice(Metric, metric, Metric.BILLED, "metric")
            if version is not None and version < 1:
                raise QueryError.single("version", "must be 1 or more")
            report = await get_allocation(info.context.http, by, start, end, report_grain, cost_metric, version)
        except (QueryError, HTTPException) as exc:
            raise problem(exc) from None
        return _json(report)

    @strawberry.field(
        description="Cost per customer, feature or 1,000 requests, and gross margin (REST: GET /v1/unit-costs)"
    )
    async def unit_costs(
        self, info: Info, metric: str | None = None, per: str | None = None, by: str | None = None,
        start: str | None = None, end: str | None = None, grain: str | None = None, cost_metric: str | None = None,
        shared: str | None = None,
    ) -> JSON:  # fmt: skip
        info.context.need(Scope.READ_COSTS)
        try:
            answer = await get_unit_costs(info.context.http, metric, per, by, start, end, grain, cost_metric, shared)
        except (QueryError, HTTPException) as exc:
            raise problem(exc) from None
        return _json(answer)

    @strawberry.field(
        description="How daily cost moves with a business figure (REST: GET /v1/unit-economics/correlation)"
    )
    async def correlation(
        self, info: Info, driver: str | None = None, start: str | None = None, end: str | None = None,
        cost_metric: str | None = None,
    ) -> JSON:  # fmt: skip
        info.context.need(Scope.READ_COSTS)
        try:
            answer = await get_correlation(info.context.http, driver, start, end, cost_metric)
        except (QueryError, HTTPException) as exc:
            raise problem(exc) from None
        return _json(answer)

    @strawberry.field(description="A question about cost in plain English, answered with numbers (REST: POST /v1/ask)")
    async def ask(self, info: Info, question: str) -> JSON:
        info.context.need(Scope.READ_COSTS)
        body = _model(AskIn, "question", {"question": question})
        return _json((await ask_question(info.context.http, body)).model_dump(mode="json"))

    @strawberry.field(description="Cost anomalies, newest first (REST: GET /v1/anomalies)")
    async def anomalies(
        self, info: Info, status: str | None = None, min_severity: str | None = None, first: int | None = None,
        after: str | None = None,
    ) -> AnomalyPage:  # fmt: skip
        info.context.need(Scope.READ_ANOMALIES)
        try:
            query = parse_anomaly_query(
                status=status, min_severity=min_severity, limit=None if first is None else str(first), cursor=after
            )
        except QueryError as exc:
            raise problem(exc) from None
        page = (await info.context.stores.anomalies.page(query)).to_json()
        return AnomalyPage(items=[Anomaly(**a) for a in page["items"]], next_cursor=page["next_cursor"])

    @strawberry.field(description="One anomaly")
    async def anomaly(self, info: Info, anomaly_id: str) -> Anomaly | None:
        info.context.need(Scope.READ_ANOMALIES)
        found = await info.context.stores.anomalies.get(checked_id("anomalyId", anomaly_id))
        return None if found is None else Anomaly(**found.to_json())

    @strawberry.field(description="Every budget (REST: GET /v1/budgets)")
    async def budgets(self, info: Info) -> list[Budget]:
        info.context.need(Scope.READ_BUDGETS)
        out = []
        for b in await info.context.stores.budgets.all():
            body = b.model_dump(mode="json")
            out.append(
                Budget(
                    budget_id=b.budget_id,
                    name=b.name,
                    scope=b.scope,
                    amount=body["amount"],
                    currency=b.currency,
                    period=b.period.value,
                    start=body["start"],
                    end=body["end"],
                    thresholds=body["thresholds"],
                    created_at=iso(b.created_at),
                )  # fmt: skip
            )
        return out

    @strawberry.field(description="Action plans, latest first (REST: GET /v1/plans)")
    async def plans(
        self, info: Info, status: str | None = None, first: int | None = None, after: str | None = None
    ) -> PlanPage:
        info.context.need(Scope.READ_PLANS)
        check = ErrorCollector()
        chosen = check.attempt(
            lambda: None if status is None else parse_choice(PlanStatus, status, PlanStatus.PROPOSED, "status")
        )
        size = check.attempt(
            lambda: parse_int_in(None if first is None else str(first), 1, MAX_LIMIT, DEFAULT_LIMIT, "first")
        )
        cursor = check.attempt(lambda: None if after is None else Cursor.decode(after))
        if check.errors or size is None:
            raise problem(QueryError(check.errors))
        page = await info.context.stores.plans.page(
            chosen, size, None if cursor is None else (cursor.at.replace(tzinfo=UTC), cursor.key)
        )
        next_cursor = None
        if page.next_cursor is not None:
            at, plan_id = page.next_cursor
            next_cursor = Cursor(at.replace(tzinfo=None), plan_id).encode()
        return PlanPage(items=[Plan.of(p) for p in page.plans], next_cursor=next_cursor)

    @strawberry.field(description="One plan")
    async def plan(self, info: Info, plan_id: str) -> Plan | None:
        info.context.need(Scope.READ_PLANS)
        found = await info.context.plans.load(checked_id("planId", plan_id))
        return None if found is None else Plan.of(found)

    @strawberry.field(description="The organisation's policies (REST: GET /v1/policies)")
    async def policies(self, info: Info) -> list[PolicyType]:
        info.context.need(Scope.READ_POLICIES)
        return [
            PolicyType(
                policy_id=p.policy_id,
                name=p.name,
                kind=p.kind.value,
                rule=_json(p.rule.model_dump(mode="json")),
                enabled=p.enabled,
                version=p.version,
                created_at=iso(p.created_at),
                updated_at=iso(p.updated_at),
            )  # fmt: skip
            for p in await info.context.stores.policies.all()
        ]

    @strawberry.field(description="The latest scan's recommendations, largest saving first")
    async def recommendations(
        self, info: Info, kind: str | None = None, region: str | None = None
    ) -> list[Recommendation]:
        info.context.need(Scope.READ_PLANS)
        try:
            chosen = None if kind is None else parse_choice(Kind, kind, Kind.RIGHTSIZE, "kind").value
        except QueryError as exc:
            raise problem(exc) from None
        if region is not None and (len(region) > 32 or not _ID.fullmatch(region)):
            raise BadArgument("region: not a region name")
        return [Recommendation.of(r) for r in await info.context.stores.recommendations.all(chosen, region)]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Judge an anomaly (REST: POST /v1/anomalies/{id}/feedback)")
    async def anomaly_feedback(self, info: Info, anomaly_id: str, verdict: str) -> Anomaly:
        info.context.need(Scope.WRITE_ANOMALIES)
        body = _model(FeedbackIn, "verdict", {"verdict": verdict})
        try:
            return Anomaly(**await give_feedback(info.context.http, body, checked_id("anomalyId", anomaly_id)))
        except HTTPException as exc:
            raise problem(exc) from None

    @strawberry.mutation(description="Ask for a plan's approval (REST: POST /v1/plans/{id}/request-approval)")
    async def request_plan_approval(self, info: Info, plan_id: str, comment: str = "") -> Plan:
        info.context.need(Scope.REQUEST_PLANS)
        try:
            body = _model(DecisionIn, "comment", {"comment": comment})
            return Plan.of(await request_approval(info.context.http, body, checked_id("planId", plan_id)))
        except HTTPException as exc:
            raise problem(exc) from None

    @strawberry.mutation(description="Approve or reject a proposed plan (REST: POST /v1/plans/{id}/approve|reject)")
    async def decide_plan(self, info: Info, plan_id: str, approve: bool, comment: str = "") -> str:
        info.context.need(Scope.APPROVE_PLANS)
        decide = approve_plan if approve else reject_plan
        try:
            body = _model(DecisionIn, "comment", {"comment": comment})
            out = await decide(info.context.http, body, checked_id("planId", plan_id))
        except HTTPException as exc:
            raise problem(exc) from None
        return out.detail
