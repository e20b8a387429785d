"""Applying a plan safely: approval first, a canary, verification, then batches; any failed check rolls back every
change the plan made and marks it failed with the reason. Every step and decision is written to the audit list.
Applying the same plan again changes nothing: a resource already in its planned state is skipped.

Instances are stopped, started and retyped; databases get another instance class (applied at once); an unattached volume is snapshotted, then deleted (undone by creating
it again from the snapshot, with its type, size, IOPS, zone and tags); an Elastic IP is released (no undo: policy
has a person approve it first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from services.optimizer.plans import Action, Plan, ResourceChange, Step
from services.optimizer.recommendations import Kind


class Ec2Port(Protocol):
    def instance(self, instance_id: str) -> tuple[str, str]: ...

    def stop(self, instance_id: str) -> None: ...

    def start(self, instance_id: str) -> None: ...

    def set_type(self, instance_id: str, instance_type: str) -> None: ...

    def volume(self, volume_id: str) -> dict[str, Any] | None: ...  # None: no such volume (deleted)

    def snapshot(self, volume_id: str) -> str: ...  # a completed snapshot's id

    def delete_volume(self, volume_id: str) -> None: ...

    def restore_volume(self, snapshot_id: str, like: dict[str, Any]) -> str: ...  # the new volume's id

    def address_exists(self, allocation_id: str) -> bool: ...

    def database(self, arn: str) -> tuple[str, str]: ...  # (status, instance class)

    def set_db_class(self, arn: str, instance_class: str) -> None: ...  # applied now; returns once available

    def release_address(self, allocation_id: str) -> None: ...


def planned_state_missing(ec2: Ec2Port, change: ResourceChange) -> str | None:
    """None when the resource is in the state the change plans for, else what it is instead."""
    kind = change.recommendation.kind
    if kind is Kind.DELETE_VOLUME:
        return None if ec2.volume(change.resource_id) is None else "the volume still exists"
    if kind is Kind.RELEASE_ADDRESS:
        return "the address is still allocated" if ec2.address_exists(change.resource_id) else None
    if kind is Kind.RIGHTSIZE_DATABASE:
        status, instance_class = ec2.database(change.resource_id)
        if (status, instance_class) == ("available", change.after["instance_class"]):
            return None
        return f"it is {status} as {instance_class}, not available as {change.after['instance_class']}"
    state, instance_type = ec2.instance(change.resource_id)
    wanted = (change.after.get("state", "running"), change.after.get("instance_type", instance_type))
    if (state, instance_type) != wanted:
        return f"it is {state} as {instance_type}, not {wanted[0]} as {wanted[1]}"
    return None


Verify = Callable[[ResourceChange], str | None]  # None: healthy; else what is wrong


class HealthPort(Ec2Port, Protocol):
    def alarms_firing_on(self, instance_id: str) -> list[str]: ...


def planned_and_quiet(ec2: HealthPort) -> Verify:
    """The default check: the instance is in its planned state and type, and no alarm on it is firing."""

    def verify(change: ResourceChange) -> str | None:
        missing = planned_state_missing(ec2, change)
        if missing is not None or change.recommendation.kind in (Kind.DELETE_VOLUME, Kind.RELEASE_ADDRESS):
            return missing  # (a volume or address that is gone has no alarms left to watch)
        firing = ec2.alarms_firing_on(change.resource_id)
        return f"alarm {', '.join(firing)} is in ALARM" if firing else None

    return verify


class Outcome(StrEnum):
    APPLIED = "applied"
    ROLLED_BACK = "rolled_back"  # a step or a check failed; every change undone
    FAILED = "failed"  # a step or a check failed and so did undoing some change: a person must look
    AWAITING_APPROVAL = "awaiting_approval"


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    plan_id: str
    resource_id: str
    event: str  # "decision", "step", "step_failed", "skipped", "verified", "check_failed", "rollback", ...
    detail: str


@dataclass
class PlanResult:
    outcome: Outcome
    reason: str = ""
    changed: list[str] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)


class PlanExecutor:
    def __init__(self, ec2: Ec2Port, verify: Verify, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._ec2 = ec2
        self._verify = verify
        self._clock = clock

    def apply(self, plan: Plan, approved: bool, canary: int = 1, batch: int = 5) -> PlanResult:
        result = PlanResult(Outcome.APPLIED)
        note = self._auditor(plan, result)
        if plan.requires_approval and not approved:
            note("-", "decision", "not applied: " + "; ".join(plan.approval_reasons))
            result.outcome, result.reason = Outcome.AWAITING_APPROVAL, "; ".join(plan.approval_reasons)
            return result
        note("-", "decision", "approved" if plan.requires_approval else "applied under the tenant's auto-apply policy")
        kept: dict[str, dict[str, Any]] = {}  # per resource: what undoing needs (the snapshot, the volume)
        changes = list(plan.changes)
        groups = [changes[:canary], *(changes[i : i + batch] for i in range(canary, len(changes), batch))]
        done: list[ResourceChange] = []
        for group in (g for g in groups if g):
            for change in group:
                try:
                    if self._in_planned_state(change):
                        note(change.resource_id, "skipped", "already in its planned state")
                        continue
                    done.append(change)  # before its first step: a step that fails half way is undone too
                    result.changed.append(change.resource_id)
                    for step in change.steps:
                        self._run(step, kept.setdefault(change.resource_id, {}))
                        note(change.resource_id, "step", step.describe())
                except Exception as exc:  # a refused call (capacity, a vanished instance): undo, never half-apply
                    failure = f"{type(exc).__name__}: {exc}"
                    note(change.resource_id, "step_failed", failure)
                    return self._roll_back(
                        done, kept, result, note, f"a step failed for {change.resource_id}: {failure}"
                    )
            for change in group:
                problem: str | None
                try:
                    problem = self._verify(change)
                except Exception as exc:
                    problem = f"the check itself failed: {type(exc).__name__}: {exc}"
                if problem is None:
                    note(change.resource_id, "verified", "healthy after the change")
                    continue
                note(change.resource_id, "check_failed", problem)
                return self._roll_back(
                    done, kept, result, note, f"verification failed for {change.resource_id}: {problem}"
                )
        return result

    def _roll_back(
        self,
        done: list[ResourceChange],
        kept: dict[str, dict[str, Any]],
        result: PlanResult,
        note: Callable[[str, str, str], None],
        reason: str,
    ) -> PlanResult:
        """Undo every change, newest first; a rollback step that fails is recorded and the rest still run."""
        failed = []
        for undone in reversed(done):
            if not undone.rollback:
                note(undone.resource_id, "rollback_impossible", "this change cannot be undone")
            for step in undone.rollback:
                try:
                    memo = kept.get(undone.resource_id, {})
                    self._run(step, memo)
                    restored = (
                        f" (as {memo['restored']})"
                        if step.action is Action.RESTORE_VOLUME and "restored" in memo
                        else ""
                    )
                    note(undone.resource_id, "rollback", step.describe() + restored)
                except Exception as exc:
                    failed.append(undone.resource_id)
                    note(undone.resource_id, "rollback_failed", f"{step.describe()}: {type(exc).__name__}: {exc}")
                    break  # the next steps of this resource depend on this one
        result.outcome = Outcome.FAILED if failed else Outcome.ROLLED_BACK
        result.reason = reason + (f"; rollback failed for {', '.join(failed)}: needs a person" if failed else "")
        return result

    def _in_planned_state(self, change: ResourceChange) -> bool:
        return planned_state_missing(self._ec2, change) is None

    def _run(self, step: Step, kept: dict[str, Any]) -> None:
        """One step; `kept` carries what a later step of the same resource needs (the snapshot for a restore)."""
        if step.action is Action.SNAPSHOT:
            kept["volume"] = self._ec2.volume(step.resource_id)
            kept["snapshot"] = self._ec2.snapshot(step.resource_id)
        elif step.action is Action.DELETE_VOLUME:
            if self._ec2.volume(step.resource_id) is not None:
                self._ec2.delete_volume(step.resource_id)
        elif step.action is Action.RESTORE_VOLUME:
            if "snapshot" in kept and self._ec2.volume(step.resource_id) is None:  # deleted: bring it back
                kept["restored"] = self._ec2.restore_volume(kept["snapshot"], kept["volume"] or {})
        elif step.action is Action.SET_DB_CLASS:
            # Always asked: a class still pending (from the step being undone) must be replaced, not skipped.
            self._ec2.set_db_class(step.resource_id, step.params["DBInstanceClass"])
        elif step.action is Action.RELEASE_ADDRESS:
            if self._ec2.address_exists(step.resource_id):
                self._ec2.release_address(step.resource_id)
        elif step.action is Action.STOP:
            state, _ = self._ec2.instance(step.resource_id)
            if state != "stopped":
                self._ec2.stop(step.resource_id)
        elif step.action is Action.START:
            state, _ = self._ec2.instance(step.resource_id)
            if state != "running":
                self._ec2.start(step.resource_id)
        elif step.action is Action.SET_TYPE:
            self._ec2.set_type(step.resource_id, step.params["InstanceType"])

    def _auditor(self, plan: Plan, result: PlanResult) -> Callable[[str, str, str], None]:
        def note(resource_id: str, event: str, detail: str) -> None:
            result.audit.append(AuditEntry(self._clock(), plan.plan_id, resource_id, event, detail))

        return note
