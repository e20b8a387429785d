"""`outlay.policy_violations.v1`: something breaks one of its organisation's policies (`outlay.policies`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from outlay.events.usage import stable_record_id
from outlay.tenancy import DEFAULT_TENANT, TenantId


class PolicyViolation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    violation_id: str = Field(description="Stable for (tenant, policy, subject, what): a rescan reuses it.")
    tenant_id: TenantId = DEFAULT_TENANT
    policy_id: str
    policy_name: str
    kind: str = Field(description="The policy's kind, e.g. required_tags.")
    subject: str = Field(description="What breaks it, e.g. 'ec2-instance:i-0abc' or 'budget:<id>'.")
    detail: str = Field(description="In words, e.g. 'missing tags: team, env'.")
    observed_at: datetime
    evaluated_by: str = Field(description="The service that found it: optimizer, gateway, …")

    @property
    def key(self) -> bytes:
        return self.policy_id.encode()


def violation_id(tenant_id: str, policy_id: str, subject: str, detail: str) -> str:
    return stable_record_id("policy-violation", tenant_id, policy_id, subject, detail)
