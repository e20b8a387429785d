"""What a cost query asks for, validated in plain Python (no I/O).

The HTTP route only gathers raw parameters; everything that can be wrong with them is decided here and
raised as `QueryError` naming the parameter, so a bad request is always a 422 and never a 500.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from outlay.scopes import DIMENSIONS, TAG_PREFIX
from outlay.spread import GRAIN_MINUTES, GRAIN_STEP, Grain, floor_to, to_naive_utc

# Amounts in different currencies or of different kinds (a live estimate and the bill for the same
# usage) must never be added together, so every result row is split by these two.
IMPLICIT_GROUPS: tuple[str, ...] = ("currency", "cost_kind")
# Result rows (buckets x groups) one request may produce; larger answers must be narrowed by the caller
# (90 days hourly for ten services is 21,600). The deployment's value is OUTLAY_API_MAX_CELLS.
DEFAULT_MAX_CELLS = 50_000
# Filter values one request may carry: each is a bound parameter, and the PostgreSQL driver refuses
# statements with more than 32,767 of them.
MAX_FILTER_VALUES = 1_000
MAX_GROUP_BY = 16  # dimensions per answer: beyond this a table is unreadable and the SQL needlessly wide
# PostgreSQL text cannot hold NUL; a value with one could never match, and the driver would fail on it.
NUL_MESSAGE = "must not contain NUL (\\x00) characters"
# The longest instant anyone writes ("2024-05-01T13:00:00.123456+05:30") with room to spare.
MAX_INSTANT_LENGTH = 64
DEFAULT_RANGE = {
    Grain.MINUTE: timedelta(hours=1),
    Grain.HOUR: timedelta(days=2),
    Grain.DAY: timedelta(days=30),
}

C = TypeVar("C", bound=StrEnum)


class Metric(StrEnum):
    BILLED = "billed"
    EFFECTIVE = "effective"
    LIST = "list"

    @property
    def column(self) -> str:
        return f"{self.value}_nanos"


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class QueryError(ValueError):
    """One or more request parameters are invalid; each error names its parameter."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))

    @classmethod
    def single(cls, field_name: str, message: str) -> QueryError:
        return cls([FieldError(field_name, message)])


@dataclass(frozen=True)
class GroupKey:
    """A dimension column, or a tag key when `tag` is set."""

    name: str  # column name, or the tag key
    tag: bool = False

    @property
    def label(self) -> str:
        return f"{TAG_PREFIX}{self.name}" if self.tag else self.name


