"""The anomaly worker's thresholds read from the real store: `anomaly_impact` policies written through
`PolicyStore` become each tenant's alert minimum (`worker/policies.py`), changes are picked up by the next
refresh, a store that cannot be read leaves the last thresholds in place, and the running worker (real broker,
real store) alerts each tenant's anomalies by its own policy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.events import CostAnomaly
from outlay.policies import AnomalyImpact, PolicyIn, RequiredTags
from outlay.store.engine import make_engine
from outlay.store.policies import Policy, PolicyStore
from services.anomaly.detection.incidents import IncidentSettings
from services.anomaly.series.thresholds import TenantRule
from services.anomaly.worker.policies import ThresholdRefresher, store_loader
from tests.integration.test_anomaly_worker import ACME_TOTAL, TOTAL, anomalies, anomaly_worker, ec2, outline, send
from tests.unit.test_anomaly_series import usage
from tests.unit.test_anomaly_tenants import ACME, of

DEPLOYMENT = IncidentSettings()


def threshold(min_impact: str, *, enabled: bool = True) -> PolicyIn:
    return PolicyIn(
        name=f"alert from ${min_impact}", rule=AnomalyImpact(min_impact=Decimal(min_impact)), enabled=enabled
    )


async def test_the_refresher_reads_each_tenants_policies_from_the_store(engine: AsyncEngine) -> None:
    policies = PolicyStore(engine)
    acme = policies.for_tenant("acme")
    first = await acme.create(threshold("100"))
    await acme.create(threshold("5000", enabled=False))  # disabled: not applied
    await policies.for_tenant("globex").create(threshold("700", enabled=False))
    await policies.for_tenant("globex").create(PolicyIn(name="tags", rule=RequiredTags(keys=["team"])))
    refresher = ThresholdRefresher(DEPLOYMENT, store_loader(engine))

    await refresher.start()
    assert refresher.current.by_tenant == {"acme": TenantRule(Decimal("100"))}
    assert not refresher.current.alerts("acme", Decimal("50"), Decimal("100"))
    assert refresher.current.alerts("globex", Decimal("50"), Decimal("100"))

    # Changes show at the next refresh: a second, higher policy wins; a policy switched on applies.
    await acme.create(threshold("250"))
    await policies.for_tenant("globex").create(threshold("30"))
    assert await refresher.refresh()
    assert refresher.current.by_tenant == {"acme": TenantRule(Decimal("250")), "globex": TenantRule(Decimal("30"))}
    # Lowered and the higher one deleted: acme's own minimum is the lower one again.
    changed = await acme.replace(first.policy_id, threshold("80"))
    assert changed is not None
    for p in await acme.all():
        if p.enabled and p.policy_id != first.policy_id:
            await acme.delete(p.policy_id)
    assert await refresher.refresh()
    assert refresher.current.by_tenant == {"acme": TenantRule(Decimal("80")), "globex": TenantRule(Decimal("30"))}


async def test_a_store_that_cannot_be_read_leaves_the_last_thresholds(engine: AsyncEngine, store_url: str) -> None:
    await PolicyStore(engine).for_tenant("acme").create(threshold("100"))
    gone = make_engine(store_url.rsplit("/", 1)[0] + "/outlay_no_such_database")
    reading = [engine]

    async def load() -> Mapping[str, Iterable[Policy]]:  # the store, then (after a failover, say) a missing one
        return await store_loader(reading[0])()

    refresher = ThresholdRefresher(DEPLOYMENT, load)
    assert await refresher.refresh()
    reading[0] = gone
    try:
        assert not await refresher.refresh()
    finally:
        await gone.dispose()
    assert refresher.current.by_tenant == {"acme": TenantRule(Decimal("100"))}


@pytest.mark.e2e
async def test_the_running_worker_alerts_each_tenant_by_its_policy(
    engine: AsyncEngine, store_url: str, broker: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same spike for the default tenant (no policy) and acme (a policy above the spike's impact): the worker
    records both, and alerts only the default tenant's."""
    await PolicyStore(engine).for_tenant(ACME).create(threshold("10000"))
    monkeypatch.setenv("DATABASE_URL", store_url)  # the worker reads its policies from the test's store
    lines = ec2(range(320)) + [usage(m, "60", n=1) for m in range(320, 324)] + ec2(range(320, 360), seed=4)

    def closed(seen: list[CostAnomaly], series: str) -> bool:
        return any(a.series == series and a.end is not None for a in seen)

    with anomaly_worker(broker, tmp_path / "anomaly.log"):
        await send(broker, lines + of(ACME, lines))
        seen = await anomalies(broker, lambda seen: closed(seen, TOTAL) and closed(seen, ACME_TOTAL))
    default = [a for a in seen if a.series == TOTAL]
    acme = [a for a in seen if a.series == ACME_TOTAL]
    assert {a.start for a in default} == {a.start for a in acme}
    assert all(a.alerted for a in default), outline(default)
    assert not any(a.alerted for a in acme), outline(acme)
    assert all(abs(a.impact) < 10000 for a in acme)
