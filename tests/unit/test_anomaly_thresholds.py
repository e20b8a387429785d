"""Per-tenant alert thresholds from `anomaly_impact` policies: the decision (`series/thresholds.py`) on maps of
policies written here, the worker's message handling with it (`_apply`, a dict for its table, no broker), and the
refresher's keeping of the last good thresholds (`worker/policies.py`, with loaders written here)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from outlay.events import CostAnomaly, UsageRecord
from outlay.policies import AnomalyImpact, BudgetCeiling, Rule
from outlay.store.policies import Policy
from outlay.tenancy import DEFAULT_TENANT
from services.anomaly.detection.incidents import IncidentSettings
from services.anomaly.series.keys import SeriesContribution, SeriesSettings, contributions
from services.anomaly.series.monitor import MonitorSettings
from services.anomaly.series.thresholds import TenantRule, TenantThresholds, tenant_rules
from services.anomaly.worker.app import MonitorCache, _apply
from services.anomaly.worker.messages import SeriesMessage
from services.anomaly.worker.policies import ThresholdRefresher
from tests.unit.test_anomaly_series import MINUTE, T0, steady
from tests.unit.test_anomaly_tenants import ACME, GLOBEX, of, spiky

# The deployment's settings: no absolute minimum (OUTLAY_ANOMALY_MIN_IMPACT=0), 5% of the expected cost.
DEPLOYMENT = IncidentSettings()
AT = datetime(2026, 11, 1, tzinfo=UTC)


def policy(min_impact: str | None = None, *, enabled: bool = True, rule: Rule | None = None) -> Policy:
    rule = rule if rule is not None else AnomalyImpact(min_impact=Decimal(min_impact or "0"))
    return Policy(f"p-{min_impact}", "threshold", rule, enabled, 1, AT, AT)


def thresholds(policies: Mapping[str, Iterable[Policy]]) -> TenantThresholds:
    return TenantThresholds.from_policies(DEPLOYMENT, policies)


def test_a_tenants_policy_sets_its_minimum_and_a_tenant_without_one_keeps_the_deployments() -> None:
    chosen = thresholds({ACME: [policy("100")]})
    # An impact of 50 on an expected 100 (50%, well over the 5% share): alerted for globex, not for acme.
    assert not chosen.alerts(ACME, Decimal("50"), Decimal("100"))
    assert chosen.alerts(GLOBEX, Decimal("50"), Decimal("100"))
    assert chosen.alerts(DEFAULT_TENANT, Decimal("50"), Decimal("100"))
    # A drop is measured by its size, as under the deployment's minimum; the minimum itself alerts.
    assert not chosen.alerts(ACME, Decimal("-99.99"), Decimal("200"))
    assert chosen.alerts(ACME, Decimal("-100"), Decimal("200"))
    assert chosen.min_impact(ACME) == Decimal("100") and chosen.min_impact(GLOBEX) == DEPLOYMENT.min_impact
    # The share threshold still applies to a tenant with a policy: 150 on an expected 10,000 is 1.5%.
    assert not chosen.alerts(ACME, Decimal("150"), Decimal("10000"))
    assert chosen.incident_settings(ACME) == replace(DEPLOYMENT, min_impact=Decimal("100"))
    assert chosen.incident_settings(GLOBEX) is DEPLOYMENT


def test_a_policy_replaces_a_deployment_minimum_either_way() -> None:
    deployment = replace(DEPLOYMENT, min_impact=Decimal("20"))
    chosen = TenantThresholds.from_policies(deployment, {ACME: [policy("5")], GLOBEX: [policy("100")]})
    assert chosen.alerts(ACME, Decimal("10"), Decimal("10"))  # below the deployment's 20, above acme's 5
    assert not chosen.alerts(DEFAULT_TENANT, Decimal("10"), Decimal("10"))
    assert not chosen.alerts(GLOBEX, Decimal("50"), Decimal("10"))


def test_the_highest_of_several_policies_wins() -> None:
    assert tenant_rules({ACME: [policy("100"), policy("250"), policy("40")]}) == {ACME: TenantRule(Decimal("250"))}
    chosen = thresholds({ACME: [policy("250"), policy("100")]})
    assert not chosen.alerts(ACME, Decimal("200"), Decimal("100"))
    assert chosen.alerts(ACME, Decimal("250"), Decimal("100"))


def test_disabled_policies_and_other_kinds_are_not_applied() -> None:
    # `enabled_policies` returns enabled ones only; a disabled one in the map is still not applied.
    budget = policy(rule=BudgetCeiling(max_amount=Decimal("1")))
    found = {ACME: [policy("100"), policy("900", enabled=False)], GLOBEX: [policy("500", enabled=False), budget]}
    assert tenant_rules(found) == {ACME: TenantRule(Decimal("100"))}
    chosen = thresholds(found)
    assert chosen.alerts(GLOBEX, Decimal("50"), Decimal("100"))
    assert chosen.alerts(ACME, Decimal("150"), Decimal("100"))
    assert tenant_rules({}) == {} and thresholds({}).by_tenant == {}


def rule_policy(**fields: Any) -> Policy:
    return policy(rule=AnomalyImpact(**fields))


def test_a_tenant_sets_its_share_and_sensitivity_and_keeps_the_deployments_for_what_it_leaves_unset() -> None:
    chosen = thresholds({ACME: [rule_policy(min_impact_pct=Decimal("50"))], GLOBEX: [rule_policy(sensitivity="high")]})
    # acme: 40 on an expected 100 is under its 50%; the deployment's 5% alerts it for everyone else.
    assert not chosen.alerts(ACME, Decimal("40"), Decimal("100")) and chosen.alerts(ACME, Decimal("50"), Decimal("100"))
    assert chosen.alerts(GLOBEX, Decimal("40"), Decimal("100"))
    assert chosen.incident_settings(ACME) == replace(DEPLOYMENT, min_impact_ratio=Decimal("0.5"))
    # globex alerts at tail probability 0.005 where the deployment (medium) alerts at 0.001: five times as readily.
    assert chosen.incident_settings(GLOBEX).tail_scale == pytest.approx(5.0)
    assert chosen.incident_settings(ACME).tail_scale == 1.0 and DEPLOYMENT.tail_scale == 1.0
    low = TenantThresholds.from_policies(DEPLOYMENT, {ACME: [rule_policy(sensitivity="low")]}, alert_level=0.995)
    assert low.incident_settings(ACME).tail_scale == pytest.approx(0.1)  # 0.0005 against a deployment at high


def test_several_policies_combine_to_the_most_reserved_of_each_setting() -> None:
    found = tenant_rules({ACME: [
        rule_policy(min_impact=Decimal("10"), sensitivity="high"),
        rule_policy(min_impact_pct=Decimal("20"), sensitivity="low"),
        rule_policy(min_impact=Decimal("30"), min_impact_pct=Decimal("5"), sensitivity="medium"),
    ]})  # fmt: skip
    assert found == {ACME: TenantRule(Decimal("30"), Decimal("20"), "low")}


def test_a_policy_that_sets_nothing_is_refused_naming_the_fields() -> None:
    with pytest.raises(ValueError, match="min_impact, min_impact_pct, sensitivity"):
        AnomalyImpact()
    with pytest.raises(ValueError, match="sensitivity"):
        AnomalyImpact(sensitivity="extreme")  # type: ignore[arg-type]


def test_the_worker_alerts_each_tenant_by_its_own_share() -> None:
    """The spike of the shared scenario is about 300% of its expected cost: under acme's 1,000%, over the 5%."""
    worker = Worker(thresholds({ACME: [rule_policy(min_impact_pct=Decimal("1000"))]}))
    worker.feed(spike_and_calm(ACME) + spike_and_calm(GLOBEX))
    acme, globex = worker.of(ACME), worker.of(GLOBEX)
    assert {a.start for a in acme} == {a.start for a in globex} == {T0 + 400 * MINUTE}  # recorded for both
    assert not any(a.alerted for a in acme) and globex[-1].alerted


