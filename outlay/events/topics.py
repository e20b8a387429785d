"""The topic registry: names, partition counts and the event each topic carries.

Every topic is created explicitly with its partition count before anything produces to it (brokers
that auto-create topics pick their own partition count).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from outlay.events.allocated_usage import AllocatedUsage
from outlay.events.anomaly import AnomalyFeedback, CostAnomaly
from outlay.events.budget_alert import BudgetAlert
from outlay.events.business_metric import BusinessMetric
from outlay.events.dead_letter import DeadLetter
from outlay.events.forecast import CostForecast
from outlay.events.ledger_progress import LedgerProgress
from outlay.events.plan import ActionPlan, PlanDecision
from outlay.events.policy import PolicyViolation
from outlay.events.usage import UsageRecord
from outlay.events.utilization import UtilizationSample


@dataclass(frozen=True)
class Topic:
    name: str
    event: type[BaseModel]
    key: str
    partitions: int | None = None  # None: the deployment's default (settings.topic_partitions)
    retention_days: int = 7  # how long the broker keeps a message (retention.ms); the store keeps the history

    @property
    def retention_ms(self) -> int:
        return self.retention_days * 86_400_000


USAGE = Topic("outlay.usage.v1", UsageRecord, "billing_account_id|service")
# The same key as USAGE: a series' allocated records keep their order on one partition, as its usage does.
ALLOCATED_USAGE = Topic("outlay.usage.allocated.v1", AllocatedUsage, "usage.billing_account_id|usage.service")
UTILIZATION = Topic("outlay.utilization.v1", UtilizationSample, "resource_id")
INGEST_DLQ = Topic("outlay.ingest.dlq.v1", DeadLetter, "file", retention_days=30)  # to investigate and replay
LEDGER_PROGRESS = Topic("outlay.ledger.progress.v1", LedgerProgress, "'ledger'", partitions=1, retention_days=1)
ANOMALIES = Topic("outlay.anomalies.v1", CostAnomaly, "series", retention_days=30)
ANOMALY_FEEDBACK = Topic("outlay.anomaly_feedback.v1", AnomalyFeedback, "series", retention_days=30)
FORECASTS = Topic("outlay.forecasts.v1", CostForecast, "scope|currency")
BUDGET_ALERTS = Topic("outlay.budget_alerts.v1", BudgetAlert, "budget_id", retention_days=30)
PLANS = Topic("outlay.plans.v1", ActionPlan, "plan_id", retention_days=30)
PLAN_DECISIONS = Topic("outlay.plan_decisions.v1", PlanDecision, "plan_id", retention_days=30)  # outlives approvals
POLICY_VIOLATIONS = Topic("outlay.policy_violations.v1", PolicyViolation, "policy_id", retention_days=30)
# Business figures are few and replayable from the sender; 30 days lets a new sink catch up a month.
BUSINESS_METRICS = Topic(
    "outlay.business_metrics.v1", BusinessMetric, "tenant_id|name|dimension=dimension_value", retention_days=30
)

TOPICS: tuple[Topic, ...] = (
    USAGE,
    ALLOCATED_USAGE,
    UTILIZATION,
    INGEST_DLQ,
    LEDGER_PROGRESS,
    ANOMALIES,
    ANOMALY_FEEDBACK,
    FORECASTS,
    BUDGET_ALERTS,
    PLANS,
    PLAN_DECISIONS,
    POLICY_VIOLATIONS,
    BUSINESS_METRICS,
)


def topic_for(event: type[BaseModel]) -> Topic:
    for topic in TOPICS:
        if topic.event is event:
            return topic
    raise KeyError(f"no topic carries {event.__name__}")
