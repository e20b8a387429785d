"""Process logging: one line per record on stderr, as text or JSON, with secrets masked.

Every service process calls `configure_logging(service)` once at start. A line carries the UTC
timestamp, the level, the service, the logger and the message; a traceback stays on the same line (as
`\\n` escapes in text, inside the JSON string otherwise), so a log shipper never splits a record.

Secrets: settings are logged only through `Settings.redacted()`, and as a second line of defence the
formatter masks the values of every secret it knows (the API key, the database password, AWS keys from
the environment) wherever they appear, for example in a driver's error message that quotes a DSN.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO
from urllib.parse import urlsplit

from opentelemetry import trace as otel_trace
from pydantic import SecretStr

from outlay.settings import Settings, get_settings

MASK = "***"
# Shorter values cannot be masked without mangling ordinary words in every line.
MIN_SECRET_LENGTH = 4
# Credentials boto3 reads from the environment: not settings, but just as secret.
SECRET_ENV_VARS = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
# Libraries that narrate their set-up at INFO (alembic lists every plugin it loads on each upgrade): they
# speak from WARNING up unless DEBUG is asked for.
CHATTY_LOGGERS = ("alembic.runtime.plugins",)

log = logging.getLogger(__name__)


def secrets_of(settings: Settings) -> list[str]:
    """The secret values a log line must never show, longest first (so a secret containing another is
    masked whole)."""
    found: set[str] = set()
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            found.add(value.get_secret_value())
    if settings.database_url:
        try:
            password = urlsplit(settings.database_url).password
        except ValueError:  # an unparseable URL: nothing we can pick a password out of
            password = None
        if password:
            found.add(password)
    found.update(os.environ.get(var, "") for var in SECRET_ENV_VARS)
    return sorted((s for s in found if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True)


# Keys made through the API (`olk_<id>_<secret>`) are not settings: masked by their shape wherever they appear
# (a WebSocket's `?api_key=` lands in the server's access line).
_API_KEY = re.compile(r"(olk_[0-9a-f]{12}_)[A-Za-z0-9_-]+")


def mask(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    if "olk_" in text:
        text = _API_KEY.sub(lambda m: m.group(1) + MASK, text)
    return text


def current_trace_ids() -> dict[str, str]:
    """The trace and span the line was logged in (none outside a span, or when tracing is off)."""
    context = otel_trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


class LineFormatter(logging.Formatter):
    """One record, one line: `2024-10-01T12:00:00.123Z INFO ledger some.logger: message` or JSON."""

    def __init__(self, service: str, *, json_lines: bool = False, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.service = service
        self.json_lines = json_lines
        self.secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        message = mask(record.getMessage(), self.secrets)
        trace = ""
        if record.exc_info:
            trace = self.formatException(record.exc_info)
        if record.stack_info:
            trace = (trace + "\n" if trace else "") + self.formatStack(record.stack_info)
        trace = mask(trace, self.secrets)
        when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        timestamp = when.replace("+00:00", "Z")
        if self.json_lines:
            line: dict[str, object] = {
                "ts": timestamp,
                "level": record.levelname,
                "service": self.service,
                "logger": record.name,
                "message": message,
            }
            line.update(current_trace_ids())
            if trace:
                line["exc"] = trace
            return json.dumps(line, ensure_ascii=False)
        text = f"{message}\n{trace}" if trace else message
        text = text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")
        return f"{timestamp} {record.levelname} {self.service} {record.name}: {text}"


class _OutlayHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler this module installed, so a second call replaces it instead of adding one."""


def parse_level(level: str) -> int:
    value = logging.getLevelName(level.strip().upper())
    if not isinstance(value, int):
        raise ValueError(f"OUTLAY_LOG_LEVEL: unknown level {level!r} (DEBUG, INFO, WARNING, ERROR, CRITICAL)")
    return value


def configure_logging(
    service: str, settings: Settings | None = None, *, stream: TextIO | None = None
) -> logging.Handler:
    """Send every log record of this process to `stream` (stderr) as one line, at the configured level.

    Level and format come from the settings (OUTLAY_LOG_LEVEL, OUTLAY_LOG_FORMAT=text|json). Calling it
    again replaces the handler it installed; handlers others installed (pytest's, say) are left alone.
    Returns the handler.
    """
    settings = settings or get_settings()
    level = parse_level(settings.log_level)
    handler = _OutlayHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(LineFormatter(service, json_lines=settings.log_format == "json", secrets=secrets_of(settings)))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OutlayHandler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(level if level <= logging.DEBUG else max(level, logging.WARNING))
    return handler


def log_startup(service: str, settings: Settings) -> None:
    """The first line of a service: what it runs with, through `redacted()` only."""
    log.info("%s starting with settings %s", service, json.dumps(settings.redacted(), default=str, sort_keys=True))
