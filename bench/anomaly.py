"""`make bench-anomaly`: how well and how fast Outlay finds cost anomalies.

1. Labelled quality: 30 simulated days (after a 7-day warm-up) of minute-level usage from the live generator
   (a demo company, with its injected spikes, drops and drifts as ground truth) go through the worker's own
   domain chain with the worker's default settings —
   `contributions` in one batch per minute, one `SeriesMonitor` per series — and the alerted incidents are
   scored against the labels (`services.anomaly.evaluation.labelled`): precision, recall, median delay.
Prints a table, then one JSON line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from outlay.events import UsageRecord
from outlay.settings import Settings
from services.anomaly.evaluation.labelled import Alert, LabelledScore, score
from services.anomaly.series.keys import SeriesSettings, contributions
from services.anomaly.series.monitor import MonitorSettings, SeriesMonitor
from services.anomaly.series.top_spenders import TopSpenders
from services.anomaly.worker.app import monitor_settings, series_settings
from services.ingest.live.generator import generate, labels
from services.ingest.live.profiles import demo_company

console = Console()
END = datetime(2026, 11, 1, tzinfo=UTC)  # a fixed window: the same labels every run
# The company the figures are reported on. The thresholds (minimum impact share, the medium alert level) were
# chosen on seed 7, the demo's own company; seed 11 is held out, so the figures are not tuned to their labels.
SEED = 11


class DomainReplay:
    """The worker's path from usage to alerts, in process: batches → contributions → monitors."""

    def __init__(self, series: SeriesSettings, monitor: MonitorSettings) -> None:
        self.series = series
        self.monitor = monitor
        self.monitors: dict[str, SeriesMonitor] = {}
        self.alerts: dict[str, Alert] = {}
        self.lines = 0
        self.top = TopSpenders()

    def feed(self, records: list[UsageRecord]) -> None:
        self.lines += len(records)
        clock = max(r.charge_period_end for r in records)
        for c in contributions(records, self.series, self.top):
            monitor = self.monitors.get(c.series)
            if monitor is None:
                monitor = self.monitors[c.series] = SeriesMonitor.for_contribution(c, self.monitor)
            for anomaly in monitor.add(c):
                if anomaly.alerted and anomaly.anomaly_id not in self.alerts:
                    self.alerts[anomaly.anomaly_id] = Alert(anomaly.anomaly_id, anomaly.series, anomaly.start, clock)

    def run(self, records: Iterable[UsageRecord], batch: int) -> None:
        pending: list[UsageRecord] = []
        for record in records:
            pending.append(record)
            if len(pending) >= batch:
                self.feed(pending)
                pending = []
        if pending:
            self.feed(pending)

    @property
    def points(self) -> int:
        return sum(m.points for m in self.monitors.values())


def labelled_quality(
    days: int = 30, warm_up_days: int = 7, seed: int = SEED
) -> tuple[LabelledScore, DomainReplay, float]:
    """Score `days` of labelled minute usage after `warm_up_days` the detectors learn on but are not scored
    on (NAB likewise leaves each file's first 15% unscored): a weekly profile needs a week to know a weekend."""
    profile = demo_company(seed=seed)
    start = END - timedelta(days=days + warm_up_days)
    scored_from = END - timedelta(days=days)
    settings = Settings()
    series = series_settings(settings)
    replay = DomainReplay(series, monitor_settings(settings))
    started = time.perf_counter()
    # Live data arrives minute by minute: one batch per minute of every series (the worker's batches are
    # as small as what arrived within 200 ms), so alerts are timed as they would be live.
    replay.run(generate(profile, start, END), batch=len(profile.series()))
    seconds = time.perf_counter() - started
    truth = [label for label in labels(profile, scored_from, END) if label.start >= scored_from]
    alerts = [alert for alert in replay.alerts.values() if alert.start >= scored_from]
    return score(truth, alerts, "minute", series.tag_keys), replay, seconds


def main(days: int = 30) -> dict[str, Any]:
    console.print(f"labelled quality: {days} days of minute usage from the generator…")
    quality, replay, seconds = labelled_quality(days)
    table = Table(title=f"labelled cost anomalies, {days} days, {len(replay.monitors)} series")
    for column in ("labels", "alerts", "true alerts", "precision", "recall", "median delay (min)"):
        table.add_column(column)
    delay = quality.median_delay_min
    table.add_row(
        str(quality.labels),
        str(quality.alerts),
        str(quality.true_alerts),
        f"{quality.precision:.3f}",
        f"{quality.recall:.3f}",
        "n/a" if delay is None else f"{delay:.1f}",
    )
    console.print(table)
    console.print(
        f"{replay.lines:,} usage lines, {replay.points:,} series points in {seconds:.1f} s (generation included)"
    )
    figures = {
        "precision": round(quality.precision, 3),
        "recall": round(quality.recall, 3),
        "median_delay_min": None if delay is None else round(delay, 1),
        "labels": quality.labels,
        "alerts": quality.alerts,
    }
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    import sys

    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
