"""`outlay.anomalies.v1`: one cost anomaly of one series, published when it opens, as it grows, and when it ends.

Every update of an incident carries the same `anomaly_id`, so consumers (the gateway, webhooks) replace the
previous state instead of adding a new anomaly. Keyed by series, so one series' updates stay in order.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from outlay.events.usage import Money, stable_record_id
from outlay.tenancy import DEFAULT_TENANT, TenantId


class AnomalyDirection(StrEnum):
    SPIKE = "spike"  # more spend than expected
    DROP = "drop"  # less spend than expected (a stopped service, a broken pipeline)


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class FeedbackVerdict(StrEnum):
    TRUE_POSITIVE = "true_positive"  # a real problem: keep alerting like this
    FALSE_POSITIVE = "false_positive"  # not a problem: this series alerts less readily from now on
    PLANNED = "planned"  # an intended change (a launch): the new level is normal, not alerted again


class CostAnomaly(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    anomaly_id: str = Field(description="Stable for the whole incident: derived from the series and its start.")
    tenant_id: TenantId = DEFAULT_TENANT
    series: str = Field(description="Series identity, e.g. 'billing_account_id=111122223333|service=AmazonEC2'.")
    dimensions: dict[str, str] = Field(default_factory=dict, description="The series' dimension values.")
    direction: AnomalyDirection
    start: datetime
    end: datetime | None = Field(default=None, description="None while the incident is ongoing.")
    last_seen: datetime = Field(description="The latest point the incident covers.")
    expected_cost: Money = Field(description="What the baseline expected over [start, last_seen].")
    actual_cost: Money = Field(description="What was spent over [start, last_seen].")
    impact: Money = Field(description="actual − expected so far (negative for a drop).")
    currency: str = "USD"
    score: float = Field(ge=0.0, le=1.0, description="Peak anomaly likelihood of the incident.")
    severity: Severity
    root_cause: list[str] = Field(default_factory=list, description="Dimension values that explain most of it.")
    alerted: bool = Field(description="False when recorded only (under the tenant's minimum impact, or planned).")
    feedback: FeedbackVerdict | None = Field(default=None, description="A person's verdict, once given.")

    @property
    def key(self) -> bytes:
        return self.series.encode()


def anomaly_id(series: str, start: datetime) -> str:
    """The id of the incident of `series` that started at `start`: replays and restarts give the same id."""
    return stable_record_id(series, start.isoformat())


class AnomalyFeedback(BaseModel):
    """`outlay.anomaly_feedback.v1`: a person's verdict on an anomaly, for the detector of its series."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    anomaly_id: str
    tenant_id: TenantId = DEFAULT_TENANT
    series: str
    verdict: FeedbackVerdict
    given_at: datetime

    @property
    def key(self) -> bytes:
        return self.series.encode()