@dataclass(frozen=True)
class Filters:
    """Values per dimension (OR within one dimension, AND across) and tag key -> allowed values."""

    dimensions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class TimeRange:
    start: datetime  # naive UTC, inclusive
    end: datetime  # naive UTC, exclusive

    def buckets(self, grain: Grain) -> int:
        return int((self.end - self.start).total_seconds() // 60) // GRAIN_MINUTES[grain]


@dataclass(frozen=True)
class CostQuery:
    range: TimeRange
    grain: Grain
    group_by: tuple[GroupKey, ...]  # what the caller asked for, implicit groups appended when missing
    filters: Filters
    metric: Metric = Metric.BILLED
    max_cells: int = DEFAULT_MAX_CELLS

    @property
    def identity(self) -> tuple[object, ...]:
        """A hashable value equal for queries with equal answers (the filters' mappings made tuples)."""
        dims = tuple(sorted(self.filters.dimensions.items()))
        tags = tuple(sorted(self.filters.tags.items()))
        return (self.range, self.grain, self.group_by, dims, tags, self.metric, self.max_cells)


def parse_instant(text: str, field_name: str) -> datetime:
    """An ISO date (midnight UTC) or datetime; aware values are converted to UTC. Returns naive UTC."""
    raw = text.strip()
    if not raw:
        raise QueryError.single(field_name, "must not be empty")
    if len(raw) > MAX_INSTANT_LENGTH:
        # Python's parser accepts any number of fractional-second digits; nothing real is this long.
        raise QueryError.single(
            field_name, f"too long for a date or datetime (at most {MAX_INSTANT_LENGTH} characters)"
        )
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime(day.year, day.month, day.day)
        value = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise QueryError.single(
            field_name, f"not an ISO 8601 date or datetime: {raw!r} (e.g. 2024-05-01 or 2024-05-01T13:00:00Z)"
        ) from None
    if value.tzinfo is not None:
        try:
            value = to_naive_utc(value)
        except OverflowError:  # 0001-01-01T00:00+01:00 is before the first representable instant
            raise QueryError.single(field_name, f"out of range once converted to UTC: {raw!r}") from None
    return value


def parse_range(start: str | None, end: str | None, grain: Grain, now: datetime | None = None) -> TimeRange:
    """Parse [start, end); both must fall on `grain` boundaries so every bucket is whole.

    Missing bounds default to the last `DEFAULT_RANGE[grain]`, ending at the end of the current bucket.
    """
    errors: list[FieldError] = []
    parsed: dict[str, datetime] = {}
    for name, raw in (("start", start), ("end", end)):
        if raw is None:
            continue
        try:
            value = parse_instant(raw, name)
        except QueryError as exc:
            errors.extend(exc.errors)
            continue
        if floor_to(value, grain) != value:
            errors.append(FieldError(name, f"must fall on a {grain.value} boundary for granularity={grain.value}"))
        parsed[name] = value
    if errors:
        raise QueryError(errors)
    step = GRAIN_STEP[grain]
    if "end" in parsed:
        end_at = parsed["end"]
    elif "start" in parsed:
        end_at = _shifted(parsed["start"], DEFAULT_RANGE[grain], "start")
    else:
        current = to_naive_utc(now or datetime.now(UTC))
        end_at = floor_to(current, grain) + step
    start_at = parsed["start"] if "start" in parsed else _shifted(end_at, -DEFAULT_RANGE[grain], "end")
    if end_at <= start_at:
        raise QueryError.single("end", "must be after start")
    return TimeRange(start_at, end_at)


def _shifted(value: datetime, by: timedelta, field_name: str) -> datetime:
    """`value + by` for a defaulted bound; near year 1 or 9999 the default would leave the calendar."""
    try:
        return value + by
    except OverflowError:
        raise QueryError.single(
            field_name, "too close to the calendar's edge for the default range; give both start and end"
        ) from None


def split_list(values: Iterable[str]) -> list[str]:
    """Repeatable parameters that also accept comma lists: ?group_by=a,b&group_by=c."""
    out: list[str] = []
    for value in values:
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out


def parse_group_by(values: Iterable[str]) -> tuple[GroupKey, ...]:
    keys: list[GroupKey] = []
    errors: list[FieldError] = []
    for item in split_list(values):
        if item.startswith(TAG_PREFIX):
            tag_key = item[len(TAG_PREFIX) :].strip()
            if not tag_key:
                errors.append(FieldError("group_by", "tag group needs a key, e.g. tag:team"))
                continue
            if "\x00" in tag_key:
                errors.append(FieldError("group_by", f"tag key {NUL_MESSAGE}"))
                continue
            key = GroupKey(tag_key, tag=True)
        elif item in DIMENSIONS:
            key = GroupKey(item)
        else:
            allowed = ", ".join(DIMENSIONS)
            errors.append(FieldError("group_by", f"unknown dimension {item!r} (use one of {allowed}, or tag:KEY)"))
            continue
        if key not in keys:
            keys.append(key)
    if len(keys) > MAX_GROUP_BY:
        errors.append(FieldError("group_by", f"at most {MAX_GROUP_BY} dimensions (got {len(keys)})"))
    if errors:
        raise QueryError(errors)
    for implicit in IMPLICIT_GROUPS:
        if GroupKey(implicit) not in keys:
            keys.append(GroupKey(implicit))
    return tuple(keys)


def parse_filters(dimension_values: Mapping[str, Sequence[str]], tag_values: Sequence[str]) -> Filters:
    errors: list[FieldError] = [
        FieldError(name, f"not a dimension to filter by (dimensions: {', '.join(DIMENSIONS)})")
        for name in dimension_values
        if name not in DIMENSIONS
    ]
    dims = {
        name: tuple(dict.fromkeys(values)) for name, values in dimension_values.items() if values and name in DIMENSIONS
    }
    errors.extend(FieldError(name, NUL_MESSAGE) for name, values in dims.items() if any("\x00" in v for v in values))
    tags: dict[str, list[str]] = {}
    for raw in tag_values:
        tag_key, sep, value = raw.partition(":")
        if not sep or not tag_key.strip():
            errors.append(FieldError("tag", f"tag filter must be KEY:VALUE, e.g. team:checkout (got {raw!r})"))
            continue
        if "\x00" in raw:
            errors.append(FieldError("tag", NUL_MESSAGE))
            continue
        bucket = tags.setdefault(tag_key.strip(), [])
        if value not in bucket:
            bucket.append(value)
    counts = {name: len(values) for name, values in dims.items()}
    counts["tag"] = sum(len(values) + 1 for values in tags.values())  # each tag key is a parameter too
    if sum(counts.values()) > MAX_FILTER_VALUES:
        widest = max(counts, key=lambda name: counts[name])
        errors.append(FieldError(widest, f"at most {MAX_FILTER_VALUES} filter values in one request"))
    if errors:
        raise QueryError(errors)
    return Filters(dimensions=dims, tags={k: tuple(v) for k, v in tags.items()})


def parse_choice(choices: type[C], value: str | None, default: C, field_name: str) -> C:
    """One of an enum's values, `default` when absent; anything else is an error naming the field."""
    if value is None:
        return default
    try:
        return choices(value)
    except ValueError:
        raise QueryError.single(field_name, f"must be one of {', '.join(c.value for c in choices)}") from None


def parse_int_in(value: str | None, low: int, high: int, default: int, field_name: str) -> int:
    """A whole number from `low` to `high`, `default` when absent; anything else is an error naming the field."""
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise QueryError.single(field_name, f"must be a whole number from {low} to {high}, got {value!r}") from None
    if not low <= number <= high:
        raise QueryError.single(field_name, f"must be from {low} to {high}, got {number}")
    return number


def parse_metric(value: str | None) -> Metric:
    return parse_choice(Metric, value, Metric.BILLED, "metric")


def parse_grain(value: str | None) -> Grain:
    return parse_choice(Grain, value, Grain.DAY, "granularity")


def build_query(
    *,
    start: str | None,
    end: str | None,
    granularity: str | None,
    group_by: Sequence[str],
    dimension_filters: Mapping[str, Sequence[str]],
    tag_filters: Sequence[str],
    metric: str | None,
    max_cells: int = DEFAULT_MAX_CELLS,
    now: datetime | None = None,
) -> CostQuery:
    """Validate every parameter, collecting all errors before failing so the caller can fix them at once."""
    errors: list[FieldError] = []
    grain = Grain.DAY
    try:
        grain = parse_grain(granularity)
    except QueryError as exc:
        errors.extend(exc.errors)
    results: dict[str, object] = {}
    steps = (
        ("range", lambda: parse_range(start, end, grain, now)),
        ("group_by", lambda: parse_group_by(group_by)),
        ("filters", lambda: parse_filters(dimension_filters, tag_filters)),
        ("metric", lambda: parse_metric(metric)),
    )
    for name, step in steps:
        try:
            results[name] = step()
        except QueryError as exc:
            errors.extend(exc.errors)
    if errors:
        raise QueryError(errors)
    query = CostQuery(
        range=results["range"],  # type: ignore[arg-type]
        grain=grain,
        group_by=results["group_by"],  # type: ignore[arg-type]
        filters=results["filters"],  # type: ignore[arg-type]
        metric=results["metric"],  # type: ignore[arg-type]
        max_cells=max_cells,
    )
    check_bucket_cap(query)
    return query


def check_bucket_cap(query: CostQuery) -> None:
    buckets = query.range.buckets(query.grain)
    if buckets > query.max_cells:
        raise QueryError.single(
            "granularity",
            f"{buckets} {query.grain.value} buckets between start and end exceed the limit of "
            f"{query.max_cells}; narrow start/end or use a coarser granularity",
        )


def too_many_cells(query: CostQuery) -> QueryError:
    return QueryError.single(
        "group_by",
        f"the answer has more than {query.max_cells} rows (buckets x groups); "
        "narrow start/end, add filters, group by fewer dimensions or use a coarser granularity",
    )


MAX_CURSOR_LENGTH = 256


@dataclass(frozen=True)
class Cursor:
    """Where a newest-first page ended: the last item's time and id (keyset pagination: items arriving meanwhile
    never shift or repeat the next page). Opaque to clients."""

    at: datetime  # naive UTC, as stored
    key: str

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{self.at.isoformat()}|{self.key}".encode()).decode()

    @classmethod
    def decode(cls, text: str) -> Cursor:
        problem = QueryError.single("cursor", "not a cursor this API gave out (use next_cursor of the last page)")
        if len(text) > MAX_CURSOR_LENGTH:
            raise problem
        try:
            at, _, key = base64.urlsafe_b64decode(text.encode()).decode().partition("|")
            if "\x00" in key:
                raise ValueError(key)
            # Cursors hold naive UTC; one edited to carry an offset is read in UTC rather than refused.
            return cls(to_naive_utc(datetime.fromisoformat(at)), key)
        except (binascii.Error, UnicodeError, ValueError):
            raise problem from None


T = TypeVar("T")


class ErrorCollector:
    """Checks several parameters and reports every problem together, not only the first."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def attempt(self, parse: Callable[[], T]) -> T | None:
        try:
            return parse()
        except QueryError as exc:
            self.errors.extend(exc.errors)
            return None
