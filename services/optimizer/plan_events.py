"""A plan as it travels and is stored (`outlay.events.plan.ActionPlan`), and back to the steps it runs.

The event carries each change's recommendation in full, so the optimizer rebuilds the same steps from a stored
plan when a person approves it, whichever process proposed it.
"""

from __future__ import annotations

from datetime import datetime

from outlay.events.plan import ActionPlan, PlannedChange, PlanStatus
from outlay.tenancy import DEFAULT_TENANT
from services.optimizer.plans import Plan, change_for
from services.optimizer.recommendations import Recommendation


def plan_event(
    plan: Plan, status: PlanStatus, created_at: datetime, updated_at: datetime, tenant_id: str = DEFAULT_TENANT
) -> ActionPlan:
    """The event of a plan found in `tenant_id`'s accounts."""
    return ActionPlan(
        plan_id=plan.plan_id,
        tenant_id=tenant_id,
        status=status,
        region=plan.region,
        title=plan.title,
        changes=[
            PlannedChange(
                resource_id=c.resource_id,
                kind=c.recommendation.kind,
                summary=c.recommendation.summary,
                monthly_saving=c.recommendation.monthly_saving,
                confidence=c.recommendation.confidence,
                risk=c.recommendation.risk,
                current=c.recommendation.current,
                proposed=c.recommendation.proposed,
                evidence=dict(c.recommendation.evidence),
                before=dict(c.before),
                after=dict(c.after),
                steps=[s.describe() for s in c.steps],
                rollback=[s.describe() for s in c.rollback],
            )
            for c in plan.changes
        ],
        monthly_saving=plan.monthly_saving,
        risk=plan.risk,
        requires_approval=plan.requires_approval,
        approval_reasons=list(plan.approval_reasons),
        created_at=created_at,
        updated_at=updated_at,
    )


def recommendation_of(change: PlannedChange, region: str) -> Recommendation:
    return Recommendation(
        kind=change.kind,
        resource_id=change.resource_id,
        region=region,
        summary=change.summary,
        monthly_saving=change.monthly_saving,
        confidence=change.confidence,
        risk=change.risk,
        current=change.current,
        proposed=change.proposed,
        evidence=dict(change.evidence),
    )


def plan_of(event: ActionPlan) -> Plan:
    """The executable plan behind an event, with the policy decided when it was proposed."""
    return Plan(
        plan_id=event.plan_id,
        region=event.region,
        title=event.title,
        changes=tuple(change_for(recommendation_of(c, event.region)) for c in event.changes),
        requires_approval=event.requires_approval,
        approval_reasons=tuple(event.approval_reasons),
        monthly_saving=event.monthly_saving,
        risk=event.risk,
    )
