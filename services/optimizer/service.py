"""The optimizer's work between the edges: scan a region into plans, take people's decisions, apply safely.

- `scan(region)`: the tenant's enabled policies are read (once per scan); the region is scanned with them (rightsizing
  proposes only allowed instance families); the inventory's policy violations are published
  (`outlay.policy_violations.v1`, each once per scan); the region's findings replace its previous ones; plannable
  findings become plans (new ones published as `proposed`, ones no longer found `superseded`); plans policy lets run
  unapproved (the tenant's auto-apply policies, else the deployment's setting) are applied at once.
- `decide(decision)`: an approval moves a proposed plan to `approved` and applies it; a rejection ends it. Only
  a proposed plan can be decided (the store's conditional update makes two concurrent decisions safe).
- `apply`: `applying`, then the executor (canary, verification, batches, rollback) in a worker thread, then
  `applied`, `rolled_back` or `failed`. Every status change is stored, published and audited.

An optimizer serves one tenant: the one its stores are bound to (`for_tenant`). Its plans carry that tenant, its
findings and audit entries are that tenant's, and a decision of another tenant is logged and ignored, even when it
names one of this tenant's plan ids (plan ids are unique only within a tenant).

AWS, the store and Kafka come in as ports, so this is tested with the moto server and real stores, and the
wiring (`main.py`) stays small.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from outlay.events.plan import ActionPlan, Decision, PlanDecision, PlanStatus
from outlay.events.policy import PolicyViolation
from outlay.store.audit import AuditEvent, AuditLog
from outlay.store.plans import PlanStore, RecommendationStore, StoredRecommendation
from outlay.store.plans import recommendation_id as finding_id
from outlay.store.policies import PolicyStore
from services.optimizer.execution import Outcome, PlanExecutor
from services.optimizer.plan_events import plan_event, plan_of
from services.optimizer.plans import propose_plans
from services.optimizer.policy_checks import TenantRules, violations
from services.optimizer.scan import ScanResult

log = logging.getLogger(__name__)
ACTOR = "optimizer"
_OUTCOME_STATUS = {
    Outcome.APPLIED: PlanStatus.APPLIED,
    Outcome.ROLLED_BACK: PlanStatus.ROLLED_BACK,
    Outcome.FAILED: PlanStatus.FAILED,
    Outcome.AWAITING_APPROVAL: PlanStatus.PROPOSED,
}

Scanner = Callable[[str, datetime, TenantRules], Awaitable[ScanResult]]  # (region, now, policies) -> findings
ExecutorFor = Callable[[str], PlanExecutor]  # region -> an executor acting there
Publish = Callable[[Sequence[ActionPlan]], Awaitable[None]]
Report = Callable[[Sequence[PolicyViolation]], Awaitable[None]]  # violations -> outlay.policy_violations.v1


@dataclass(frozen=True)
class Policy:
    auto_apply: bool = False  # the deployment's default: a tenant's enabled auto_apply policies decide instead
    env_tag: str = "env"
    canary: int = 1
    batch: int = 5
    approval_window: timedelta = timedelta(days=7)  # a proposal not decided within it expires


def subject(plan_id: str) -> str:
    return f"plan:{plan_id}"


class Optimizer:
    def __init__(
        self,
        plans: PlanStore,
        findings: RecommendationStore,
        audit: AuditLog,
        publish: Publish,
        scanner: Scanner,
        executor_for: ExecutorFor,
        policy: Policy = Policy(),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        policies: PolicyStore | None = None,
        report: Report | None = None,
    ) -> None:
        """`policies`: the tenant's policy store (None: no policies are evaluated); `report`: where violations go."""
        tenants = {plans.tenant_id, findings.tenant_id, audit.tenant_id}
        if policies is not None:
            tenants.add(policies.tenant_id)
        if len(tenants) != 1:
            raise ValueError(f"an optimizer serves one tenant: its stores are bound to {sorted(tenants)}")
        self.tenant_id = plans.tenant_id
        self._plans = plans
        self._findings = findings
        self._audit = audit
        self._publish = publish
        self._scanner = scanner
        self._executor_for = executor_for
        self._policy = policy
        self._clock = clock
        self._policies = policies
        self._report = report
        self._applying = asyncio.Lock()  # one plan at a time: plans may touch the same resources

    async def scan(self, region: str) -> list[ActionPlan]:
        """Scan one region; returns the plans it proposed (new or still standing)."""
        now = self._clock()
        # One read per scan. A failure fails the scan (retried next round): scanning without the tenant's policies
        # could auto-apply what its auto-apply policy keeps for a person.
        rules = TenantRules.of(await self._policies.all(enabled_only=True)) if self._policies else TenantRules()
        found = await self._scanner(region, now, rules)
        await self._publish_violations(violations(self.tenant_id, found.instances, found.volumes, rules, now))
        plans = propose_plans(
            found.recommendations, found.tags, self._policy.auto_apply, self._policy.env_tag, rules.auto_apply
        )
        events = [plan_event(p, PlanStatus.PROPOSED, now, now, self.tenant_id) for p in plans]
        changed = await self._plans.propose(events, region, now)
        stored = {p.plan_id: await self._plans.get(p.plan_id) or p for p in events}
        open_ids = {plan_id for plan_id, p in stored.items() if p.status is PlanStatus.PROPOSED}
        changed = [_keep_request(p, stored.get(p.plan_id)) for p in changed]
        carried = {(c.resource_id, c.recommendation.kind): p.plan_id for p in plans for c in p.changes
                   if p.plan_id in open_ids}  # fmt: skip
        await self._findings.replace(
            region,
            [
                StoredRecommendation(
                    finding_id(region, r.kind.value, r.resource_id),
                    region,
                    r.kind.value,
                    r.resource_id,
                    r.summary,
                    r.monthly_saving,
                    r.confidence,
                    r.risk.value,
                    r.current,
                    r.proposed,
                    dict(r.evidence),
                    carried.get((r.resource_id, r.kind)),
                    now,
                )
                for r in found.recommendations
            ],
        )
        await self._record(
            [AuditEvent(now, ACTOR, subject(p.plan_id), p.status.value, p.reason or p.title) for p in changed], changed
        )
        log.info(
            "scanned %s: %d recommendations, %d skipped, %d plans (%d new or changed)",
            region, len(found.recommendations), len(found.skipped), len(events), len(changed),
        )  # fmt: skip
        for plan in events:
            if not plan.requires_approval and plan.plan_id in open_ids:
                await self._apply(plan.plan_id, approved=False, actor=f"{ACTOR} (auto-apply policy)")
        return events

    async def _publish_violations(self, found: list[PolicyViolation]) -> None:
        """Publish a scan's violations; a failure is logged, not raised (the next scan publishes them again)."""
        if not found:
            return
        if self._report is None:
            log.warning("%d policy violations found and not published (no publisher)", len(found))
            return
        try:
            await self._report(found)
        except Exception:
            log.exception("%d policy violations not published", len(found))
        else:
            log.info("%d policy violations published", len(found))

    async def expire_stale(self) -> list[ActionPlan]:
        """Proposals nobody decided on within the approval window expire (their evidence is old); the next scan
        proposes again what still holds, with fresh evidence."""
        now = self._clock()
        expired = await self._plans.expire(now - self._policy.approval_window, now)
        await self._record([AuditEvent(now, ACTOR, subject(p.plan_id), p.status.value, p.reason) for p in expired],
                           expired)  # fmt: skip
        return expired

    async def resume(self) -> list[ActionPlan]:
        """After a restart: finish the plans a stopped optimizer left approved or half applied. Applying is
        idempotent (resources already in their planned state are skipped), so it simply runs again."""
        now = self._clock()
        finished = []
        for status in (PlanStatus.APPLYING, PlanStatus.APPROVED):
            for plan in (await self._plans.page(status, limit=500)).plans:
                if status is PlanStatus.APPLYING:
                    await self._plans.transition(
                        plan.plan_id, PlanStatus.APPROVED, now, only_from=frozenset({PlanStatus.APPLYING})
                    )
                await self._audit.append(
                    [AuditEvent(now, ACTOR, subject(plan.plan_id), "resumed", f"was {status.value} at a restart")]
                )
                done = await self._apply(plan.plan_id, approved=True, actor=plan.decided_by or ACTOR)
                if done is not None:
                    finished.append(done)
        return finished

    async def decide(self, decision: PlanDecision) -> ActionPlan | None:
        """Take one decision; returns the plan's final state, or None when the plan was not open to it (or the
        decision is another tenant's: logged only, since this tenant's audit trail is no place for it)."""
        if decision.tenant_id != self.tenant_id:
            log.info(
                "%s of plan %s by %s ignored: it is tenant %r's, this optimizer serves %r",
                decision.decision.value, decision.plan_id, decision.actor, decision.tenant_id, self.tenant_id,
            )  # fmt: skip
            return None
        now = self._clock()
        if decision.decision is Decision.REJECT:
            rejected = await self._plans.transition(
                decision.plan_id,
                PlanStatus.REJECTED,
                now,
                only_from=frozenset({PlanStatus.PROPOSED}),
                reason=f"rejected by {decision.actor}" + (f": {decision.comment}" if decision.comment else ""),
                decided_by=decision.actor,
            )
            return await self._settle(decision, rejected, now)
        # A proposal past its approval window expires now rather than at the next sweep: its evidence is stale.
        await self.expire_stale()
        approved = await self._plans.transition(
            decision.plan_id,
            PlanStatus.APPROVED,
            now,
            only_from=frozenset({PlanStatus.PROPOSED}),
            decided_by=decision.actor,
        )
        if approved is None:
            current = await self._plans.get(decision.plan_id)
            if current is not None and current.status is PlanStatus.APPROVED:
                # Approved before, but not applied (a failure in between, then this decision delivered again).
                return await self._apply(decision.plan_id, approved=True, actor=decision.actor)
        if await self._settle(decision, approved, now) is None:
            return None
        return await self._apply(decision.plan_id, approved=True, actor=decision.actor)

    async def _settle(self, decision: PlanDecision, plan: ActionPlan | None, now: datetime) -> ActionPlan | None:
        """Audit a decision (also one that came too late) and publish what it changed."""
        if plan is None:
            current = await self._plans.get(decision.plan_id)
            state = "unknown plan" if current is None else f"plan is {current.status.value}"
            ignored = f"{decision.decision.value} ignored: {state}"
            await self._record(
                [AuditEvent(now, decision.actor, subject(decision.plan_id), "decision_ignored", ignored)]
            )
            return None
        detail = decision.decision.value + (f": {decision.comment}" if decision.comment else "")
        await self._record([AuditEvent(now, decision.actor, subject(plan.plan_id), plan.status.value, detail)], [plan])
        return plan

    async def _record(self, entries: list[AuditEvent], plans: Sequence[ActionPlan] = ()) -> None:
        """Audit and publish a change already committed. A failure here is logged, not raised: the plan's state is
        stored, and stopping half way would leave it stuck (the next change publishes the whole state again)."""
        try:
            await self._audit.append(entries)
        except Exception:
            log.exception("audit entries lost: %s", [(e.subject, e.event) for e in entries])
        try:
            if plans:
                await self._publish(plans)
        except Exception:
            log.exception("plan updates not published: %s", [(p.plan_id, p.status.value) for p in plans])

    async def _apply(self, plan_id: str, approved: bool, actor: str) -> ActionPlan | None:
        async with self._applying:
            start = self._clock()
            applying = await self._plans.transition(
                plan_id,
                PlanStatus.APPLYING,
                start,
                only_from=frozenset({PlanStatus.APPROVED if approved else PlanStatus.PROPOSED}),
            )
            if applying is None:
                return None
            rollout = f"canary {self._policy.canary}, then batches of {self._policy.batch}"
            await self._record([AuditEvent(start, ACTOR, subject(plan_id), applying.status.value, rollout)], [applying])
            policy = self._policy
            try:  # nothing may leave a plan `applying`: a failure to even start is the plan's failure too
                executor = self._executor_for(applying.region)
                result = await asyncio.to_thread(
                    executor.apply, plan_of(applying), approved, policy.canary, policy.batch
                )
            except Exception as exc:  # the executor rolls back its own failures; this is AWS gone or a bug
                log.exception("plan %s could not be applied", plan_id)
                status, reason, entries = PlanStatus.FAILED, f"could not apply: {type(exc).__name__}: {exc}", []
            else:
                status, reason = _OUTCOME_STATUS[result.outcome], result.reason
                entries = [
                    AuditEvent(
                        e.at,
                        actor if e.event == "decision" else ACTOR,
                        subject(plan_id),
                        e.event,
                        e.detail,
                        "" if e.resource_id == "-" else e.resource_id,
                    )  # fmt: skip
                    for e in result.audit
                ]
            end = self._clock()
            final = await self._plans.transition(
                plan_id, status, end, only_from=frozenset({PlanStatus.APPLYING}), reason=reason
            )
            ending = AuditEvent(end, ACTOR, subject(plan_id), status.value, reason)
            await self._record([*entries, ending], [final] if final is not None else [])
            log.info("plan %s: %s%s", plan_id, status.value, f" ({reason})" if reason else "")
            return final


def _keep_request(plan: ActionPlan, stored: ActionPlan | None) -> ActionPlan:
    """A refreshed proposal as published: the store keeps its pending approval request (`requested_by`, which the
    gateway uses to refuse a self-approval), so the published state keeps it too."""
    if stored is None or stored.status is not plan.status or stored.requested_by == plan.requested_by:
        return plan
    return plan.model_copy(update={"requested_by": stored.requested_by})
