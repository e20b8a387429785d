"""POST /v1/ask: a question about cost in plain English, answered from the caller's tenant's ledger.

The route only translates: the question goes to `outlay.ask.service.ask` with ports bound to the caller's
stores (so the vocabulary, the costs, the anomalies, the business figures and the allocation rules are the caller's
tenant's and no one else's), and the same validation `GET /v1/costs` and `GET /v1/anomalies` apply runs on every
request the question makes. Unit-cost, correlation and allocation questions run the handlers of
`GET /v1/unit-costs`, `GET /v1/unit-economics/correlation` and `GET /v1/allocation` themselves, on a request
carrying the query's parameters and the caller's stores: their answers are those routes' answers, not a copy.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from outlay.allocation.periods import ReportGrain
from outlay.ask.adapters.llm_http import llm_from_settings
from outlay.ask.api import ALLOCATION, CORRELATION, UNIT_COSTS, ApiRequest
from outlay.ask.llm import LlmClient
from outlay.ask.model import Answer
from outlay.ask.parser import MAX_QUESTION
from outlay.ask.service import Refused, ask
from outlay.ask.vocabulary import Vocabulary
from services.gateway.anomalies.listing import parse_anomaly_query
from services.gateway.anomalies.store import AnomalyStore
from services.gateway.auth import principal_of
from services.gateway.costs_query import CostStore
from services.gateway.permissions import Scope
from services.gateway.query import DIMENSIONS, Metric, QueryError, TimeRange, build_query
from services.gateway.routes import allocation as allocation_route
from services.gateway.routes import unit_economics as unit_route
from services.gateway.schemas import PROBLEM_RESPONSES
from services.gateway.tenant_stores import TenantStores, stores_of

router = APIRouter(prefix="/v1/ask", tags=["ask"])

VOCABULARY_DAYS = 400  # values seen in this much history (as GET /v1/costs/dimensions allows at most)
VOCABULARY_CAP = 1000


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        min_length=1,
        max_length=MAX_QUESTION,
        description="e.g. 'what did team checkout spend on EC2 last week compared with the week before?'",
    )

    @field_validator("question")
    @classmethod
    def _readable(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        if "\x00" in value:
            raise ValueError("must not contain NUL (\\x00) characters")
        return value


class StoreData:
    """The ask service's ports on one tenant's stores: the same queries GET /v1/costs and /v1/anomalies run, and
    the handlers of the unit-economics and allocation routes.

    `stores` are the caller's tenant's (the route passes `stores_of(request)`); without them (`outlay ask` on the
    local store) they are opened on the cost store's engine for the cost store's tenant, so every port still reads
    one tenant only."""

    def __init__(
        self,
        costs: CostStore,
        anomalies: AnomalyStore | None,
        max_cells: int,
        now: datetime,
        stores: TenantStores | None = None,
    ) -> None:
        self._costs = costs
        self._anomalies = anomalies  # None: the caller may not read anomalies
        self._max_cells = max_cells
        self._now = now
        # The CLI passes only the cost store: the other stores share its engine and tenant.
        self._stores = stores or TenantStores.open(costs._engine).for_tenant(costs.tenant_id)  # noqa: SLF001

    async def vocabulary(self) -> Vocabulary:
        today = datetime(self._now.year, self._now.month, self._now.day)
        span = TimeRange(today - timedelta(days=VOCABULARY_DAYS - 1), today + timedelta(days=1))
        values, tags = await self._costs.dimensions(span, VOCABULARY_CAP)
        metrics = await self._stores.business_metrics.catalogue(span.start, span.end)
        current = await self._stores.allocation_rules.current()
        # Sorted: the store may keep the rule set's keys in any order (JSONB sorts them its own way).
        allocation = sorted(current.rules.dimensions) if current is not None else []
        return Vocabulary.of(values, tags, metrics, allocation)

    def _request(self, api: ApiRequest) -> Request:
        """A GET request to the route `api` names, carrying the caller's stores: what the route's handler reads."""
        scope = {
            "type": "http",
            "method": "GET",
            "path": api.path,
            "query_string": urlencode(api.params).encode(),
            "headers": [],
            "app": SimpleNamespace(state=SimpleNamespace(max_cells=self._max_cells)),
            "state": {"stores": self._stores},
        }
        return Request(scope)

    async def business(self, request: ApiRequest) -> dict[str, Any]:
        """GET /v1/unit-costs, /v1/unit-economics/correlation or /v1/allocation, through the route's own handler."""
        sub = self._request(request)
        try:
            if request.path == UNIT_COSTS:
                params = {name: request.value(name) for name in unit_route.UNIT_COST_PARAMS}
                return await unit_route.get_unit_costs(sub, **params)
            if request.path == CORRELATION:
                params = {name: request.value(name) for name in unit_route.CORRELATION_PARAMS}
                return await unit_route.get_correlation(sub, **params)
            if request.path == ALLOCATION:
                return await allocation_route.get_allocation(
                    sub, by=request.value("by") or "", start=request.value("start"), end=request.value("end"),
                    grain=ReportGrain(request.value("grain") or "day"), metric=Metric(request.value("metric") or "billed"),
                    version=None,
                )  # fmt: skip
        except QueryError as exc:
            raise Refused(str(exc)) from None
        raise Refused(f"{request.path} is not a route questions can ask")

    async def costs(self, request: ApiRequest) -> dict[str, Any]:
        try:
            query = build_query(
                start=request.value("start"),
                end=request.value("end"),
                granularity=request.value("granularity"),
                group_by=request.values("group_by"),
                dimension_filters={name: request.values(name) for name in DIMENSIONS},
                tag_filters=request.values("tag"),
                metric=request.value("metric"),
                max_cells=self._max_cells,
            )
            report = await self._costs.costs(query)
        except QueryError as exc:
            raise Refused(str(exc)) from None
        return report.to_json()

    async def anomalies(self, request: ApiRequest) -> list[dict[str, Any]] | None:
        if self._anomalies is None:
            return None
        try:
            query = parse_anomaly_query(
                direction=request.value("direction"),
                since=request.value("since"),
                until=request.value("until"),
                limit=request.value("limit"),
            )
        except QueryError as exc:
            raise Refused(str(exc)) from None
        items: list[dict[str, Any]] = (await self._anomalies.page(query)).to_json()["items"]
        return items


_UNSET = object()


def _llm(request: Request) -> LlmClient | None:
    """The configured LLM, made once per app (None: offline parser only)."""
    state = request.app.state
    llm = getattr(state, "ask_llm", _UNSET)
    if llm is _UNSET:
        llm = llm_from_settings(state.settings)
        state.ask_llm = llm
    return llm  # type: ignore[return-value]


@router.post(
    "",
    response_model=Answer,
    responses=PROBLEM_RESPONSES,
    summary="Ask about cost in plain English: numbers, a short explanation and the structured query run",
)
async def ask_question(request: Request, body: AskIn) -> Answer:
    principal = principal_of(request)
    stores = stores_of(request)
    anomalies = stores.anomalies if principal.may(Scope.READ_ANOMALIES) else None
    now = datetime.now(UTC)
    data = StoreData(stores.costs, anomalies, request.app.state.max_cells, now.replace(tzinfo=None), stores)
    return await ask(body.question, now, data, _llm(request))
