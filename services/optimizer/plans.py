"""Action plans: what a recommendation changes, step by step, with a dry-run diff and a rollback for every step,
and whether policy lets it run without a person's approval.

Policy: a resource tagged as production (`env` in PRODUCTION, the tag key configurable) always needs an approval;
others may be applied automatically only where the tenant enables it. A change that cannot be rolled back
(releasing an address loses it) always needs an approval.

Which plans the tenant lets run unapproved: its enabled `auto_apply` policies when it has any (a plan runs when one
of them allows its risk, saving and kind: `auto_apply_refusals`), else the deployment's `OUTLAY_OPTIMIZER_AUTO_APPLY`
(`auto_apply_enabled`). Neither can lift what forces an approval above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from outlay.events.plan import RISK_ORDER
from outlay.events.usage import stable_record_id
from outlay.policies import RISKS
from services.optimizer.policy_checks import NamedAutoApply
from services.optimizer.recommendations import Kind, Recommendation, Risk

PRODUCTION = frozenset({"prod", "production", "live"})


class Action(StrEnum):
    STOP = "stop_instances"
    START = "start_instances"
    SET_TYPE = "modify_instance_attribute"
    SNAPSHOT = "create_snapshot"
    DELETE_VOLUME = "delete_volume"
    RESTORE_VOLUME = "create_volume"  # from the snapshot taken before the delete
    RELEASE_ADDRESS = "release_address"
    SET_DB_CLASS = "modify_db_instance"  # DBInstanceClass, applied immediately (a restart; Multi-AZ: a fail-over)


@dataclass(frozen=True)
class Step:
    action: Action
    resource_id: str
    params: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        extra = "".join(f" {k}={v}" for k, v in self.params.items())
        return f"{self.action.value} {self.resource_id}{extra}"


@dataclass(frozen=True)
class ResourceChange:
    """One resource's part of a plan: its steps in order, and the steps that undo them."""

    recommendation: Recommendation
    steps: tuple[Step, ...]
    rollback: tuple[Step, ...]
    before: dict[str, str]  # the dry-run diff: what the resource is
    after: dict[str, str]  # and what it will be

    @property
    def resource_id(self) -> str:
        return self.recommendation.resource_id


@dataclass(frozen=True)
class Plan:
    plan_id: str
    region: str
    title: str
    changes: tuple[ResourceChange, ...]
    requires_approval: bool
    approval_reasons: tuple[str, ...]
    monthly_saving: Decimal
    risk: Risk

    def dry_run(self) -> list[str]:
        """The diff, one line per resource: what changes from what to what."""
        lines = []
        for change in self.changes:
            diff = ", ".join(f"{k}: {change.before.get(k)} -> {v}" for k, v in change.after.items())
            lines.append(f"{change.resource_id}: {diff} (saves {change.recommendation.monthly_saving}/month)")
        return lines


class NotPlannable(ValueError):
    """A recommendation this version cannot turn into steps yet; the message names its kind."""


def change_for(recommendation: Recommendation) -> ResourceChange:
    rid = recommendation.resource_id
    if recommendation.kind is Kind.RIGHTSIZE:
        assert recommendation.current is not None and recommendation.proposed is not None
        resize = (
            Step(Action.STOP, rid),
            Step(Action.SET_TYPE, rid, {"InstanceType": recommendation.proposed}),
            Step(Action.START, rid),
        )
        back = (
            Step(Action.STOP, rid),
            Step(Action.SET_TYPE, rid, {"InstanceType": recommendation.current}),
            Step(Action.START, rid),
        )
        return ResourceChange(
            recommendation,
            resize,
            back,
            {"instance_type": recommendation.current},
            {"instance_type": recommendation.proposed},
        )
    if recommendation.kind is Kind.STOP_INSTANCE:
        return ResourceChange(
            recommendation,
            (Step(Action.STOP, rid),),
            (Step(Action.START, rid),),
            {"state": "running"},
            {"state": "stopped"},
        )
    if recommendation.kind is Kind.RIGHTSIZE_DATABASE:
        assert recommendation.current is not None and recommendation.proposed is not None
        return ResourceChange(
            recommendation,
            (Step(Action.SET_DB_CLASS, rid, {"DBInstanceClass": recommendation.proposed}),),
            (Step(Action.SET_DB_CLASS, rid, {"DBInstanceClass": recommendation.current}),),
            {"instance_class": recommendation.current},
            {"instance_class": recommendation.proposed},
        )
    if recommendation.kind is Kind.DELETE_VOLUME:
        # The snapshot is the way back: undoing the delete creates the volume again from it (a new volume id).
        return ResourceChange(
            recommendation,
            (Step(Action.SNAPSHOT, rid), Step(Action.DELETE_VOLUME, rid)),
            (Step(Action.RESTORE_VOLUME, rid),),
            {"state": "available"},
            {"state": "deleted", "snapshot": "kept"},
        )
    if recommendation.kind is Kind.RELEASE_ADDRESS:
        # No way back: a released address goes back to AWS's pool (policy always asks a person first).
        return ResourceChange(
            recommendation, (Step(Action.RELEASE_ADDRESS, rid),), (), {"address": "allocated"}, {"address": "released"}
        )
    raise NotPlannable(f"kind: {recommendation.kind.value} recommendations cannot be planned yet")