def spike_and_calm(tenant: str) -> list[UsageRecord]:
    """400 steady minutes, a 5-minute EC2 spike, then steady minutes until its incident has closed (minute 421)."""
    return spiky(tenant) + of(tenant, steady(range(420, 440), seed=5))


class Worker:
    """The worker's second stage in process, alerting by `thresholds`."""

    def __init__(self, thresholds: TenantThresholds) -> None:
        self.thresholds = thresholds
        self.table: dict[str, dict[str, Any]] = {}
        self.cache = MonitorCache(MonitorSettings())
        self.published: list[CostAnomaly] = []

    def feed(self, records: list[UsageRecord]) -> None:
        by_minute: dict[datetime, list[UsageRecord]] = defaultdict(list)
        for record in records:
            by_minute[record.charge_period_start].append(record)
        for minute in sorted(by_minute):
            by_series: dict[str, list[SeriesContribution]] = defaultdict(list)
            for c in contributions(by_minute[minute], SeriesSettings()):
                by_series[c.series].append(c)
            for its in by_series.values():
                message = SeriesMessage(contributions=its)
                self.published += _apply(message, self.table, self.cache, MonitorSettings(), self.thresholds)

    def of(self, tenant: str, series: str = "minute|total") -> list[CostAnomaly]:
        name = series if tenant == DEFAULT_TENANT else f"{tenant}/{series}"
        return [a for a in self.published if a.series == name]


@pytest.fixture(scope="module")
def worker() -> Worker:
    """Identical usage of three tenants (a 5-minute spike of $60 a minute over ~$15 a minute): acme's policy says
    100, globex's 10,000, the default tenant has none."""
    worker = Worker(thresholds({ACME: [policy("100")], GLOBEX: [policy("10000"), policy("1", enabled=False)]}))
    worker.feed(spike_and_calm(ACME) + spike_and_calm(GLOBEX) + spike_and_calm(DEFAULT_TENANT))
    return worker


