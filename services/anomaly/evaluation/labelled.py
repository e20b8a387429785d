"""Score alerted anomalies against the live generator's labelled, injected anomalies.

A label is one injected anomaly on one generator workload (a resource). It can show in every series that
resource feeds: the total, its (account, service), its tag values, and its own resource series. An alerted
incident *matches* a label when its series is one of those and it starts within [label start − 5 min,
label end + 60 min] (a spike's effect ends with it; a drift returns to normal at its end, which is part of
the same injected event).

- precision: matched alerted incidents / all alerted incidents (an unmatched alert is a false alarm: a
  deploy's level step, or noise);
- recall: labels matched by at least one alerted incident / all labels;
- delay: for each found label, the earliest moment (on the stream's clock) an incident matching it was
  alerted, minus the label's start; the median is reported.

Labels that began before the scored window (`unscored`: in the warm-up, like NAB's probationary period) are not
counted for recall, and an alert that matches one of them is left out of precision, as neither true nor false:
a drift injected in the warm-up that ends (and is alerted) in the scored window is that labelled anomaly, not a
false alarm (before this, seed 3's scored window had 5 such alerts counted as false).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.ingest.live.generator import AnomalyLabel

BEFORE = timedelta(minutes=5)
AFTER = timedelta(minutes=60)


@dataclass(frozen=True)
class Alert:
    """The first alerted publication of one incident: its series, its start and when it was alerted."""

    anomaly_id: str
    series: str
    start: datetime
    alerted_at: datetime  # the stream's clock when the alert was published


@dataclass(frozen=True)
class LabelledScore:
    labels: int
    alerts: int
    true_alerts: int
    found: int
    delays_min: tuple[float, ...]

    @property
    def precision(self) -> float:
        return self.true_alerts / self.alerts if self.alerts else 0.0

    @property
    def recall(self) -> float:
        return self.found / self.labels if self.labels else 0.0

    @property
    def median_delay_min(self) -> float | None:
        return statistics.median(self.delays_min) if self.delays_min else None


def series_fed_by(label: AnomalyLabel, granularity: str, tag_keys: Sequence[str]) -> set[str]:
    """The anomaly series the labelled resource's usage feeds (see `services.anomaly.series.keys`)."""
    fed = {
        f"{granularity}|total",
        f"{granularity}|billing_account_id={label.billing_account_id}|service={label.service}",
        f"{granularity}|resource_id={label.resource_id}",
    }
    fed.update(f"{granularity}|tag:{k}={label.tags[k]}" for k in tag_keys if label.tags.get(k))
    return fed


def _matches(alert: Alert, label: AnomalyLabel, fed: set[str]) -> bool:
    return alert.series in fed and label.start - BEFORE <= alert.start <= label.end + AFTER


def score(
    labels: Sequence[AnomalyLabel],
    alerts: Iterable[Alert],
    granularity: str,
    tag_keys: Sequence[str],
    unscored: Sequence[AnomalyLabel] = (),
) -> LabelledScore:
    fed = [series_fed_by(label, granularity, tag_keys) for label in labels]
    fed_unscored = [series_fed_by(label, granularity, tag_keys) for label in unscored]
    first_alert: dict[int, datetime] = {}
    all_alerts = [
        alert
        for alert in alerts
        if any(_matches(alert, label, labels_fed) for label, labels_fed in zip(labels, fed, strict=True))
        or not any(_matches(alert, label, labels_fed) for label, labels_fed in zip(unscored, fed_unscored, strict=True))
    ]
    true_alerts = 0
    for alert in all_alerts:
        matched = False
        for index, label in enumerate(labels):
            if _matches(alert, label, fed[index]):
                matched = True
                seen = first_alert.get(index)
                if seen is None or alert.alerted_at < seen:
                    first_alert[index] = alert.alerted_at
        true_alerts += matched
    delays = tuple(
        max(0.0, (at - labels[index].start).total_seconds() / 60) for index, at in sorted(first_alert.items())
    )
    return LabelledScore(len(labels), len(all_alerts), true_alerts, len(first_alert), delays)
