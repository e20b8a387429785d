"""`outlay.usage.allocated.v1`: one usage record with its allocation under its tenant's rules of that moment.

The allocation stage (`services/ingest/allocation`) publishes one for every usage record it reads: per dimension
the rules define, the record's owner (`direct`), the shared-cost rule that selects it (`shared`) or nobody
(`unallocated`), and the version of the rules that decided it. How a shared record is split across owners is a
property of its period, not of the record: the allocation reports (`GET /v1/allocation`) compute it.

The key is the usage record's own (billing account + service), so a series keeps its order on one partition here too.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from outlay.events.usage import UsageRecord


class AssignmentKind(StrEnum):
    """How a record belongs to a dimension's value (defined with the event, which carries it; the engine uses it)."""

    DIRECT = "direct"
    SHARED = "shared"
    UNALLOCATED = "unallocated"


class DimensionAssignment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: AssignmentKind
    value: str = Field(description="The owner (direct), the shared rule's name (shared), or `(unallocated)`.")

    @property
    def label(self) -> str:
        """One string, as the engine's `Assignment.label`: `checkout`, `shared:support` or `(unallocated)`."""
        return f"shared:{self.value}" if self.kind is AssignmentKind.SHARED else self.value


class AllocatedUsage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    usage: UsageRecord = Field(description="The record as `outlay.usage.v1` carried it.")
    allocation: dict[str, DimensionAssignment] = Field(
        default_factory=dict, description="Per dimension of the rules; empty when the tenant has no rules."
    )
    rules_version: int | None = Field(
        ge=1, description="The version of the tenant's rules that decided `allocation`; null: the tenant had none."
    )

    @property
    def key(self) -> bytes:
        """Kafka key: the usage record's series identity, so one series stays on one partition."""
        return self.usage.key
