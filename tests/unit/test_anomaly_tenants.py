"""Series per tenant: two tenants with identical usage get separate series, detector states, top-spender rankings
and incidents; a verdict reaches only its own tenant's series. Through the worker's own message handling
(`_apply`, with a dict for its table), no broker."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from outlay.events import AnomalyFeedback, CostAnomaly, FeedbackVerdict, UsageRecord
from outlay.events.anomaly import anomaly_id
from outlay.tenancy import DEFAULT_TENANT
from services.anomaly.series.keys import SeriesContribution, SeriesSettings, contributions
from services.anomaly.series.monitor import MonitorSettings, SeriesMonitor
from services.anomaly.series.tenants import feedback_series, qualified, split_series, tenant_of
from services.anomaly.series.top_spenders import TopSpenders, TopSpenderSettings
from services.anomaly.worker.app import MonitorCache, _apply, routed_feedback
from services.anomaly.worker.messages import SeriesMessage
from tests.unit.test_anomaly_series import MINUTE, T0, steady, usage

ACME, GLOBEX = "acme", "globex"
EC2 = "minute|billing_account_id=111122223333|service=AmazonEC2"


def of(tenant: str, records: Iterable[UsageRecord]) -> list[UsageRecord]:
    """The same lines (same record ids, same costs) as `tenant`'s."""
    return [r.model_copy(update={"tenant_id": tenant}) for r in records]


def spend(tenant: str, minute: int, resource: str, cost: str) -> UsageRecord:
    """One resource's EC2 line (its own record id per resource and minute)."""
    record = usage(minute, cost, n=int.from_bytes(resource.encode()))
    return record.model_copy(update={"resource_id": resource, "tenant_id": tenant})


class Worker:
    """The worker's second stage in process: series messages applied to a table, anomalies collected."""

    def __init__(self) -> None:
        self.table: dict[str, dict[str, Any]] = {}
        self.cache = MonitorCache(MonitorSettings())
        self.published: list[CostAnomaly] = []

    def feed(self, records: list[UsageRecord]) -> None:
        """One usage batch per minute, in order, as a live source sends them."""
        by_minute: dict[datetime, list[UsageRecord]] = defaultdict(list)
        for record in records:
            by_minute[record.charge_period_start].append(record)
        for minute in sorted(by_minute):
            by_series: dict[str, list[SeriesContribution]] = defaultdict(list)
            for c in contributions(by_minute[minute], SeriesSettings()):
                by_series[c.series].append(c)
            for its in by_series.values():
                self.apply(SeriesMessage(contributions=its))

    def apply(self, message: SeriesMessage) -> list[CostAnomaly]:
        out = _apply(message, self.table, self.cache, MonitorSettings())
        self.published += out
        return out

    def judge(self, feedback: AnomalyFeedback) -> list[CostAnomaly]:
        """As `route_feedback` then `monitor` do."""
        routed = routed_feedback(feedback)
        return [] if routed is None else self.apply(SeriesMessage(feedback=routed))


def spiky(tenant: str) -> list[UsageRecord]:
    """400 steady minutes, then a 5-minute EC2 spike: the same lines for every tenant."""
    spike = [usage(m, "60", n=1) for m in range(400, 405)]
    return of(tenant, steady(range(400)) + spike + steady(range(400, 420), seed=4))


@pytest.fixture(scope="module")
def both() -> Worker:
    """acme and globex send identical usage, interleaved in the same batches; the default tenant too."""
    worker = Worker()
    worker.feed(spiky(ACME) + spiky(GLOBEX) + spiky(DEFAULT_TENANT))
    return worker


def test_series_names_carry_their_tenant_and_the_default_tenant_keeps_its_names() -> None:
    assert qualified(DEFAULT_TENANT, "minute|total") == "minute|total"
    assert qualified(ACME, "minute|total") == "acme/minute|total"
    assert split_series(f"acme/{EC2}") == (ACME, EC2)
    assert split_series(EC2) == (DEFAULT_TENANT, EC2)
    # A '/' in a dimension value is not a tenant: only the granularity's segment is read.
    assert split_series("minute|tag:team=web/checkout") == (DEFAULT_TENANT, "minute|tag:team=web/checkout")
    assert tenant_of("globex/hour|tag:team=a/b") == GLOBEX


