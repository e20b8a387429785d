"""Telemetry shared by every Outlay process: logging (`logs`) and Prometheus metrics (`metrics`, `http`).

OpenTelemetry tracing will live here too; nothing in this package imports a service.
"""

from outlay.telemetry.logs import configure_logging, log_startup
from outlay.telemetry.metrics import (
    count_dead_letters,
    count_ingest_chunk,
    count_ingest_file,
    count_live_records,
    exposition,
    record_http_request,
    record_ledger_batch,
    start_metrics_server,
)

__all__ = [
    "configure_logging",
    "count_dead_letters",
    "count_ingest_chunk",
    "count_ingest_file",
    "count_live_records",
    "exposition",
    "log_startup",
    "record_http_request",
    "record_ledger_batch",
    "start_metrics_server",
]
