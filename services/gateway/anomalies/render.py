"""The JSON shape of an anomaly, shared by REST and the WebSocket stream. Money as exact decimal strings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from outlay.events import CostAnomaly
from outlay.money import to_nanos
from services.gateway.report import iso, money


def anomaly_json(
    anomaly: CostAnomaly, *, feedback_at: datetime | None = None, updated_at: datetime | None = None
) -> dict[str, Any]:
    return {
        "anomaly_id": anomaly.anomaly_id,
        "series": anomaly.series,
        "dimensions": dict(anomaly.dimensions),
        "status": "open" if anomaly.end is None else "closed",
        "direction": anomaly.direction.value,
        "start": iso(anomaly.start),
        "end": None if anomaly.end is None else iso(anomaly.end),
        "last_seen": iso(anomaly.last_seen),
        "expected_cost": money(to_nanos(anomaly.expected_cost)),
        "actual_cost": money(to_nanos(anomaly.actual_cost)),
        "impact": money(to_nanos(anomaly.impact)),
        "currency": anomaly.currency,
        "score": anomaly.score,
        "severity": anomaly.severity.value,
        "root_cause": list(anomaly.root_cause),
        "alerted": anomaly.alerted,
        "feedback": None if anomaly.feedback is None else anomaly.feedback.value,
        "feedback_at": None if feedback_at is None else iso(feedback_at),
        "updated_at": None if updated_at is None else iso(updated_at),
    }
