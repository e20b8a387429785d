"""What every GraphQL resolver gets: the caller, their tenant's stores, and per-request batch loaders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from outlay.events.plan import ActionPlan
from outlay.store.audit import AuditEntry
from services.gateway.forecasts.client import ForecastClient
from services.gateway.graphql.limits import NESTED_LIST
from services.gateway.permissions import Principal, Scope
from services.gateway.tenant_stores import TenantStores, stores_of

AUDIT_PER_PLAN = NESTED_LIST  # a plan's first entries (REST's /v1/plans/{id}/audit gives up to 1,000)


class Forbidden(PermissionError):
    pass


class BadArgument(ValueError):
    """A problem with what the caller asked, in words that name the argument: shown to the caller as it is."""


class GraphQLContext(BaseContext):
    """Loaders batch what a query asks for field by field into one store call per kind (no N+1 queries)."""

    def __init__(self, request: Request, principal: Principal) -> None:
        super().__init__()
        self.http = request  # (BaseContext.request is typed for WebSocket too)
        self.principal = principal
        self.stores: TenantStores = stores_of(request)
        self.plans = DataLoader(self._load_plans)
        self.plan_audit = DataLoader(self._load_audit)
        self.budget_status = DataLoader(self._load_budget_status)

    def need(self, scope: Scope) -> None:
        if not self.principal.may(scope):
            raise Forbidden(f"forbidden: this key lacks the scope {scope.value}")

    async def _load_plans(self, plan_ids: list[str]) -> Sequence[ActionPlan | None]:
        found = await self.stores.plans.get_many(plan_ids)
        return [found.get(plan_id) for plan_id in plan_ids]

    async def _load_audit(self, plan_ids: list[str]) -> Sequence[list[AuditEntry]]:
        found = await self.stores.audit.of_subjects([f"plan:{p}" for p in plan_ids], AUDIT_PER_PLAN)
        return [found[f"plan:{p}"] for p in plan_ids]

    async def _load_budget_status(self, budget_ids: list[str]) -> Sequence[dict[str, Any] | None]:
        # One variance report (one gRPC call) answers every budget the query asked about.
        client: ForecastClient = self.http.app.state.forecasts
        report = {
            s.budget_id: s.model_dump(mode="json") for s in await client.budget_report(tenant_id=self.stores.tenant_id)
        }
        return [report.get(budget_id) for budget_id in budget_ids]
