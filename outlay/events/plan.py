"""`outlay.plans.v1` and `outlay.plan_decisions.v1`: the optimizer's action plans, and people's decisions on them.

A plan is published when a scan proposes it and again at every change of its status (approved, applying, applied,
rolled back, ...), always under the same `plan_id` (keyed by it, so one plan's updates stay in order): consumers
replace the previous state. A decision (approve / reject) goes the other way, from the gateway to the optimizer,
which alone changes a plan's status.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from outlay.events.usage import Money
from outlay.tenancy import DEFAULT_TENANT, TenantId


class Kind(StrEnum):
    """What a recommendation changes."""

    RIGHTSIZE = "rightsize"  # change the instance type
    RIGHTSIZE_DATABASE = "rightsize_database"  # change an RDS database's instance class
    DELETE_VOLUME = "delete_volume"  # an unattached EBS volume (snapshot first)
    DELETE_STOPPED_VOLUMES = "delete_stopped_volumes"  # volumes of an instance stopped for the whole lookback
    RELEASE_ADDRESS = "release_address"  # an Elastic IP not associated with anything
    DELETE_LOAD_BALANCER = "delete_load_balancer"  # no requests over the lookback
    STOP_INSTANCE = "stop_instance"  # an idle instance
    SCHEDULE_INSTANCE = "schedule_instance"  # stop outside working hours (dev/test)
    USE_SPOT = "use_spot"  # an interruption-tolerant workload on Spot capacity
    BUY_RESERVATION = "buy_reservation"  # more Reserved Instances for steady on-demand usage
    BUY_SAVINGS_PLAN = "buy_savings_plan"  # a Compute Savings Plan commitment for steady on-demand usage


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


RISK_ORDER = (Risk.LOW, Risk.MEDIUM, Risk.HIGH)


class PlanStatus(StrEnum):
    PROPOSED = "proposed"  # found by a scan, waiting for a decision (or for auto-apply, where policy allows)
    APPROVED = "approved"  # a person approved it; the optimizer applies it next
    APPLYING = "applying"
    APPLIED = "applied"
    ROLLED_BACK = "rolled_back"  # a step or a check failed; every change was undone
    FAILED = "failed"  # a step or a check failed and undoing failed too: a person must look
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # a later scan no longer proposes it (the resources changed)
    EXPIRED = "expired"  # nobody decided within the approval window: its evidence is stale (a rescan proposes anew)


OPEN_STATUSES = frozenset({PlanStatus.PROPOSED})  # the statuses a decision may still change


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class PlannedChange(BaseModel):
    """One resource's part of a plan: the recommendation behind it and the steps that apply and undo it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    resource_id: str
    kind: Kind
    summary: str = Field(description="In words, e.g. 'resize m5.2xlarge to m6i.large'.")
    monthly_saving: Money
    confidence: float = Field(ge=0, le=1)
    risk: Risk
    current: str | None = Field(default=None, description="What it is now (a type, a state).")
    proposed: str | None = Field(default=None, description="What it becomes (None: removed).")
    evidence: dict[str, float | str] = Field(default_factory=dict)
    before: dict[str, str] = Field(default_factory=dict, description="The dry-run diff: what the resource is ...")
    after: dict[str, str] = Field(default_factory=dict, description="... and what it will be.")
    steps: list[str] = Field(default_factory=list, description="The boto3 calls, in order.")
    rollback: list[str] = Field(default_factory=list, description="The calls that undo them.")


class ActionPlan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    plan_id: str = Field(description="Stable for the same set of changes: a rescan finding them again reuses it.")
    tenant_id: TenantId = DEFAULT_TENANT
    status: PlanStatus
    region: str
    title: str = Field(description="In words: what the plan does and where.")
    changes: list[PlannedChange] = Field(min_length=1)
    monthly_saving: Money
    currency: str = "USD"
    risk: Risk = Field(description="The riskiest change's risk.")
    requires_approval: bool
    approval_reasons: list[str] = Field(default_factory=list)
    reason: str = Field(default="", description="Why it ended as it did (a failed check, who rejected it).")
    decided_by: str | None = None
    decided_at: datetime | None = None
    requested_by: str | None = Field(default=None, description="Who asked for approval; they may not approve it.")
    created_at: datetime
    updated_at: datetime

    @field_validator("decided_at", "created_at", "updated_at")
    @classmethod
    def _utc_times(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)

    @property
    def key(self) -> bytes:
        return self.plan_id.encode()


class PlanDecision(BaseModel):
    """A person's decision on a proposed plan, sent by the gateway to the optimizer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plan_id: str
    decision: Decision
    tenant_id: TenantId = DEFAULT_TENANT
    actor: str = Field(description="Who decided: the key's name, id and person (as the audit trail names them).")
    comment: str = Field(default="", max_length=2000)
    at: datetime

    @field_validator("at")
    @classmethod
    def _utc_at(cls, value: datetime) -> datetime:
        return _utc(value)

    @property
    def key(self) -> bytes:
        return self.plan_id.encode()
