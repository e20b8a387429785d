"""The optimizer's state on PostgreSQL and SQLite: plans proposed, refreshed and superseded by scans, decisions that
come too late, auto-apply where policy allows, and an executor that breaks; EC2 is the in-memory port (the moto
test covers boto3)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from outlay.events.plan import ActionPlan, Decision, PlanDecision, PlanStatus
from outlay.store.audit import AuditLog
from outlay.store.engine import make_engine
from outlay.store.plans import PlanStore, RecommendationStore
from outlay.store.policies import PolicyStore
from services.optimizer.execution import PlanExecutor, planned_and_quiet
from services.optimizer.plan_events import plan_event, plan_of
from services.optimizer.plans import propose_plans
from services.optimizer.policy_checks import TenantRules
from services.optimizer.recommendations import Kind, Recommendation, Risk
from services.optimizer.scan import ScanResult
from services.optimizer.service import Optimizer, Policy
from tests.unit.optimizer_support import FakeEc2

REGION = "us-east-1"
T0 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def resize(instance_id: str, proposed: str = "m6i.large", risk: Risk = Risk.LOW) -> Recommendation:
    return Recommendation(
        Kind.RIGHTSIZE, instance_id, REGION, f"resize m5.2xlarge to {proposed}", Decimal("210.24"), 0.9, risk,
        "m5.2xlarge", proposed, {"p95_cpu": 20.5},
    )  # fmt: skip


def idle(instance_id: str) -> Recommendation:
    return Recommendation(
        Kind.STOP_INSTANCE, instance_id, REGION, "stop idle", Decimal("280.32"), 0.95, Risk.MEDIUM, "running"
    )


class World:
    """What the optimizer sees: the findings a scan returns, a fleet, and what it published."""

    def __init__(self, fleet: dict[str, str], tags: dict[str, dict[str, str]]) -> None:
        self.ec2 = FakeEc2(fleet)
        self.tags = tags
        self.findings: list[Recommendation] = []
        self.published: list[ActionPlan] = []
        self.now = T0
        self.broken = False

    async def scan(self, region: str, now: datetime, rules: TenantRules) -> ScanResult:
        return ScanResult(list(self.findings), [], dict(self.tags))

    def executor(self, region: str) -> PlanExecutor:
        if self.broken:
            raise ConnectionError("EC2 endpoint unreachable")
        return PlanExecutor(self.ec2, planned_and_quiet(self.ec2), clock=lambda: self.now)

    async def publish(self, plans: Sequence[ActionPlan]) -> None:
        self.published.extend(plans)

    def tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


async def test_scans_propose_refresh_and_supersede_but_never_reopen_decided_plans(dialect_url: str) -> None:
    engine = make_engine(dialect_url)
    try:
        store = PlanStore(engine)
        a, b = propose_plans([resize("i-a")], {"i-a": {}}), propose_plans([idle("i-b")], {"i-b": {}})
        first = [plan_event(p, PlanStatus.PROPOSED, T0, T0) for p in (*a, *b)]
        assert {p.plan_id for p in await store.propose(first, REGION, T0)} == {p.plan_id for p in first}
        assert await store.propose(first, REGION, T0 + timedelta(hours=6)) == []  # unchanged: nothing to publish
        stored = await store.get(first[0].plan_id)
        assert stored is not None and stored.changes == first[0].changes and stored.created_at == T0
        assert plan_of(stored).changes == a[0].changes  # the same steps rebuilt from what was stored

        # i-b's plan is decided; the next scan finds only a different resize of i-a.
        await store.transition(first[1].plan_id, PlanStatus.REJECTED, T0, decided_by="someone")
        c = propose_plans([resize("i-a", "m6g.large")], {"i-a": {}})
        later = T0 + timedelta(hours=12)
        changed = await store.propose([plan_event(c[0], PlanStatus.PROPOSED, later, later)], REGION, later)
        assert {(p.plan_id, p.status) for p in changed} == {
            (c[0].plan_id, PlanStatus.PROPOSED),
            (first[0].plan_id, PlanStatus.SUPERSEDED),
        }
        rejected = await store.get(first[1].plan_id)
        assert rejected is not None and rejected.status is PlanStatus.REJECTED and rejected.decided_by == "someone"

        # Only one of two racing decisions wins.
        wins = await asyncio.gather(
            *(store.transition(c[0].plan_id, s, later, only_from=frozenset({PlanStatus.PROPOSED}))
              for s in (PlanStatus.APPROVED, PlanStatus.REJECTED))
        )  # fmt: skip
        assert sum(w is not None for w in wins) == 1
        page = await store.page(limit=2)
        assert len(page.plans) == 2 and page.next_cursor is not None
        rest = await store.page(limit=2, after=page.next_cursor)
        assert len(rest.plans) == 1 and rest.next_cursor is None
        assert {p.plan_id for p in (*page.plans, *rest.plans)} == {first[0].plan_id, first[1].plan_id, c[0].plan_id}
    finally:
        await engine.dispose()


async def test_decisions_auto_apply_and_broken_executors_leave_a_true_record(dialect_url: str) -> None:
    engine = make_engine(dialect_url)
    world = World(
        {"i-dev": "m5.2xlarge", "i-prod": "m5.2xlarge", "i-idle": "m5.2xlarge"},
        {"i-dev": {"env": "dev"}, "i-prod": {"env": "prod"}, "i-idle": {"env": "test"}},
    )
    world.findings = [resize("i-dev"), resize("i-prod"), idle("i-idle")]
    plans, audit = PlanStore(engine), AuditLog(engine)
    optimizer = Optimizer(
        plans, RecommendationStore(engine), audit, world.publish, world.scan, world.executor,
        Policy(auto_apply=True), clock=world.tick,
    )  # fmt: skip
    try:
        proposed = {p.changes[0].resource_id: p for p in await optimizer.scan(REGION)}
        # Auto-apply ran what policy allows (non-production) at once; production waits for a person.
        assert world.ec2.instance("i-dev") == ("running", "m6i.large")
        assert world.ec2.instance("i-idle") == ("stopped", "m5.2xlarge")
        assert world.ec2.instance("i-prod") == ("running", "m5.2xlarge")
        dev = await plans.get(proposed["i-dev"].plan_id)
        assert dev is not None and dev.status is PlanStatus.APPLIED
        entries = await audit.of(f"plan:{dev.plan_id}")
        assert ("optimizer (auto-apply policy)", "decision") in {(e.actor, e.event) for e in entries}
        prod_id = proposed["i-prod"].plan_id
        assert [p.status for p in world.published if p.plan_id == prod_id] == [PlanStatus.PROPOSED]

        # Approving an unknown or already applied plan changes nothing, and says so in the audit trail.
        late = PlanDecision(plan_id=dev.plan_id, decision=Decision.APPROVE, actor="ana", at=world.now)
        assert await optimizer.decide(late) is None
        assert (await audit.of(f"plan:{dev.plan_id}"))[-1].detail == "approve ignored: plan is applied"
        ghost = PlanDecision(plan_id="nope", decision=Decision.REJECT, actor="ana", at=world.now)
        assert await optimizer.decide(ghost) is None
        assert (await audit.of("plan:nope"))[-1].detail == "reject ignored: unknown plan"

        # EC2 unreachable when the approval comes: the plan fails with the reason, nothing is half done.
        world.broken = True
        decided = PlanDecision(plan_id=prod_id, decision=Decision.APPROVE, actor="ana", at=world.now)
        failed = await optimizer.decide(decided)
        assert failed is not None and failed.status is PlanStatus.FAILED
        assert "EC2 endpoint unreachable" in failed.reason and failed.decided_by == "ana"
        assert world.ec2.instance("i-prod") == ("running", "m5.2xlarge")
        statuses = [p.status for p in world.published if p.plan_id == prod_id]
        assert statuses == [PlanStatus.PROPOSED, PlanStatus.APPROVED, PlanStatus.APPLYING, PlanStatus.FAILED]

        # A plan the optimizer was applying when it stopped is finished after the restart (idempotently).
        world.broken = False
        interrupted = await plans.transition(prod_id, PlanStatus.APPLYING, world.tick())
        assert interrupted is not None
        resumed = await optimizer.resume()
        assert [(p.plan_id, p.status) for p in resumed] == [(prod_id, PlanStatus.APPLIED)]
        assert world.ec2.instance("i-prod") == ("running", "m6i.large")
        assert "resumed" in [e.event for e in await audit.of(f"plan:{prod_id}")]

        found = await RecommendationStore(engine).all()
        assert {r.resource_id: r.plan_id for r in found} == {k: p.plan_id for k, p in proposed.items()}
        savings = await plans.savings()
        assert savings.applied == 2 * Decimal("210.24") + Decimal("280.32") and savings.applied_plans == 3
        assert savings.available == 0
    finally:
        await engine.dispose()


async def test_plans_found_again_reopen_changed_ones_republish_and_a_redelivered_approval_still_applies(
    dialect_url: str,
) -> None:
    engine = make_engine(dialect_url)
    world = World({"i-a": "m5.2xlarge", "i-b": "m5.2xlarge"}, {"i-a": {"env": "prod"}, "i-b": {"env": "prod"}})
    plans, audit = PlanStore(engine), AuditLog(engine)
    optimizer = Optimizer(
        plans, RecommendationStore(engine), audit, world.publish, world.scan, world.executor, Policy(),
        clock=world.tick,
    )  # fmt: skip
    try:
        world.findings = [resize("i-a"), resize("i-b")]
        [first] = await optimizer.scan(REGION)
        world.findings = [resize("i-a"), resize("i-b", "m6g.large")]  # one member changed: a new plan
        await optimizer.scan(REGION)
        assert (await plans.get(first.plan_id)).status is PlanStatus.SUPERSEDED  # type: ignore[union-attr]
        world.findings = [resize("i-a"), resize("i-b")]  # back as it was: the same plan is proposed again
        world.published.clear()
        [again] = await optimizer.scan(REGION)
        assert again.plan_id == first.plan_id
        assert (await plans.get(first.plan_id)).status is PlanStatus.PROPOSED  # type: ignore[union-attr]
        assert [p.status for p in world.published if p.plan_id == first.plan_id] == [PlanStatus.PROPOSED]
        found = {r.resource_id: r.plan_id for r in await RecommendationStore(engine).all()}
        assert found == {"i-a": first.plan_id, "i-b": first.plan_id}

        # The same changes with a different policy (production no longer): stored and published again.
        world.tags = {"i-a": {"env": "dev"}, "i-b": {"env": "dev"}}
        world.published.clear()
        await optimizer.scan(REGION)
        [refreshed] = [p for p in world.published if p.plan_id == first.plan_id]
        assert refreshed.approval_reasons == ["automatic apply is not enabled for this tenant"]

        # An approval whose first delivery stopped after `approved` was stored: delivered again, it applies.
        await plans.transition(first.plan_id, PlanStatus.APPROVED, world.tick(), decided_by="ana")
        redelivered = PlanDecision(plan_id=first.plan_id, decision=Decision.APPROVE, actor="ana", at=world.now)
        done = await optimizer.decide(redelivered)
        assert done is not None and done.status is PlanStatus.APPLIED
        assert world.ec2.instance("i-b") == ("running", "m6i.large")
    finally:
        await engine.dispose()


async def test_proposals_nobody_decides_on_expire_and_a_later_scan_proposes_them_anew(dialect_url: str) -> None:
    engine = make_engine(dialect_url)
    world = World({"i-a": "m5.2xlarge"}, {"i-a": {"env": "prod"}})
    plans, audit = PlanStore(engine), AuditLog(engine)
    optimizer = Optimizer(
        plans, RecommendationStore(engine), audit, world.publish, world.scan, world.executor,
        Policy(approval_window=timedelta(days=7)), clock=world.tick,
    )  # fmt: skip
    try:
        world.findings = [resize("i-a")]
        [proposed] = await optimizer.scan(REGION)
        assert await optimizer.expire_stale() == []  # a minute old: still open
        world.now += timedelta(days=8)
        [expired] = await optimizer.expire_stale()
        assert expired.plan_id == proposed.plan_id and expired.status is PlanStatus.EXPIRED
        assert "not decided since" in expired.reason
        late = PlanDecision(plan_id=proposed.plan_id, decision=Decision.APPROVE, actor="ana", at=world.now)
        assert await optimizer.decide(late) is None  # too late: nothing applied
        assert world.ec2.instance("i-a") == ("running", "m5.2xlarge")
        [again] = await optimizer.scan(REGION)  # still oversized: proposed anew, with a fresh approval window
        stored = await plans.get(again.plan_id)
        assert stored is not None and stored.status is PlanStatus.PROPOSED and stored.created_at > expired.created_at
        assert await optimizer.expire_stale() == []
    finally:
        await engine.dispose()


async def test_an_optimizer_serves_one_tenant_and_ignores_decisions_of_another(dialect_url: str) -> None:
    engine = make_engine(dialect_url)
    world = World({"i-a": "m5.2xlarge"}, {"i-a": {"env": "prod"}})
    world.findings = [resize("i-a")]
    plans, findings, audit = PlanStore(engine), RecommendationStore(engine), AuditLog(engine)
    acme_plans, acme_audit = plans.for_tenant("acme"), audit.for_tenant("acme")
    acme = Optimizer(
        acme_plans, findings.for_tenant("acme"), acme_audit, world.publish, world.scan, world.executor, Policy(),
        clock=world.tick,
    )  # fmt: skip
    try:
        with pytest.raises(ValueError, match="one tenant"):
            Optimizer(acme_plans, findings, acme_audit, world.publish, world.scan, world.executor)
        with pytest.raises(ValueError, match="one tenant"):  # another tenant's policies are not acme's
            Optimizer(
                acme_plans, findings.for_tenant("acme"), acme_audit, world.publish, world.scan, world.executor,
                policies=PolicyStore(engine),
            )  # fmt: skip

        # What the scan finds is acme's: its plan, its findings, its audit trail; the default tenant sees none of it.
        [plan] = await acme.scan(REGION)
        assert plan.tenant_id == "acme" and {p.tenant_id for p in world.published} == {"acme"}
        assert (await acme_plans.get(plan.plan_id)) is not None and await plans.get(plan.plan_id) is None
        assert [r.resource_id for r in await findings.for_tenant("acme").all()] == ["i-a"]
        assert await findings.all() == [] and await audit.page() == []
        trail = await acme_audit.of(f"plan:{plan.plan_id}")
        assert [e.event for e in trail] == ["proposed"]

        # Another tenant's decisions naming this very plan id change nothing: no status, no audit entry, no event.
        world.published.clear()
        for tenant, decision in (("default", Decision.APPROVE), ("other", Decision.REJECT)):
            foreign = PlanDecision(plan_id=plan.plan_id, decision=decision, tenant_id=tenant, actor="mallory",
                                   at=world.now)  # fmt: skip
            assert await acme.decide(foreign) is None
        stored = await acme_plans.get(plan.plan_id)
        assert stored is not None and stored.status is PlanStatus.PROPOSED and stored.decided_by is None
        assert world.ec2.instance("i-a") == ("running", "m5.2xlarge")
        assert await acme_audit.of(f"plan:{plan.plan_id}") == trail and await audit.page() == []
        assert world.published == []

        # Who asked for approval (the gateway refuses their own approval) stays on every state published later:
        # a rescan that refreshes the proposal, and each step of applying it.
        assert await acme_plans.request_approval(plan.plan_id, "bob", world.tick()) is not None
        world.tags = {"i-a": {"env": "dev"}}  # the policy changes: the proposal is refreshed
        await acme.scan(REGION)
        [refreshed] = world.published
        assert refreshed.plan_id == plan.plan_id and refreshed.requested_by == "bob"
        assert refreshed.approval_reasons == ["automatic apply is not enabled for this tenant"]
        ours = PlanDecision(plan_id=plan.plan_id, decision=Decision.APPROVE, tenant_id="acme", actor="ana",
                            at=world.now)  # fmt: skip
        applied = await acme.decide(ours)
        assert applied is not None and applied.status is PlanStatus.APPLIED and applied.tenant_id == "acme"
        assert world.ec2.instance("i-a") == ("running", "m6i.large")
        updates = world.published[1:]
        assert [p.status for p in updates] == [PlanStatus.APPROVED, PlanStatus.APPLYING, PlanStatus.APPLIED]
        assert {(p.tenant_id, p.requested_by, p.decided_by) for p in updates} == {("acme", "bob", "ana")}
        assert await audit.page() == []  # still nothing in the default tenant's trail
    finally:
        await engine.dispose()