def test_the_worker_alerts_each_tenants_anomalies_by_its_own_threshold(worker: Worker) -> None:
    default, acme, globex = worker.of(DEFAULT_TENANT), worker.of(ACME), worker.of(GLOBEX)
    # The same incident for all three, recorded (published, closed) for all three; acme's is published once more,
    # when it became alerted.
    assert {a.start for a in default} == {a.start for a in acme} == {a.start for a in globex} == {T0 + 400 * MINUTE}
    assert default[-1].end is not None and acme[-1].end is not None and globex[-1].end is not None
    assert default[-1].alerted and default[0].alerted  # no absolute minimum: alerted from its first minute
    # acme's: not alerted while its impact is under 100, alerted once it reaches it (as the deployment's works).
    assert abs(acme[0].impact) < 100 and not acme[0].alerted
    assert abs(acme[-1].impact) >= 100 and acme[-1].alerted
    # globex's never reaches 10,000: recorded, never alerted.
    assert abs(globex[-1].impact) < 10000 and not any(a.alerted for a in globex)
    for a in worker.published:
        over = worker.thresholds.alerts(a.tenant_id, a.impact, a.expected_cost)
        if a.series.endswith("minute|total"):
            assert a.alerted == over  # the spike: its cause (EC2) moved by a multiple, the minimums decide
        else:
            # Other series may hold back an incident over the minimums whose cause changed too little (noise on
            # a calm series: `IncidentSettings.min_change_ratio`), never alert one under them.
            assert over or not a.alerted


def test_new_thresholds_apply_to_a_series_the_worker_already_holds() -> None:
    lines = spike_and_calm(ACME)
    spike_ends = T0 + 405 * MINUTE
    worker = Worker(thresholds({}))
    worker.feed([r for r in lines if r.charge_period_start < spike_ends])  # acme's incident open and alerted
    before = worker.of(ACME)
    assert before and before[-1].alerted and before[-1].end is None
    worker.thresholds = thresholds({ACME: [policy("10000")]})  # as a refresh replaces them
    worker.feed([r for r in lines if r.charge_period_start >= spike_ends])
    after = worker.of(ACME)[len(before) :]
    # The same incident's later states (its close at least) are judged by acme's new minimum.
    assert after and {a.anomaly_id for a in after} == {before[-1].anomaly_id}
    assert after[-1].end is not None and not any(a.alerted for a in after)


class Loader:
    """Policies as the store would return them, or a failure, call by call."""

    def __init__(self, *answers: Mapping[str, Iterable[Policy]] | Exception | None) -> None:
        self.answers = list(answers)
        self.calls = 0

    async def __call__(self) -> Mapping[str, Iterable[Policy]]:
        self.calls += 1
        answer = self.answers.pop(0)
        if answer is None:  # a store that does not answer
            await asyncio.Event().wait()
        if isinstance(answer, Exception):
            raise answer
        assert answer is not None
        return answer


async def test_a_failed_refresh_keeps_the_last_good_thresholds_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    down = ConnectionRefusedError("store down")
    load = Loader(down, {ACME: [policy("100")]}, down, None, down, {ACME: [policy("300")]})
    refresher = ThresholdRefresher(DEPLOYMENT, load, timeout=timedelta(milliseconds=50))
    assert refresher.current.by_tenant == {} and refresher.current.incident_settings(ACME) is DEPLOYMENT
    with caplog.at_level(logging.INFO, logger="services.anomaly.worker.policies"):
        await refresher.start()  # the first refresh fails: the deployment's thresholds for every tenant
        assert refresher.current.by_tenant == {}
        await refresher.start()  # tried already: no second first refresh
        assert load.calls == 1
        assert await refresher.refresh()
        assert refresher.current.by_tenant == {ACME: TenantRule(Decimal("100"))}
        # A failure, a store that does not answer, a failure: acme's 100 is kept throughout.
        assert not await refresher.refresh()
        assert not await refresher.refresh()
        assert not await refresher.refresh()
        assert refresher.current.by_tenant == {ACME: TenantRule(Decimal("100"))}
        assert await refresher.refresh()
    assert refresher.current.by_tenant == {ACME: TenantRule(Decimal("300"))}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # once per run of failures (the first at start, then the three in a row)
    assert all("ConnectionRefusedError: store down" in w.getMessage() for w in warnings)


async def test_without_a_store_every_tenant_keeps_the_deployments_thresholds() -> None:
    refresher = ThresholdRefresher(DEPLOYMENT, None)
    await refresher.start()
    assert await refresher.refresh()
    assert refresher.current.by_tenant == {} and refresher.current.incident_settings(ACME) is DEPLOYMENT
