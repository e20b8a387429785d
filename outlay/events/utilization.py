"""`outlay.utilization.v1`: one CloudWatch-style utilization sample of one resource for one minute."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from outlay.tenancy import DEFAULT_TENANT, TenantId


class UtilizationSample(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    record_id: str
    tenant_id: TenantId = DEFAULT_TENANT
    timestamp: datetime = Field(description="Start of the sampled minute, UTC.")
    account_id: str
    region: str
    resource_type: str = Field(description="ec2-instance | rds-instance | ebs-volume | …")
    resource_id: str
    metric: str = Field(description="CloudWatch metric name, e.g. CPUUtilization")
    statistic: str = "Average"
    value: float
    unit: str = "Percent"
    source: str = "cloudwatch"

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def key(self) -> bytes:
        return self.resource_id.encode()