def test_identical_usage_of_two_tenants_feeds_separate_series() -> None:
    lines = [usage(0, "1.5"), usage(0, "0.5", service="AmazonS3", team=None)]
    out = contributions(of(ACME, lines) + of(GLOBEX, lines) + lines, SeriesSettings())
    names = {c.series for c in out}
    bare = {"minute|total", EC2, "minute|billing_account_id=111122223333|service=AmazonS3", "minute|tag:team=checkout"}
    assert names == bare | {f"acme/{s}" for s in bare} | {f"globex/{s}" for s in bare}
    # The same record ids in two tenants are two lines, not a duplicate: each tenant's total has both of its own.
    totals = {c.series: c for c in out if c.series.endswith("minute|total")}
    assert {s: (str(c.amount), len(c.record_ids)) for s, c in totals.items()} == {
        s: ("2.0", 2) for s in ("minute|total", "acme/minute|total", "globex/minute|total")
    }
    # The tenant is not a dimension (dimensions drive root cause).
    assert all("tenant" not in key for c in out for key in [*c.dimensions, *c.breakdown])


def test_identical_usage_gives_each_tenant_its_own_anomalies_ids_and_state(both: Worker) -> None:
    by_tenant: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for a in both.published:
        assert tenant_of(a.series) == a.tenant_id
        by_tenant[a.tenant_id].add((a.series, a.anomaly_id))
    assert set(by_tenant) == {ACME, GLOBEX, DEFAULT_TENANT}
    bare = {tenant: {split_series(s)[1] for s, _ in found} for tenant, found in by_tenant.items()}
    assert bare[ACME] == bare[GLOBEX] == bare[DEFAULT_TENANT] and "minute|total" in bare[ACME]
    ids = {tenant: {i for _, i in found} for tenant, found in by_tenant.items()}
    assert not ids[ACME] & ids[GLOBEX] and not ids[ACME] & ids[DEFAULT_TENANT]
    # The default tenant's ids are those it had before tenants existed.
    total = next(a for a in both.published if a.series == "minute|total")
    assert total.anomaly_id == anomaly_id("minute|total", T0 + 400 * MINUTE)
    assert next(a for a in both.published if a.series == "acme/minute|total").tenant_id == ACME

    # One state per tenant's series, each learnt once: identical lines neither merged nor counted as duplicates,
    # so each tenant's state is the one the default tenant learnt alone (but for the names and ids in it).
    def learnt(state: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in state.items() if k not in ("series", "incident")}

    for tenant in (ACME, GLOBEX):
        state = both.table[qualified(tenant, "minute|total")]
        assert state["series"] == qualified(tenant, "minute|total")
        assert state["buckets"]["duplicates"] == 0
        assert learnt(state) == learnt(both.table["minute|total"])


def open_incident(worker: Worker, tenant: str) -> CostAnomaly:
    series = qualified(tenant, "minute|total")
    return [a for a in worker.published if a.series == series][-1]


def test_a_verdict_from_another_tenant_changes_nothing_for_the_series_it_names() -> None:
    worker = Worker()
    worker.feed(spiky(ACME)[:-30] + spiky(GLOBEX)[:-30])  # both incidents still open
    acme = open_incident(worker, ACME)
    assert acme.end is None and acme.alerted

    def acme_state() -> str:  # as stored, and as the live monitor the worker keeps beside the table holds it
        stored = worker.table[acme.series]
        live = worker.cache.get(acme.series, stored)
        assert live is not None
        return json.dumps([stored, live.state()], sort_keys=True)

    before = acme_state()
    for verdict in FeedbackVerdict:
        # globex names acme's series (as stored, or without its tenant) and acme's anomaly id.
        for series in (acme.series, "minute|total"):
            worker.judge(
                AnomalyFeedback(
                    anomaly_id=acme.anomaly_id, tenant_id=GLOBEX, series=series, verdict=verdict, given_at=T0
                )
            )
        # Even delivered straight to acme's series (past the routing), it is ignored.
        stray = AnomalyFeedback(
            anomaly_id=acme.anomaly_id, tenant_id=GLOBEX, series=acme.series, verdict=verdict, given_at=T0
        )
        assert worker.apply(SeriesMessage(feedback=stray)) == []
    assert acme_state() == before
    # acme's own verdict does end its incident.
    (closed,) = worker.judge(
        AnomalyFeedback(
            anomaly_id=acme.anomaly_id, tenant_id=ACME, series=acme.series, verdict=FeedbackVerdict.PLANNED, given_at=T0
        )
    )
    assert closed.anomaly_id == acme.anomaly_id and closed.tenant_id == ACME and closed.end is not None


