"""What `GET /v1/anomalies` asks for, validated without I/O; each problem is a `QueryError` naming its parameter.

Pages are newest first, by (start, anomaly_id), and a cursor is the last (start, id) a page showed:
new anomalies arriving meanwhile never shift or repeat the next page (keyset pagination).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from outlay.events import AnomalyDirection, Severity
from services.gateway.query import (
    NUL_MESSAGE,
    Cursor,
    ErrorCollector,
    FieldError,
    QueryError,
    parse_choice,
    parse_instant,
    parse_int_in,
)

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_SERIES = 100
SEVERITY_ORDER: tuple[Severity, ...] = tuple(Severity)  # the enum lists them from least to most severe


class AnomalyStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    ANY = "any"


@dataclass(frozen=True)
class AnomalyQuery:
    status: AnomalyStatus = AnomalyStatus.ANY
    series: tuple[str, ...] = ()
    direction: AnomalyDirection | None = None
    severities: tuple[Severity, ...] = SEVERITY_ORDER  # at or above the minimum asked for
    alerted: bool | None = None
    since: datetime | None = None  # start >= since (naive UTC)
    until: datetime | None = None  # start < until
    limit: int = DEFAULT_LIMIT
    after: Cursor | None = None


def parse_anomaly_query(
    *,
    status: str | None = None,
    series: Sequence[str] = (),
    direction: str | None = None,
    min_severity: str | None = None,
    alerted: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: str | None = None,
    cursor: str | None = None,
) -> AnomalyQuery:
    """Every parameter checked; all problems are reported together."""
    collector = ErrorCollector()
    attempt, errors = collector.attempt, collector.errors
    chosen_status = attempt(lambda: parse_choice(AnomalyStatus, status, AnomalyStatus.ANY, "status"))
    chosen_direction = attempt(lambda: _optional_choice(AnomalyDirection, direction, "direction"))
    floor = attempt(lambda: parse_choice(Severity, min_severity, Severity.LOW, "min_severity"))
    start_from = attempt(lambda: None if since is None else parse_instant(since, "since"))
    start_before = attempt(lambda: None if until is None else parse_instant(until, "until"))
    after = attempt(lambda: None if cursor is None else Cursor.decode(cursor))
    alerted_flag = attempt(lambda: _flag(alerted, "alerted"))
    size = attempt(lambda: _limit(limit))
    if len(series) > MAX_SERIES:
        errors.append(FieldError("series", f"at most {MAX_SERIES} values"))
    if any("\x00" in s for s in series):
        errors.append(FieldError("series", NUL_MESSAGE))
    if start_from is not None and start_before is not None and start_before <= start_from:
        errors.append(FieldError("until", "must be after since"))
    if errors or chosen_status is None or floor is None or size is None:
        raise QueryError(errors)
    return AnomalyQuery(
        status=chosen_status,
        series=tuple(dict.fromkeys(series)),
        direction=chosen_direction,
        severities=SEVERITY_ORDER[SEVERITY_ORDER.index(floor) :],
        alerted=alerted_flag,
        since=start_from,
        until=start_before,
        limit=size,
        after=after,
    )


def _optional_choice(choices: type[E], value: str | None, field_name: str) -> E | None:
    return None if value is None else parse_choice(choices, value, next(iter(choices)), field_name)


def _flag(value: str | None, field_name: str) -> bool | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise QueryError.single(field_name, "must be true or false")


def _limit(value: str | None) -> int:
    return parse_int_in(value, 1, MAX_LIMIT, DEFAULT_LIMIT, "limit")
