"""The caller's stores: every store a route reads or writes, bound to the caller's tenant.

The auth dependency binds them once per request (`bind`), after it has found the caller's key; routes reach
stores only through `stores_of(request)`, so no route can name another tenant's rows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection

from outlay.store.allocation import AllocationLinesStore, AllocationRulesStore
from outlay.store.api_keys import ApiKeyStore
from outlay.store.audit import AuditLog
from outlay.store.budgets import BudgetStore
from outlay.store.business_metrics import BusinessMetricStore
from outlay.store.deployments import DeploymentStore
from outlay.store.iac_estimates import IacEstimateStore
from outlay.store.plans import PlanStore, RecommendationStore
from outlay.store.policies import PolicyStore
from outlay.store.sessions import SignInStore
from outlay.store.tenants import UserStore
from outlay.tenancy import DEFAULT_TENANT
from services.gateway.anomalies.store import AnomalyStore
from services.gateway.costs_query import CostStore


@dataclass(frozen=True)
class TenantStores:
    costs: CostStore
    anomalies: AnomalyStore
    budgets: BudgetStore
    plans: PlanStore
    recommendations: RecommendationStore
    audit: AuditLog
    api_keys: ApiKeyStore
    users: UserStore
    policies: PolicyStore
    allocation_rules: AllocationRulesStore
    allocation_lines: AllocationLinesStore
    business_metrics: BusinessMetricStore
    iac_estimates: IacEstimateStore
    sign_ins: SignInStore  # passwords, set-password tokens, browser sessions
    deployments: DeploymentStore

    @classmethod
    def open(cls, engine: AsyncEngine) -> TenantStores:
        """Every store, bound to the default tenant (a template: `for_tenant` binds the copies routes use)."""
        return cls(
            CostStore(engine), AnomalyStore(engine), BudgetStore(engine), PlanStore(engine),
            RecommendationStore(engine), AuditLog(engine), ApiKeyStore(engine), UserStore(engine), PolicyStore(engine),
            AllocationRulesStore(engine), AllocationLinesStore(engine),
            BusinessMetricStore(engine), IacEstimateStore(engine), SignInStore(engine), DeploymentStore(engine),
        )  # fmt: skip

    @property
    def tenant_id(self) -> str:
        return self.costs.tenant_id

    def for_tenant(self, tenant_id: str) -> TenantStores:
        return TenantStores(**{f.name: getattr(self, f.name).for_tenant(tenant_id) for f in fields(self)})


def bind(conn: HTTPConnection, tenant_id: str = DEFAULT_TENANT) -> TenantStores:
    template: TenantStores = conn.app.state.tenant_stores
    bound = template.for_tenant(tenant_id)
    conn.state.stores = bound
    return bound


def stores_of(conn: HTTPConnection) -> TenantStores:
    """The stores of the caller's tenant (bound by `ApiKeyAuth`)."""
    return conn.state.stores  # type: ignore[no-any-return]
