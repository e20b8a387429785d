"""Per-tenant alert thresholds: what each tenant's `anomaly_impact` policy makes of its anomalies. Plain Python.

A tenant's enabled `anomaly_impact` policy sets the minimum |impact| its anomalies need to be alerted, in place of
the deployment's `OUTLAY_ANOMALY_MIN_IMPACT`: an anomaly under it is still recorded and published, with
`alerted=False`, exactly as under the deployment's minimum. With several such policies the highest `min_impact`
wins; a tenant without one keeps the deployment's minimum. The share threshold (`OUTLAY_ANOMALY_MIN_IMPACT_PCT`)
applies to every tenant alike. The worker loads the policies from the store (`worker/policies.py`); this module
only decides, from a map of tenant → policies it is given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from outlay.policies import AnomalyImpact
from services.anomaly.detection.incidents import IncidentSettings

if TYPE_CHECKING:
    from outlay.store.policies import Policy


def min_impacts(policies: Mapping[str, Iterable[Policy]]) -> dict[str, Decimal]:
    """Each tenant's minimum |impact| to alert: the highest `min_impact` of its enabled `anomaly_impact` policies
    (policies of other kinds, and disabled ones, are not applied). Tenants without one are left out."""
    found: dict[str, Decimal] = {}
    for tenant_id, its in policies.items():
        for policy in its:
            rule = policy.rule
            if not policy.enabled or not isinstance(rule, AnomalyImpact):
                continue
            current = found.get(tenant_id)
            found[tenant_id] = rule.min_impact if current is None else max(current, rule.min_impact)
    return found


class TenantThresholds:
    """The incident settings each tenant's series run with: the deployment's (`default`), with `min_impact`
    replaced for the tenants in `by_tenant` (tenant → minimum |impact|, as `min_impacts` makes it)."""

    def __init__(self, default: IncidentSettings, by_tenant: Mapping[str, Decimal] | None = None) -> None:
        self.default = default
        self.by_tenant: dict[str, Decimal] = dict(by_tenant or {})
        # Built once per map, so the worker's per-message lookup is one dict access.
        self._settings = {t: replace(default, min_impact=m) for t, m in self.by_tenant.items()}

    @classmethod
    def from_policies(cls, default: IncidentSettings, policies: Mapping[str, Iterable[Policy]]) -> TenantThresholds:
        return cls(default, min_impacts(policies))

    def incident_settings(self, tenant_id: str) -> IncidentSettings:
        return self._settings.get(tenant_id, self.default)

    def min_impact(self, tenant_id: str) -> Decimal:
        return self.incident_settings(tenant_id).min_impact

    def alerts(self, tenant_id: str, impact: Decimal, expected: Decimal) -> bool:
        """Whether an anomaly of `tenant_id` with this `impact` over `expected` cost is alerted."""
        return self.incident_settings(tenant_id).alerts(impact, expected)
