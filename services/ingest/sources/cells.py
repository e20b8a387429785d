"""Cell conversions shared by the export parsers: text, amounts, timestamps, tag maps.

Every failure raises `CellError` naming the source column, so a parser can turn it into a
`RejectedRow` and go on with the next row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from outlay.events.currencies import ISO_4217
from outlay.events.usage import MAX_CHARGE_PERIOD
from outlay.spread import MINUTE, Grain, floor_to

_NO_OFFSET = timedelta(0)
_DAY = timedelta(days=1)


class CellError(ValueError):
    """One cell could not be used; `column` is the name in the source file."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


def text(value: object) -> str | None:
    """A cell as stripped text; empty and missing cells are None."""
    if value.__class__ is str:
        # Hot path: most cells need no stripping, and checking the ends is cheaper than strip().
        if not value:
            return None
        if value[0] > " " and value[-1] > " ":  # type: ignore[index]
            return value  # type: ignore[return-value]
        return value.strip() or None  # type: ignore[attr-defined,no-any-return]
    if value is None:
        return None
    return str(value).strip() or None


def required_text(value: object, column: str) -> str:
    result = text(value)
    if result is None:
        raise CellError(column, "missing value")
    return result


def decimal(value: object, column: str) -> Decimal | None:
    """An amount, exact: floats (parquet doubles) go through their shortest repr, never binary expansion."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    else:
        raw = value.strip() if isinstance(value, str) else str(value).strip()
        if not raw:
            return None
        try:
            result = Decimal(raw)
        except InvalidOperation:
            raise CellError(column, f"not a number: {raw!r}") from None
    if not result.is_finite():
        raise CellError(column, f"not a finite number: {value!r}")
    return result


def required_decimal(value: object, column: str) -> Decimal:
    result = decimal(value, column)
    if result is None:
        raise CellError(column, "missing value")
    return result


@lru_cache(maxsize=8192)
def _parse_timestamp(raw: str) -> datetime:
    # Exports repeat the same few thousand hour stamps, so caching the parse pays off.
    parsed = datetime.fromisoformat(raw)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def timestamp(value: object, column: str) -> datetime:
    """A UTC datetime from an ISO 8601 string ("…Z", "… 23:00:00", "….000Z") or a parquet timestamp."""
    if isinstance(value, datetime):
        zone = value.tzinfo
        if zone is UTC:
            return value
        if zone is None or zone.utcoffset(value) == _NO_OFFSET:  # parquet gives ZoneInfo("UTC")
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except OverflowError:  # an offset that moves it past year 1 or 9999
            raise CellError(column, f"out of range in UTC: {value.isoformat()}") from None
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raw = text(value)
    if raw is None:
        raise CellError(column, "missing value")
    try:
        return _parse_timestamp(raw)
    except OverflowError:  # "0001-01-01T00:00+01:00" is before the first representable UTC instant
        raise CellError(column, f"out of range in UTC: {raw!r}") from None
    except ValueError:
        raise CellError(column, f"not a date-time: {raw!r}") from None


def ceil_minute(moment: datetime) -> datetime:
    floor = floor_to(moment, Grain.MINUTE)
    return floor if floor == moment else floor + MINUTE


def charge_period(start: datetime, end: datetime, start_column: str, end_column: str) -> tuple[datetime, datetime]:
    """The half-open [start, end) period on whole minutes.

    AWS writes monthly fee lines as 00:00:00 to 23:59:59 and mid-month starts to the second (RIFee in
    WorkshopCUR: 2018-10-09T21:40:47Z/2018-10-31T23:59:59Z): flooring the start and ceiling the end
    keeps the whole cost inside the period and its date, never splitting or dropping it.

    A period longer than `MAX_CHARGE_PERIOD` is refused (the ledger spreads it over every minute).
    """
    start = floor_to(start, Grain.MINUTE)
    try:
        end = ceil_minute(end)
    except OverflowError:  # 9999-12-31T23:59:59 has no next minute
        raise CellError(end_column, f"out of range: {end.isoformat()} has no whole minute after it") from None
    if end <= start:
        raise CellError(end_column, f"ends at {end.isoformat()}, not after {start_column} {start.isoformat()}")
    span = end - start
    if span > MAX_CHARGE_PERIOD:
        days = -(-span // _DAY)  # rounded up: 366 days and a minute reads as 367
        raise CellError(end_column, f"charge period of {days} days is longer than {MAX_CHARGE_PERIOD.days} days")
    return start, end


class PeriodCache:
    """`charge_period` memoised on the raw cells: an hourly export repeats ~750 distinct periods a month."""

    def __init__(self, start_column: str, end_column: str, limit: int = 65_536) -> None:
        self._start_column = start_column
        self._end_column = end_column
        self._limit = limit
        self._cache: dict[tuple[object, object], tuple[datetime, datetime]] = {}

    def period(self, start: object, end: object) -> tuple[datetime, datetime]:
        key = (start, end)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        result = charge_period(
            timestamp(start, self._start_column),
            timestamp(end, self._end_column),
            self._start_column,
            self._end_column,
        )
        if len(self._cache) >= self._limit:
            self._cache.clear()  # bounded memory on exports with unusual period variety
        self._cache[key] = result
        return result


def currency(value: object, column: str) -> str:
    code = required_text(value, column).upper()
    if code not in ISO_4217:
        raise CellError(column, f"unknown currency {code!r} (expected an ISO 4217 code)")
    return code


def key_values(value: object, column: str) -> dict[str, str]:
    """A map cell: a parquet map (list of pairs), a struct (dict) or a JSON object string."""
    if value is None:
        return {}
    if isinstance(value, str):
        raw = value.strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CellError(column, f"not a JSON object: {exc.msg}") from None
        if not isinstance(value, dict):
            raise CellError(column, "not a JSON object")
    if isinstance(value, Mapping):
        pairs: list[object] | tuple[object, ...] = list(value.items())
    elif isinstance(value, list | tuple):
        pairs = value
    else:
        raise CellError(column, f"not a key/value map: {type(value).__name__}")
    result: dict[str, str] = {}
    for pair in pairs:
        if isinstance(pair, Mapping):  # pyarrow may render map entries as {"key": …, "value": …}
            key, item = pair.get("key"), pair.get("value")
        elif isinstance(pair, list | tuple) and len(pair) == 2:
            key, item = pair
        else:
            raise CellError(column, f"not a key/value pair: {pair!r}")
        # Keys are kept as written (the FOCUS sample has both "org" and " org"), and so are empty values:
        # a tag set to "" is still applied to the resource (null means the tag is absent).
        if key is None or item is None:
            continue
        result[str(key)] = item if isinstance(item, str) else json.dumps(item)
    return result


def raw_row(row: Mapping[str, object]) -> dict[str, str | None]:
    """The row as text, for dead letters."""
    out: dict[str, str | None] = {}
    for name, value in row.items():
        if value is None or isinstance(value, str):
            out[name] = value
        elif isinstance(value, datetime):
            out[name] = value.isoformat()
        elif isinstance(value, float):
            out[name] = repr(value)
        elif isinstance(value, list | dict):
            out[name] = json.dumps(value, default=str)
        else:
            out[name] = str(value)
    return out