def test_feedback_is_read_within_its_own_tenant() -> None:
    def verdict(tenant: str, series: str) -> AnomalyFeedback:
        return AnomalyFeedback(
            anomaly_id="x", tenant_id=tenant, series=series, verdict=FeedbackVerdict.PLANNED, given_at=T0
        )

    assert feedback_series(verdict(ACME, "acme/minute|total")) == "acme/minute|total"
    assert feedback_series(verdict(ACME, "minute|total")) == "acme/minute|total"  # unqualified: its own
    assert feedback_series(verdict(GLOBEX, "acme/minute|total")) is None
    assert feedback_series(verdict(DEFAULT_TENANT, "acme/minute|total")) is None
    assert feedback_series(verdict(DEFAULT_TENANT, "minute|total")) == "minute|total"
    assert routed_feedback(verdict(GLOBEX, "acme/minute|total")) is None
    routed = routed_feedback(verdict(GLOBEX, "minute|total"))
    assert routed is not None and routed.series == "globex/minute|total" and routed.tenant_id == GLOBEX


def test_a_monitor_ignores_a_verdict_from_another_tenant() -> None:
    first = SeriesContribution(
        series="acme/minute|total", granularity_s=60, bucket=T0, amount=Decimal(0), record_ids=[], currency="USD"
    )
    monitor = SeriesMonitor.for_contribution(first)
    level = monitor.detector.alert_level
    for tenant in (GLOBEX, DEFAULT_TENANT):
        feedback = AnomalyFeedback(
            anomaly_id="x", tenant_id=tenant, series=monitor.series, verdict=FeedbackVerdict.FALSE_POSITIVE, given_at=T0
        )
        assert monitor.give_feedback(feedback) == []
    assert monitor.detector.alert_level == level
    own = AnomalyFeedback(
        anomaly_id="x", tenant_id=ACME, series=monitor.series, verdict=FeedbackVerdict.FALSE_POSITIVE, given_at=T0
    )
    monitor.give_feedback(own)
    assert monitor.detector.alert_level > level


def test_a_restored_monitor_keeps_its_tenant() -> None:
    worker = Worker()
    worker.feed(spiky(GLOBEX)[:-30])
    state = json.loads(json.dumps(worker.table["globex/minute|total"]))
    restored = SeriesMonitor.from_state(state)
    assert restored.tenant_id == GLOBEX
    current = restored.incidents.current
    assert current is not None and current.tenant_id == GLOBEX and current.series == "globex/minute|total"


def test_top_spenders_are_ranked_per_tenant() -> None:
    top = TopSpenders(TopSpenderSettings(top=2, min_share=0.05))
    acme = [spend(ACME, 0, "i-huge", "1000")]
    # globex's resources are small beside acme's, under the same account and service: still globex's top two.
    globex = [spend(GLOBEX, 0, "i-a", "10"), spend(GLOBEX, 0, "i-b", "5"), spend(GLOBEX, 0, "i-c", "0.1")]
    series = {c.series for c in contributions(acme + globex, SeriesSettings(), top)}
    own = {s for s in series if "resource_id=" in s}
    assert own == {"acme/minute|resource_id=i-huge", "globex/minute|resource_id=i-a", "globex/minute|resource_id=i-b"}
    # The same resource id in two tenants is ranked within each tenant.
    top.observe([spend(ACME, 1, "i-a", "0.01")])
    assert top.is_top(spend(GLOBEX, 1, "i-a", "1")) and not top.is_top(spend(ACME, 1, "i-a", "1"))


def test_one_tenants_new_spend_does_not_decay_another_tenants_ranking() -> None:
    top = TopSpenders(TopSpenderSettings(top=1, min_share=0.05, half_life=timedelta(hours=1)))
    top.observe([spend(ACME, 0, "i-old", "10"), spend(GLOBEX, 0, "i-g", "1")])
    # Hours of acme's newer spend: acme's top changes; globex's ranking, with nothing new, keeps its resource.
    top.observe([spend(ACME, m, "i-new", "50") for m in range(60, 300, 60)])
    assert top.is_top(spend(ACME, 0, "i-new", "1")) and not top.is_top(spend(ACME, 0, "i-old", "1"))
    assert top.is_top(spend(GLOBEX, 0, "i-g", "1"))
