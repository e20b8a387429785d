"""Every event Outlay puts on Kafka, defined once. Services import these; they never re-declare them."""

from outlay.events.allocated_usage import AllocatedUsage, DimensionAssignment
from outlay.events.anomaly import AnomalyDirection, AnomalyFeedback, CostAnomaly, FeedbackVerdict, Severity
from outlay.events.budget_alert import BudgetAlert
from outlay.events.business_metric import BusinessMetric
from outlay.events.dead_letter import DeadLetter
from outlay.events.forecast import CostForecast, ForecastBasis, ForecastDay, ForecastTotal
from outlay.events.ledger_progress import LedgerProgress
from outlay.events.plan import ActionPlan, PlanDecision, PlanStatus
from outlay.events.policy import PolicyViolation
from outlay.events.topics import TOPICS, Topic, topic_for
from outlay.events.usage import CostKind, UsageRecord
from outlay.events.utilization import UtilizationSample

__all__ = [
    "TOPICS",
    "ActionPlan",
    "AllocatedUsage",
    "AnomalyDirection",
    "AnomalyFeedback",
    "BudgetAlert",
    "BusinessMetric",
    "CostAnomaly",
    "CostForecast",
    "CostKind",
    "DeadLetter",
    "DimensionAssignment",
    "FeedbackVerdict",
    "ForecastBasis",
    "ForecastDay",
    "ForecastTotal",
    "LedgerProgress",
    "PlanDecision",
    "PlanStatus",
    "PolicyViolation",
    "Severity",
    "Topic",
    "UsageRecord",
    "UtilizationSample",
    "topic_for",
]
