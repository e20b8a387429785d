"""Cost anomalies as the anomaly worker publishes them, for the gateway's tests (REST, WebSocket, webhooks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from outlay.events import AnomalyDirection, CostAnomaly, FeedbackVerdict, Severity
from outlay.events.anomaly import anomaly_id
from outlay.kafka.producer import EventProducer

T0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
EC2 = "minute|billing_account_id=111122223333|service=AmazonEC2"
TOTAL = "minute|total"


def incident(
    series: str,
    start_minute: int,
    last_minute: int,
    *,
    closed: bool = False,
    impact: str = "12.5",
    severity: Severity = Severity.HIGH,
    alerted: bool = True,
    feedback: FeedbackVerdict | None = None,
) -> CostAnomaly:
    start = T0 + start_minute * MINUTE
    last = T0 + last_minute * MINUTE
    expected = Decimal("10")
    return CostAnomaly(
        anomaly_id=anomaly_id(series, start),
        series=series,
        dimensions={"service": "AmazonEC2"} if "AmazonEC2" in series else {},
        direction=AnomalyDirection.SPIKE,
        start=start,
        end=last + MINUTE if closed else None,
        last_seen=last,
        expected_cost=expected,
        actual_cost=expected + Decimal(impact),
        impact=Decimal(impact),
        score=0.999,
        severity=severity,
        root_cause=["service=AmazonEC2"],
        alerted=alerted,
        feedback=feedback,
    )


async def publish(broker: str, *events: CostAnomaly) -> None:
    async with EventProducer(broker, client_id="test-anomaly-worker") as producer:
        await producer.send_many(list(events))
