"""The optimizer service of one tenant (`OUTLAY_OPTIMIZER_TENANT`) on the real broker and PostgreSQL: it takes its
tenant's decisions, ignores another tenant's naming the same plan id, publishes its tenant's plan states, and keeps
only its tenant's utilization samples. No region is scanned (no AWS): the plans are stored first, as a scan would."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from outlay.events.plan import Decision, PlanDecision, PlanStatus
from outlay.events.topics import PLANS
from outlay.events.utilization import UtilizationSample
from outlay.kafka.producer import EventProducer
from outlay.settings import Settings
from outlay.store.audit import AuditLog
from outlay.store.engine import make_engine
from outlay.store.plans import PlanStore
from outlay.store.utilization import UtilizationStore
from services.optimizer.main import group_id
from services.optimizer.main import run as run_optimizer
from services.optimizer.plan_events import plan_event
from services.optimizer.plans import propose_plans
from tests.integration.ingest_support import read_topic
from tests.integration.test_optimizer_store import REGION, resize

WITHIN = 60.0


def test_each_tenant_has_its_own_consumer_groups_and_a_bad_tenant_is_named() -> None:
    assert group_id(Settings(OUTLAY_OPTIMIZER_GROUP="opt")) == "opt"  # the default tenant: unchanged
    assert group_id(Settings(OUTLAY_OPTIMIZER_GROUP="opt", OUTLAY_OPTIMIZER_TENANT="acme")) == "opt-acme"
    with pytest.raises(ValueError, match="OUTLAY_OPTIMIZER_TENANT: tenant id 'Acme Corp' must be"):
        Settings(OUTLAY_OPTIMIZER_TENANT="Acme Corp")


async def test_the_service_takes_its_tenants_decisions_only(store_url: str, broker: str) -> None:
    run = uuid.uuid4().hex[:8]
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    [found] = propose_plans([resize(f"i-{run}")], {f"i-{run}": {"env": "prod"}})
    engine = make_engine(store_url)
    plans = PlanStore(engine)
    acme_plans = plans.for_tenant("acme")
    # The same plan id in two tenants (two organisations' scans found the same change): each is its tenant's own.
    await plans.propose([plan_event(found, PlanStatus.PROPOSED, now, now)], REGION, now)
    await acme_plans.propose([plan_event(found, PlanStatus.PROPOSED, now, now, "acme")], REGION, now)
    assert await acme_plans.request_approval(found.plan_id, "bob", now) is not None
    minute = now - timedelta(minutes=now.minute % 5 + 10)

    def sample(tenant: str, offset: int, value: float) -> UtilizationSample:
        return UtilizationSample(
            record_id=f"{tenant}-{offset}", tenant_id=tenant, timestamp=minute + timedelta(minutes=offset),
            account_id="1", region=REGION, resource_type="ec2-instance", resource_id=f"i-{run}",
            metric="CPUUtilization", value=value,
        )  # fmt: skip

    settings = Settings(
        DATABASE_URL=store_url,
        KAFKA_BOOTSTRAP_SERVERS=broker,
        OUTLAY_OPTIMIZER_GROUP=f"optimizer-{run}",
        OUTLAY_OPTIMIZER_TENANT="acme",
    )
    stop = asyncio.Event()
    optimizer = asyncio.create_task(run_optimizer(settings, stop))
    try:
        async with EventProducer(broker) as producer:
            # In order on the plan's partition: another tenant's approval first, then acme's rejection. Had the
            # approval been taken, acme's plan would be approved and applied (and fail: there is no AWS here).
            decided = [
                PlanDecision(plan_id=found.plan_id, decision=Decision.APPROVE, tenant_id="default", actor="mallory",
                             at=now),
                PlanDecision(plan_id=found.plan_id, decision=Decision.REJECT, tenant_id="acme", actor="ana", at=now),
            ]  # fmt: skip
            await producer.send_many(decided)
            # One resource, one partition: another tenant's sample first, then acme's, in the same five minutes.
            await producer.send_many([sample("other", 0, 90.0), sample("acme", 1, 10.0)])
        acme_audit = AuditLog(engine).for_tenant("acme")
        async with asyncio.timeout(WITHIN):  # the decision is audited once its change is stored
            while not (acme_trail := [(e.event.actor, e.event.event) for e in await acme_audit.page()]):
                await asyncio.sleep(0.1)
        assert acme_trail == [("ana", "rejected")] and await AuditLog(engine).page() == []
        rejected = await acme_plans.get(found.plan_id)
        assert rejected is not None and rejected.status is PlanStatus.REJECTED and rejected.decided_by == "ana"
        assert rejected.requested_by == "bob"
        untouched = await plans.get(found.plan_id)  # the default tenant's plan: not this optimizer's to decide
        assert untouched is not None and untouched.status is PlanStatus.PROPOSED and untouched.decided_by is None
        async with asyncio.timeout(WITHIN):  # published after it is stored and audited
            while not (published := [p for p in await read_topic(broker, PLANS.name) if p["plan_id"] == found.plan_id]):
                await asyncio.sleep(0.1)
        assert [(p["tenant_id"], p["status"], p["requested_by"]) for p in published] == [("acme", "rejected", "bob")]

        utilization = UtilizationStore(engine).for_tenant("acme")
        async with asyncio.timeout(WITHIN):
            while not (series := await utilization.series(REGION, minute, minute + timedelta(minutes=5))):
                await asyncio.sleep(0.1)
        assert series == {(f"i-{run}", "CPUUtilization"): [(minute, 10.0)]}  # acme's minute alone
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(optimizer, WITHIN)
        await engine.dispose()
