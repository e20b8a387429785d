"""The labelled benchmark's scorer: which alerts are true, which labels are found, and how late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.anomaly.evaluation.labelled import Alert, score
from services.ingest.live.generator import AnomalyKind, AnomalyLabel

T0 = datetime(2026, 10, 10, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
TAGS = ("team", "project")


def label(start: datetime, minutes: int, resource: str = "i-1", team: str = "web") -> AnomalyLabel:
    return AnomalyLabel(
        series_id=f"prod/us-east-1/{resource}",
        kind=AnomalyKind.SPIKE,
        start=start,
        end=start + minutes * MINUTE,
        magnitude=3.0,
        billing_account_id="100000000001",
        sub_account_id="200000000002",
        service="Amazon Elastic Compute Cloud",
        region="us-east-1",
        resource_id=resource,
        tags={"team": team, "project": "storefront"},
    )


def alert(series: str, start: datetime, late: int = 3) -> Alert:
    return Alert(f"{series}@{start.isoformat()}", f"minute|{series}", start, start + late * MINUTE)


def test_alerts_on_every_series_the_resource_feeds_are_true_and_others_are_false() -> None:
    spike = label(T0, 20)
    alerts = [
        alert("resource_id=i-1", T0 + MINUTE),
        alert("tag:team=web", T0 + 2 * MINUTE),
        alert("total", T0 + 2 * MINUTE),
        alert("billing_account_id=100000000001|service=Amazon Elastic Compute Cloud", T0),
        alert("tag:team=data", T0 + MINUTE),  # the resource does not feed it: false
        alert("resource_id=i-1", T0 + 3 * 60 * MINUTE),  # long after the spike: false
    ]
    result = score([spike], alerts, "minute", TAGS)
    assert (result.alerts, result.true_alerts, result.found) == (6, 4, 1)
    assert result.precision == pytest.approx(4 / 6) and result.recall == 1.0
    assert result.median_delay_min == 3.0  # the earliest alerted of them: started at T0, alerted 3 minutes later


def test_alerts_of_a_label_injected_before_the_scored_window_count_neither_way() -> None:
    """A drift injected in the warm-up ends in the scored window and is alerted there: not a false alarm."""
    scored = label(T0, 20)
    warm_up_drift = label(T0 - 30 * 60 * MINUTE, 30 * 60, resource="i-2", team="data")
    alerts = [
        alert("resource_id=i-1", T0),
        alert("resource_id=i-2", T0 + 10 * MINUTE),  # the drift's end: left out
        alert("resource_id=i-3", T0),  # nothing injected: false
    ]
    unscored = score([scored], alerts, "minute", TAGS, unscored=[warm_up_drift])
    assert (unscored.alerts, unscored.true_alerts, unscored.found, unscored.labels) == (2, 1, 1, 1)
    # Without knowing of it, the drift's alert was counted as false.
    assert score([scored], alerts, "minute", TAGS).alerts == 3
