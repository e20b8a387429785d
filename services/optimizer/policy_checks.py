"""The tenant's policies (`outlay.policies`) as the optimizer applies them: pure functions over a scan's inventory and
the rules. The store read (once per scan) and the publish on `outlay.policy_violations.v1` stay in the service.

- `required_tags`: every scanned EC2 instance and EBS volume lacking a required key (or with it empty) is a
  violation, one per policy and resource ("missing tags: team, env"). Terminated instances and deleted volumes are
  not judged.
- `allowed_instance_families`: every running instance of a family the policy does not list is a violation, and
  rightsizing proposes only types (and RDS classes) every such policy allows (`TenantRules.type_filter`, handed to
  the scan).
- `auto_apply`: decides which plans run without approval (`TenantRules.auto_apply`, handed to the plans:
  `services.optimizer.plans.auto_apply_refusals`).

A violation's id is stable for (tenant, policy, subject, detail), so a rescan that finds the same problem yields the
same id (consumers dedupe); within one scan each violation appears once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from outlay.aws.resources import Ec2Instance, Volume
from outlay.events.policy import PolicyViolation, violation_id
from outlay.policies import AllowedInstanceFamilies, AutoApply, RequiredTags
from outlay.store.policies import Policy

EVALUATED_BY = "optimizer"
_GONE_INSTANCE = frozenset({"terminated", "shutting-down"})
_GONE_VOLUME = frozenset({"deleting", "deleted"})

NamedAutoApply = tuple[str, AutoApply]  # (the policy's name, its rule)


@dataclass(frozen=True)
class TenantRules:
    """One tenant's enabled policies the optimizer evaluates, by kind (empty: the tenant has none of that kind)."""

    required_tags: tuple[tuple[Policy, RequiredTags], ...] = ()
    allowed_families: tuple[tuple[Policy, AllowedInstanceFamilies], ...] = ()
    auto_apply: tuple[NamedAutoApply, ...] = ()

    @classmethod
    def of(cls, policies: Iterable[Policy]) -> TenantRules:
        """From the store's policies (disabled ones and kinds other services evaluate are left out)."""
        tags: list[tuple[Policy, RequiredTags]] = []
        families: list[tuple[Policy, AllowedInstanceFamilies]] = []
        auto: list[NamedAutoApply] = []
        for policy in policies:
            if not policy.enabled:
                continue
            rule = policy.rule
            if isinstance(rule, RequiredTags):
                tags.append((policy, rule))
            elif isinstance(rule, AllowedInstanceFamilies):
                families.append((policy, rule))
            elif isinstance(rule, AutoApply):
                auto.append((policy.name, rule))
        return cls(tuple(tags), tuple(families), tuple(auto))

    def allows_type(self, instance_type: str) -> bool:
        """Whether every allowed-families policy allows `instance_type` (true when there is none)."""
        return all(rule.allows(instance_type) for _, rule in self.allowed_families)

    @property
    def type_filter(self) -> Callable[[str], bool] | None:
        """What rightsizing may propose; None when no policy restricts the types."""
        return self.allows_type if self.allowed_families else None


def violations(
    tenant_id: str,
    instances: Sequence[Ec2Instance],
    volumes: Sequence[Volume],
    rules: TenantRules,
    now: datetime,
) -> list[PolicyViolation]:
    """Every violation of `rules` in a scanned inventory, each once, ordered by policy then resource."""
    found: dict[str, PolicyViolation] = {}

    def add(policy: Policy, subject: str, detail: str) -> None:
        vid = violation_id(tenant_id, policy.policy_id, subject, detail)
        if vid not in found:
            found[vid] = PolicyViolation(
                violation_id=vid, tenant_id=tenant_id, policy_id=policy.policy_id, policy_name=policy.name,
                kind=policy.kind.value, subject=subject, detail=detail, observed_at=now, evaluated_by=EVALUATED_BY,
            )  # fmt: skip

    live = [i for i in instances if i.state not in _GONE_INSTANCE]
    kept = [v for v in volumes if v.state not in _GONE_VOLUME]
    for policy, required in rules.required_tags:
        for instance in live:
            if missing := required.missing(instance.tags):
                add(policy, f"ec2-instance:{instance.instance_id}", f"missing tags: {', '.join(missing)}")
        for volume in kept:
            if missing := required.missing(volume.tags):
                add(policy, f"ebs-volume:{volume.volume_id}", f"missing tags: {', '.join(missing)}")
    for policy, allowed in rules.allowed_families:
        for instance in live:
            if instance.state == "running" and not allowed.allows(instance.instance_type):
                family = instance.instance_type.split(".", 1)[0]
                detail = (
                    f"instance type {instance.instance_type}: family {family} is not allowed "
                    f"(allowed: {', '.join(allowed.families)})"
                )
                add(policy, f"ec2-instance:{instance.instance_id}", detail)
    return list(found.values())
