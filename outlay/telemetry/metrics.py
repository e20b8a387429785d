"""Outlay's Prometheus metrics: every one is defined here, once, in the process-wide default registry.

Services count per batch or chunk, never per record, through the small functions below: a labelled
child is looked up once per call (about a microsecond), which is nothing next to a chunk of thousands of
records. Label values are closed sets (stages, outcomes, statuses, route templates), so the number of
series stays bounded whatever the data holds.

Exposition: the gateway serves `GET /metrics`; the ledger and the live sources call
`start_metrics_server(port)` when OUTLAY_METRICS_PORT is set.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import Literal
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)

log = logging.getLogger(__name__)

# `_created` series (one timestamp per labelled series) double what every scrape stores and no dashboard
# or alert here reads them.
disable_created_metrics()

Stage = Literal["ingest", "ledger", "metering"]
LiveSource = Literal["generator", "metering"]

INGEST_ROWS = Counter(
    "outlay_ingest_rows",
    "Export rows ingest parsed, by source format; accepted rows went to outlay.usage.v1, rejected ones to the DLQ",
    ("source", "outcome"),
)
INGEST_FILES = Counter(
    "outlay_ingest_files", "Export files ingest looked at, by outcome (processed|skipped|refused|failed)", ("status",)
)
DEAD_LETTERS = Counter(
    "outlay_dead_letters", "Records sent to a dead-letter topic, by the stage that refused them", ("stage",)
)
LEDGER_RECORDS = Counter(
    "outlay_ledger_records", "Usage records the ledger committed: written, or already there (duplicate)", ("outcome",)
)
LEDGER_BATCH_SECONDS = Histogram(
    "outlay_ledger_batch_seconds",
    "Time to write one consumed batch to the store and commit its offsets",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
LEDGER_LAG_SECONDS = Gauge(
    "outlay_ledger_lag_seconds",
    "Now minus the latest charge period end the ledger has written (NaN before the first batch); "
    "meaningful while a live source feeds the ledger",
)
LIVE_RECORDS = Counter("outlay_live_records", "Usage records a live source produced (backfill included)", ("source",))
HTTP_REQUESTS = Counter(
    "outlay_http_requests", "HTTP requests the gateway answered, by route template", ("method", "route", "status")
)
HTTP_REQUEST_SECONDS = Histogram(
    "outlay_http_request_seconds", "Time from request to the end of the response body", ("method", "route")
)
EVENTS = Counter(
    "outlay_events",
    "Kafka messages a process consumed (in) or produced (out), by consumer group or client and topic",
    ("client", "topic", "direction"),
)
CONSUMER_LAG = Gauge(
    "outlay_consumer_lag_messages",
    "Messages of a partition not yet committed by a consumer group: high watermark minus committed offset, "
    "as of the group's last commit",
    ("group", "topic", "partition"),
)
BATCH_SECONDS = Histogram(
    "outlay_batch_seconds",
    "Time to handle one consumed batch, by the consumer that handled it",
    ("consumer",),
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WEBHOOK_DELIVERIES = Counter(
    "outlay_webhook_deliveries",
    "Webhook delivery attempts by outcome: delivered, failed (retried later) or dead (no more tries)",
    ("outcome",),
)

# Series that exist from the start at 0, so that rate() and alerts see them before the first event.
for _stage in ("ingest", "ledger", "metering"):
    DEAD_LETTERS.labels(stage=_stage)
for _source in ("generator", "metering"):
    LIVE_RECORDS.labels(source=_source)
for _outcome in ("delivered", "failed", "dead"):
    WEBHOOK_DELIVERIES.labels(outcome=_outcome)
_WRITTEN = LEDGER_RECORDS.labels(outcome="written")
_DUPLICATE = LEDGER_RECORDS.labels(outcome="duplicate")
_LEDGER_DEAD = DEAD_LETTERS.labels(stage="ledger")
_INGEST_DEAD = DEAD_LETTERS.labels(stage="ingest")


def count_ingest_chunk(source: str, accepted: int, rejected: int) -> None:
    """One chunk of an export file: `source` is the parser's format (focus, cur2, cur)."""
    if accepted:
        INGEST_ROWS.labels(source=source, outcome="accepted").inc(accepted)
    if rejected:
        INGEST_ROWS.labels(source=source, outcome="rejected").inc(rejected)
        _INGEST_DEAD.inc(rejected)


def count_ingest_file(status: str) -> None:
    INGEST_FILES.labels(status=status).inc()


def count_dead_letters(stage: Stage, count: int = 1) -> None:
    if count:
        DEAD_LETTERS.labels(stage=stage).inc(count)


def count_live_records(source: LiveSource, count: int) -> None:
    if count:
        LIVE_RECORDS.labels(source=source).inc(count)


class LedgerLag:
    """How far behind the clock the ledger's newest data is, computed when scraped, so a stalled ledger
    shows a growing lag rather than the last value it set."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._latest: float | None = None  # epoch seconds; written on the loop, read by the scrape thread

    def written_up_to(self, period_end: datetime) -> None:
        # Capped at now: a future-dated line (a monthly fee ending at month end) must not pin the lag
        # below zero for the rest of the month.
        end = min(period_end.timestamp(), self._clock())
        if self._latest is None or end > self._latest:
            self._latest = end

    def seconds(self) -> float:
        if self._latest is None:
            return math.nan
        return max(0.0, self._clock() - self._latest)


LEDGER_LAG = LedgerLag()
LEDGER_LAG_SECONDS.set_function(LEDGER_LAG.seconds)


def record_ledger_batch(
    written: int, duplicates: int, dead_letters: int, seconds: float, period_end: datetime | None
) -> None:
    """One committed ledger batch. `dead_letters`: its messages that could not be decoded."""
    _WRITTEN.inc(written)
    _DUPLICATE.inc(duplicates)
    if dead_letters:
        _LEDGER_DEAD.inc(dead_letters)
    LEDGER_BATCH_SECONDS.observe(seconds)
    if period_end is not None:
        LEDGER_LAG.written_up_to(period_end)


def record_http_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    HTTP_REQUEST_SECONDS.labels(method=method, route=route).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The registry in Prometheus' text format, and its content type (what `GET /metrics` sends)."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def start_metrics_server(port: int, addr: str = "0.0.0.0") -> WSGIServer:
    """Serve the registry on http://addr:port/ (any path) from a daemon thread; returns the server
    (`shutdown()` and `server_close()` stop it). Port 0 picks a free port: see `server.server_port`."""
    server, _thread = start_http_server(port, addr)
    log.info("Prometheus metrics on http://%s:%d/metrics", addr, server.server_port)
    return server


def count_events(client: str, topic: str, direction: Literal["in", "out"], count: int) -> None:
    if count:
        EVENTS.labels(client=client, topic=topic, direction=direction).inc(count)


def record_consumer_lag(group: str, lags: dict[tuple[str, int], int]) -> None:
    """Each partition's lag right after the group committed: (topic, partition) → messages behind."""
    for (topic, partition), lag in lags.items():
        CONSUMER_LAG.labels(group=group, topic=topic, partition=str(partition)).set(max(0, lag))


def record_batch_seconds(consumer: str, seconds: float) -> None:
    BATCH_SECONDS.labels(consumer=consumer).observe(seconds)


def count_webhook_delivery(outcome: Literal["delivered", "failed", "dead"]) -> None:
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()
