"""Logging format (text and JSON, one line per record), secrets never logged, and the metric helpers."""

from __future__ import annotations

import io
import json
import logging
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from outlay.settings import Settings
from outlay.telemetry import configure_logging, count_ingest_chunk, log_startup
from outlay.telemetry.logs import secrets_of
from outlay.telemetry.metrics import LedgerLag

API_KEY = "k3y-that-must-never-leak-0123456789"
DB_PASSWORD = "pg-pass-never-leak"
TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (?P<level>[A-Z]+) (?P<service>\S+) (?P<logger>\S+): (?P<msg>.*)$"
)


Captured = list[tuple[logging.Handler, io.StringIO]]


@pytest.fixture
def capture() -> Iterator[Captured]:
    """Handlers installed by a test are removed afterwards (the root logger is process-wide)."""
    root = logging.getLogger()
    level = root.level
    installed: Captured = []
    yield installed
    for handler, _ in installed:
        root.removeHandler(handler)
    root.setLevel(level)


def _configure(capture: Captured, service: str, settings: Settings) -> io.StringIO:
    stream = io.StringIO()
    capture.append((configure_logging(service, settings, stream=stream), stream))
    return stream


def _boom(message: str) -> None:
    raise RuntimeError(message)


def test_text_lines_carry_timestamp_level_service_logger_and_message(capture: Captured) -> None:
    stream = _configure(capture, "ledger", Settings(OUTLAY_LOG_FORMAT="text"))
    logging.getLogger("outlay.test").info("wrote %d rows\nsecond line", 42)
    try:
        _boom("it broke")
    except RuntimeError:
        logging.getLogger("outlay.test").exception("batch failed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # a multi-line message and a traceback each stay on their record's line
    first, second = (TEXT_LINE.match(line) for line in lines)
    assert first and second
    assert first.group("level", "service", "logger") == ("INFO", "ledger", "outlay.test")
    assert first.group("msg") == "wrote 42 rows\\nsecond line"
    assert second.group("level") == "ERROR"
    assert second.group("msg").startswith("batch failed\\nTraceback")
    assert "RuntimeError: it broke" in second.group("msg")


def test_json_lines_parse_and_keep_the_traceback(capture: Captured) -> None:
    stream = _configure(capture, "gateway", Settings(OUTLAY_LOG_FORMAT="json"))
    logging.getLogger("services.gateway").warning("slow query: %s", 'a"b')
    try:
        _boom("bad")
    except RuntimeError:
        logging.getLogger("services.gateway").exception("failed")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert set(first) == {"ts", "level", "service", "logger", "message"}
    assert first["level"] == "WARNING" and first["service"] == "gateway" and first["logger"] == "services.gateway"
    assert first["message"] == 'slow query: a"b'
    assert datetime.fromisoformat(first["ts"]).tzinfo is not None
    assert second["message"] == "failed" and "RuntimeError: bad" in second["exc"]


def test_level_comes_from_settings_and_a_second_call_replaces_the_handler(capture: Captured) -> None:
    quiet = _configure(capture, "ledger", Settings(OUTLAY_LOG_LEVEL="warning"))
    loud = _configure(capture, "ledger", Settings(OUTLAY_LOG_LEVEL="DEBUG"))
    logging.getLogger("outlay.test").debug("debug shows")
    assert quiet.getvalue() == ""  # replaced, not doubled
    assert "debug shows" in loud.getvalue()
    with pytest.raises(ValueError, match="OUTLAY_LOG_LEVEL"):
        configure_logging("ledger", Settings(OUTLAY_LOG_LEVEL="chatty"), stream=io.StringIO())


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_never_appear_in_logs(capture: Captured, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws/Secret+Key/never-leak")
    dsn = f"postgresql://outlay:{DB_PASSWORD}@db.internal:5432/outlay"
    settings = Settings(OUTLAY_API_KEY=API_KEY, DATABASE_URL=dsn, OUTLAY_LOG_FORMAT=fmt)
    stream = _configure(capture, "ledger", settings)
    log_startup("ledger", settings)
    log = logging.getLogger("outlay.test")
    # What careless code or a driver might do: quote the DSN, the key, or an AWS secret in a message.
    log.error("cannot connect to %s with key %s", dsn, API_KEY)
    log.info("boto3 credentials: %s", "aws/Secret+Key/never-leak")
    try:
        _boom(f"auth failed for {dsn}")
    except RuntimeError:
        log.exception("store down")
    out = stream.getvalue()
    assert len(out.splitlines()) == 4
    for secret in (API_KEY, DB_PASSWORD, "aws/Secret+Key/never-leak"):
        assert secret not in out
    assert "db.internal:5432" in out and "***" in out  # the rest of the message is still there
    assert "ledger starting with settings" in out


def test_secrets_of_finds_the_key_and_the_password_only() -> None:
    settings = Settings(OUTLAY_API_KEY=API_KEY, DATABASE_URL=f"postgresql://u:{DB_PASSWORD}@h/db")
    found = secrets_of(settings)
    assert API_KEY in found and DB_PASSWORD in found
    assert "u" not in found and "h" not in found


def test_ingest_chunk_counts_rows_and_dead_letters() -> None:
    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = (
        value("outlay_ingest_rows_total", source="unit-src", outcome="accepted"),
        value("outlay_ingest_rows_total", source="unit-src", outcome="rejected"),
        value("outlay_dead_letters_total", stage="ingest"),
    )
    count_ingest_chunk("unit-src", 1998, 2)
    count_ingest_chunk("unit-src", 5, 0)
    after = (
        value("outlay_ingest_rows_total", source="unit-src", outcome="accepted"),
        value("outlay_ingest_rows_total", source="unit-src", outcome="rejected"),
        value("outlay_dead_letters_total", stage="ingest"),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [2003, 2, 2]


def test_ledger_lag_tracks_the_newest_end_and_ignores_the_future() -> None:
    now = datetime(2024, 10, 1, 12, 0, tzinfo=UTC)
    clock = [now.timestamp()]
    lag = LedgerLag(clock=lambda: clock[0])
    assert math.isnan(lag.seconds())  # nothing written yet: unknown, not zero
    lag.written_up_to(now - timedelta(minutes=3))
    lag.written_up_to(now - timedelta(days=30))  # an old replay does not make the lag jump
    assert lag.seconds() == 180
    clock[0] += 60  # a stalled ledger: the lag grows by itself between batches
    assert lag.seconds() == 240
    lag.written_up_to(now + timedelta(days=20))  # a monthly fee ending at month end: capped at now
    assert lag.seconds() == 0
    clock[0] += 30
    assert lag.seconds() == 30


def test_keys_made_through_the_api_are_masked_by_their_shape() -> None:
    from outlay.telemetry.logs import MASK, mask

    line = 'WebSocket /v1/stream?api_key=olk_0123456789ab_s3cr3t-Value_xyz0123456789abcdef" [accepted]'
    masked = mask(line, ())
    assert "s3cr3t" not in masked and f"olk_0123456789ab_{MASK}" in masked
