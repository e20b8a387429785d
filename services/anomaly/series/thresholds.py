"""Per-tenant alert thresholds: what each tenant's `anomaly_impact` policy makes of its anomalies. Plain Python.

A tenant's enabled `anomaly_impact` policies set, in place of the deployment's settings, the minimum |impact| its
anomalies need to be alerted (`OUTLAY_ANOMALY_MIN_IMPACT`), the minimum share of the expected cost
(`OUTLAY_ANOMALY_MIN_IMPACT_PCT`) and the sensitivity (`OUTLAY_ANOMALY_SENSITIVITY`): an anomaly under a minimum is
still recorded and published, with `alerted=False`. What a tenant's policies leave unset stays the deployment's.
With several policies the most reserved wins: the highest minimums, the lowest sensitivity. The worker loads the
policies from the store (`worker/policies.py`); this module only decides, from a map of tenant → policies.

Sensitivity is a likelihood level (`ALERT_LEVEL_BY_SENSITIVITY`). A series' own level starts at the deployment's
and rises with each false-positive verdict; a tenant's sensitivity scales that series' tail probability
(1 − level) by the ratio of its level's tail to the deployment's, so the verdicts keep their effect.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from outlay.policies import SENSITIVITIES, AnomalyImpact
from services.anomaly.detection.incidents import IncidentSettings

if TYPE_CHECKING:
    from outlay.store.policies import Policy

# Likelihood at which a series alerts; medium was chosen on the labelled benchmark (docs/anomaly.md).
ALERT_LEVEL_BY_SENSITIVITY = {"low": 0.9995, "medium": 0.999, "high": 0.995}
DEFAULT_ALERT_LEVEL = ALERT_LEVEL_BY_SENSITIVITY["medium"]


@dataclass(frozen=True)
class TenantRule:
    """What one tenant's policies set (None: the deployment's)."""

    min_impact: Decimal | None = None
    min_impact_pct: Decimal | None = None
    sensitivity: str | None = None

    def merged(self, rule: AnomalyImpact) -> TenantRule:
        """This and another policy's rule together: the more reserved of each setting."""
        return TenantRule(
            _highest(self.min_impact, rule.min_impact),
            _highest(self.min_impact_pct, rule.min_impact_pct),
            _least_sensitive(self.sensitivity, rule.sensitivity),
        )

    def applied_to(self, default: IncidentSettings, alert_level: float) -> IncidentSettings:
        """The deployment's settings (`default`, detectors alerting at `alert_level`) with this tenant's own."""
        settings = default
        if self.min_impact is not None:
            settings = replace(settings, min_impact=self.min_impact)
        if self.min_impact_pct is not None:
            settings = replace(settings, min_impact_ratio=self.min_impact_pct / 100)
        if self.sensitivity is not None:
            tail = (1.0 - ALERT_LEVEL_BY_SENSITIVITY[self.sensitivity]) / (1.0 - alert_level)
            settings = replace(settings, tail_scale=tail)
        return settings


def _highest(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return b if a is None else a if b is None else max(a, b)


def _least_sensitive(a: str | None, b: str | None) -> str | None:
    return b if a is None else a if b is None else min(a, b, key=SENSITIVITIES.index)


def tenant_rules(policies: Mapping[str, Iterable[Policy]]) -> dict[str, TenantRule]:
    """Each tenant's settings from its enabled `anomaly_impact` policies (policies of other kinds, and disabled ones,
    are not applied). Tenants without one are left out."""
    found: dict[str, TenantRule] = {}
    for tenant_id, its in policies.items():
        for policy in its:
            if policy.enabled and isinstance(policy.rule, AnomalyImpact):
                found[tenant_id] = found.get(tenant_id, TenantRule()).merged(policy.rule)
    return found


class TenantThresholds:
    """The incident settings each tenant's series run with: the deployment's (`default`, detectors at
    `alert_level`), with each tenant's own settings in `by_tenant` (as `tenant_rules` makes them)."""

    def __init__(
        self,
        default: IncidentSettings,
        by_tenant: Mapping[str, TenantRule] | None = None,
        alert_level: float = DEFAULT_ALERT_LEVEL,
    ) -> None:
        self.default = default
        self.by_tenant: dict[str, TenantRule] = dict(by_tenant or {})
        # Built once per map, so the worker's per-message lookup is one dict access.
        self._settings = {t: rule.applied_to(default, alert_level) for t, rule in self.by_tenant.items()}

    @classmethod
    def from_policies(
        cls,
        default: IncidentSettings,
        policies: Mapping[str, Iterable[Policy]],
        alert_level: float = DEFAULT_ALERT_LEVEL,
    ) -> TenantThresholds:
        return cls(default, tenant_rules(policies), alert_level)

    def incident_settings(self, tenant_id: str) -> IncidentSettings:
        return self._settings.get(tenant_id, self.default)

    def min_impact(self, tenant_id: str) -> Decimal:
        return self.incident_settings(tenant_id).min_impact

    def alerts(self, tenant_id: str, impact: Decimal, expected: Decimal) -> bool:
        """Whether an anomaly of `tenant_id` with this `impact` over `expected` cost is over the tenant's minimums
        (an alerted anomaly always is; the detector also asks for a large enough change of its root cause,
        `IncidentSettings.alerts`, which a policy does not set)."""
        return self.incident_settings(tenant_id).meets_minimums(impact, expected)