def auto_apply_refusals(
    rules: Sequence[NamedAutoApply], risk: Risk, monthly_saving: Decimal, kinds: set[Kind]
) -> list[str]:
    """Why the tenant's auto-apply policies keep a plan for a person: empty when one of them allows it (policies are
    permissions: each one adds what it allows), else one reason per policy, naming what it is over."""
    kind_values = {k.value for k in kinds}
    reasons = []
    for name, rule in rules:
        if rule.allows(risk.value, monthly_saving, kind_values):
            return []
        why = []
        if RISKS.index(risk.value) > RISKS.index(rule.max_risk):
            why.append(f"{risk.value} risk is above the auto-apply policy's maximum risk ({rule.max_risk})")
        if rule.max_monthly_saving is not None and monthly_saving > rule.max_monthly_saving:
            why.append(
                f"above the auto-apply policy's maximum saving ({monthly_saving} a month > {rule.max_monthly_saving})"
            )
        if rule.kinds and not kind_values <= set(rule.kinds):
            outside = ", ".join(sorted(kind_values - set(rule.kinds)))
            why.append(f"{outside} is not among the auto-apply policy's kinds ({', '.join(rule.kinds)})")
        reasons.append(f"{'; '.join(why) or 'not allowed by the auto-apply policy'} (policy {name!r})")
    return reasons


def build_plan(
    recommendations: list[Recommendation],
    tags: dict[str, dict[str, str]],
    auto_apply_enabled: bool = False,
    env_tag: str = "env",
    auto_apply_rules: Sequence[NamedAutoApply] = (),
) -> Plan:
    """A plan for `recommendations` (one change per resource); `tags` per resource id decide the policy, and the
    tenant's auto-apply policies (`auto_apply_rules`) when it has any, else `auto_apply_enabled`, whether what no
    guard stops may run without approval."""
    if not recommendations:
        raise ValueError("recommendations: a plan needs at least one")
    regions = {r.region for r in recommendations}
    if len(regions) != 1:
        raise ValueError(f"recommendations: a plan acts in one region, not {sorted(regions)}")
    changes = tuple(change_for(r) for r in recommendations)
    if len({c.resource_id for c in changes}) != len(changes):
        raise ValueError("recommendations: at most one per resource in a plan")
    reasons = []
    production = sorted(
        r.resource_id for r in recommendations if tags.get(r.resource_id, {}).get(env_tag, "").lower() in PRODUCTION
    )
    if production:
        reasons.append(f"production resources ({env_tag}=prod): {', '.join(production)}")
    unknown = sorted(r.resource_id for r in recommendations if r.resource_id not in tags)
    if unknown:
        reasons.append(f"tags not known, so possibly production: {', '.join(unknown)}")
    final = sorted(c.resource_id for c in changes if not c.rollback)
    if final:
        reasons.append(f"cannot be undone: {', '.join(final)}")
    worst = max((r.risk for r in recommendations), key=RISK_ORDER.index)
    saving = sum((r.monthly_saving for r in recommendations), Decimal(0))
    if auto_apply_rules:
        reasons.extend(auto_apply_refusals(auto_apply_rules, worst, saving, {r.kind for r in recommendations}))
    elif not auto_apply_enabled:
        reasons.append("automatic apply is not enabled for this tenant")
    return Plan(
        plan_id=stable_record_id(
            "plan", *sorted(f"{r.resource_id}:{r.kind.value}:{r.proposed}" for r in recommendations)
        ),
        region=recommendations[0].region,
        title=title_of(recommendations),
        changes=changes,
        requires_approval=bool(reasons),
        approval_reasons=tuple(reasons),
        monthly_saving=saving,
        risk=worst,
    )


# The kinds `change_for` turns into steps, and how a plan of each reads: (verb, what one resource is).
_WORDING = {
    Kind.RIGHTSIZE: ("rightsize", "instance"),
    Kind.STOP_INSTANCE: ("stop", "idle instance"),
    Kind.RIGHTSIZE_DATABASE: ("resize", "database"),
    Kind.DELETE_VOLUME: ("snapshot and delete", "unattached volume"),
    Kind.RELEASE_ADDRESS: ("release", "unused Elastic IP"),
}
PLANNABLE = frozenset(_WORDING)


def title_of(recommendations: list[Recommendation]) -> str:
    """E.g. "rightsize 3 instances in us-east-1" (a plan holds one kind: `propose_plans` groups by kind)."""
    verb, noun = _WORDING.get(recommendations[0].kind, (recommendations[0].kind.value.replace("_", " "), "resource"))
    count = len(recommendations)
    return f"{verb} {count} {noun}{'s' if count > 1 else ''} in {recommendations[0].region}"


def propose_plans(
    recommendations: list[Recommendation],
    tags: dict[str, dict[str, str]],
    auto_apply_enabled: bool = False,
    env_tag: str = "env",
    auto_apply_rules: Sequence[NamedAutoApply] = (),
) -> list[Plan]:
    """The plans a scan proposes: its plannable recommendations grouped by region, kind, risk and whether the
    resources are production, so a person approves like with like and what policy lets run is not held back
    by a production resource in the same plan. Resources in each plan are ordered by id (stable plan ids)."""
    groups: dict[tuple[str, Kind, int, bool], list[Recommendation]] = {}
    for rec in recommendations:
        if rec.kind not in PLANNABLE:
            continue
        resource_tags = tags.get(rec.resource_id)
        guarded = resource_tags is None or resource_tags.get(env_tag, "").lower() in PRODUCTION
        groups.setdefault((rec.region, rec.kind, RISK_ORDER.index(rec.risk), guarded), []).append(rec)
    return [
        build_plan(
            sorted(groups[key], key=lambda r: r.resource_id), tags, auto_apply_enabled, env_tag, auto_apply_rules
        )
        for key in sorted(groups)
    ]
