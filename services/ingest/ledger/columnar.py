"""The ledger's column-wise path: a fetched batch of raw `outlay.usage.v1` values straight to rows.

Decoding each message into a `UsageRecord` and walking the records one by one cost the ledger most
of its CPU. Here the batch's values are parsed together by `pyarrow.json` and checked column by
column against exactly what the model enforces; the usage rows, rollup rows and summary are then
computed on the columns (Arrow kernels, group-by sums), and written by COPY in CSV. Only a message the
checks cannot prove equivalent to the model's reading goes through the model itself
(`decode_messages`: a dead letter if invalid, else its record joins the batch), so dead letters and
the rows written are the same as decoding every message and calling `LedgerWriter.prepare`.

The fast path accepts the form `UsageRecord.model_dump_json` writes (every producer's form): every
field present, strings, "YYYY-MM-DDTHH:MM:00Z" periods, plain decimal money, the tags object last.
Anything else (other datetime or number spellings, a missing default field, a chunk pyarrow refuses)
is left to the model, which may still accept it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from outlay.events import UsageRecord
from outlay.events.currencies import ISO_4217
from outlay.events.dead_letter import DeadLetter
from outlay.events.usage import CostKind, period_problem
from outlay.kafka.consumer import KafkaMessage, decode_messages
from outlay.spread import GRAIN_STEP
from outlay.store.models import ROLLUP_KEY, SERVICE_ROLLUP_KEY, RollupKeyHasher
from outlay.tenancy import tenant_problem
from services.ingest.ledger.rollups import ROLLUP_GRAINS, RollupAccumulator, spread_amounts, tags_hash
from services.ingest.ledger.writer import (
    ROLLUP_AMOUNTS,
    ROLLUP_COLUMNS,
    SERVICE_ROLLUP_COLUMNS,
    USAGE_COLUMNS,
    LedgerWriter,
    PreparedBatch,
    PreparedRows,
    WriteResult,
    summary_of,
    tags_json,
    usage_values,
)

FIELDS: tuple[str, ...] = tuple(UsageRecord.model_fields)
# Present and a string on the fast path: the required fields, and those whose default a dump always
# writes out (the model tells absent from null there; Arrow does not).
_NOT_NULL: tuple[str, ...] = ("record_id", "tenant_id", "source", "source_ref", "cost_kind", "provider")
_NOT_NULL += ("charge_period_start", "charge_period_end", "billing_account_id", "service", "charge_category")
_NOT_NULL += ("billed_cost", "effective_cost", "list_cost", "currency")
_OPTIONAL = ("sub_account_id", "region", "service_category", "resource_id", "usage_type", "consumed_unit")
_MONEY = ("billed_cost", "effective_cost", "list_cost")
_NANOS = ("billed_nanos", "effective_nanos", "list_nanos")
if set(FIELDS) != {*_NOT_NULL, *_OPTIONAL, "consumed_quantity", "tags"}:
    raise RuntimeError("UsageRecord has changed: update the column-wise ledger path")
# Every field but tags as a string (a number or an object there fails the chunk: the model decides);
# the tags object is inferred (a struct), and its text is read apart to keep its key order.
_SCHEMA = pa.schema([(name, pa.string()) for name in FIELDS if name != "tags"])
# The tags object closing the message, as a dump writes it. `,"tags":` cannot sit inside a string
# (its quotes would be escaped); pyarrow then confirms the message is one object whose members are
# the model's fields, and a tags object holding no object, so the match is the top-level tags.
# A dump's last field is its tags object, flat (string values): `_cut_tags` takes it from its last `,"tags":{`.
_TAGS_KEY = b',"tags":{'
_NO_TAGS = b',"tags":{}}'
_MAX_BRACKETS = 16  # "[" and "{" characters (in strings too) a message may hold and still be read by pyarrow
_DATETIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00Z$"  # whole minutes in UTC, as a dump writes them
_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Money as a dump writes it. Nine integer digits keep the nano-units inside int64; at most 28
# significant digits (checked apart) keep `to_nanos`'s Decimal product exact in the default context.
_MONEY_TEXT = r"^(?P<sign>-?)(?P<units>\d{1,9})(?:\.(?P<frac>\d{1,36}))?$"
_MONEY_DIGITS = 28
_FRACTION = 36
_QUANTITY_TEXT = r"^-?\d+(?:\.\d+)?$"  # stored as the Decimal of its text: any plain decimal is exact
_INT64_MAX = 2**63 - 1
_MIN_CHUNK = 64  # a chunk pyarrow refuses is halved down to this size, then left to the model
_KEY_REST = ROLLUP_KEY[2:]  # a rollup key without grain and bucket: the record's own fields
_TIMESTAMP = pa.timestamp("s")
_FIRST_INSTANT = datetime(1, 1, 1)  # Python's first: Arrow parses year 0, which no datetime holds

log = logging.getLogger(__name__)
TagSets = dict[str, tuple[dict[str, str], str]]  # tags hash -> (tags, JSON text the rows carry)


def prepare_messages(
    writer: LedgerWriter, messages: Sequence[KafkaMessage]
) -> tuple[PreparedRows | PreparedBatch, list[DeadLetter]]:
    """The rows `writer` should write for `messages`, and the dead letters of the invalid ones.

    Same rows, rollups, summary and dead letters as `decode_messages` then `writer.prepare`. No I/O.
    """
    try:
        return _prepare_column_wise(writer, messages)
    except Exception:  # noqa: BLE001 - a surprise of the fast path must cost speed, never the batch
        log.exception("column-wise preparation failed: the batch takes the record path")
        records, dead = decode_messages(UsageRecord, messages)
        return writer.prepare(records), dead


def _prepare_column_wise(
    writer: LedgerWriter, messages: Sequence[KafkaMessage]
) -> tuple[PreparedRows | PreparedBatch, list[DeadLetter]]:
    values = [m.value for m in messages]
    table, positions = _parse(values)
    fast = set(positions)
    slow: list[tuple[int, UsageRecord]] = []
    dead: list[DeadLetter] = []
    for i, msg in enumerate(messages):
        if i not in fast:
            records, letters = decode_messages(UsageRecord, [msg])
            slow += [(i, rec) for rec in records]
            dead += letters
    rows = _prepare_rows(table, positions, slow, values)
    if rows is None:  # a case the columns cannot reproduce exactly: the whole batch takes the record path
        return writer.prepare(_in_message_order(values, positions, slow)), dead
    return rows, dead


def _in_message_order(
    values: Sequence[bytes | None], positions: list[int], slow: list[tuple[int, UsageRecord]]
) -> list[UsageRecord]:
    """Every valid message's record in message order, the fast ones decoded the old way."""
    ordered = list(slow) + [(pos, UsageRecord.model_validate_json(values[pos] or b"")) for pos in positions]
    ordered.sort(key=lambda item: item[0])
    return [rec for _, rec in ordered]


# --- parsing and checking --------------------------------------------------------------------------


def _parse(values: list[bytes | None]) -> tuple[pa.Table, list[int]]:
    """The messages the fast path takes, as checked columns (plus `tags_text`, `start`, `end`), and
    their positions in the batch."""
    text = _as_text(pa.array(values, pa.binary()))  # UTF-8 checked once: an invalid message is null
    utf8 = pc.is_valid(text).to_pylist() if text.null_count else [True] * len(values)
    cuts = {i: cut for i, v in enumerate(values) if utf8[i] and (cut := _cut_tags(v)) is not None}
    candidates = list(cuts)
    # pyarrow reads the messages with an empty tags object: a struct field per distinct tag key would cost
    # memory in messages x keys. The tags' own text is parsed once per distinct text (`parse_tags`).
    lines: list[bytes | None] = [None] * len(values)
    for i, (line, _) in cuts.items():
        lines[i] = line
    tables, kept = [], []
    for table, part in _read_chunks(lines, candidates):
        tables.append(table.drop_columns(["tags"]))
        kept += part
    if not tables:
        return _empty(), []
    tags = pa.array([cuts[i][1] for i in kept], pa.binary()).cast(pa.string())
    table = pa.concat_tables(tables).append_column("tags_text", tags)
    table = table.append_column("start", _timestamp(table["charge_period_start"]))
    table = table.append_column("end", _timestamp(table["charge_period_end"]))
    ok = _valid_rows(table)
    return table.filter(ok), [pos for pos, good in zip(kept, ok.to_pylist(), strict=True) if good]


def _cut_tags(value: bytes | None) -> tuple[bytes, bytes] | None:
    """(the message with an empty tags object, its tags object's text) when the message ends with a flat tags
    object and holds few brackets; None leaves the message to the model.

    A dump has two objects and no arrays; deep nesting is left to the model (pyarrow's reader recurses without
    a limit: 100,000 nested arrays crash the process). Plain bytes methods, once per message: Arrow's regex and
    substring kernels over the whole batch cost several times as much."""
    if value is None or value.count(b"[") + value.count(b"{") > _MAX_BRACKETS or not value.endswith(b"}}"):
        return None
    at = value.rfind(_TAGS_KEY)
    if at < 0:
        return None
    tags = value[at + len(_TAGS_KEY) - 1 : -1]  # from its "{" to its "}"
    if b"{" in tags[1:] or b"}" in tags[:-1]:
        return None  # an object inside the tags: not a flat tags object
    return value[:at] + _NO_TAGS, tags


def _empty() -> pa.Table:
    columns = {name: pa.array([], pa.string()) for name in (*_SCHEMA.names, "tags_text")}
    return pa.table({**columns, "start": pa.array([], _TIMESTAMP), "end": pa.array([], _TIMESTAMP)})


def _as_text(raw: pa.Array) -> pa.Array:
    """The values as UTF-8 text; a value that is not valid UTF-8 becomes null (the model refuses it)."""
    try:
        return raw.cast(pa.string())
    except pa.ArrowInvalid:
        return pa.array([v if v is not None and _utf8(v) else None for v in raw.to_pylist()], pa.string())


def _utf8(value: bytes) -> bool:
    try:
        value.decode()
    except UnicodeDecodeError:
        return False
    return True


def _read_chunks(values: list[bytes | None], positions: list[int]) -> Iterator[tuple[pa.Table, list[int]]]:
    """(table, positions of its rows) for the messages pyarrow reads as one model-shaped object each;
    a chunk it refuses is halved, and its last small pieces are left to the model."""
    if not positions:
        return
    table = _read_ndjson([values[i] or b"" for i in positions])
    if table is not None:
        yield table, positions
    elif len(positions) > _MIN_CHUNK:
        mid = len(positions) // 2
        yield from _read_chunks(values, positions[:mid])
        yield from _read_chunks(values, positions[mid:])


def _read_ndjson(lines: list[bytes]) -> pa.Table | None:
    data = b"\n".join(lines)
    options = pa_json.ReadOptions(use_threads=False, block_size=max(1 << 16, len(data) + 1))
    parse = pa_json.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="infer")
    try:
        table = pa_json.read_json(pa.BufferReader(data), read_options=options, parse_options=parse)
    except (pa.ArrowException, ValueError):
        return None  # not JSON, a number where a string belongs, a key twice...: the model decides
    if table.num_rows != len(lines) or table.schema.names != [*_SCHEMA.names, "tags"]:
        return None  # a line break inside a message, or an unknown field (the model forbids extras)
    if not pa.types.is_struct(table.schema.field("tags").type):
        return None
    return table


def _valid_rows(table: pa.Table) -> pa.Array:
    """Rows whose every field the model would accept, and would read as the columns do."""
    ok = pc.is_valid(table["start"])
    for name in (*_NOT_NULL, "end"):
        ok = pc.and_(ok, pc.is_valid(table[name]))
    checks = [
        pc.is_in(table["cost_kind"], pa.array([k.value for k in CostKind])),
        pc.is_in(table["currency"], pa.array(sorted(ISO_4217))),  # as the model would write it
        _valid_distinct(table["tenant_id"], lambda t: tenant_problem(t) is None),
        _valid_distinct(table["tags_text"], lambda t: parse_tags(t) is not None),
        *(_plain_money(table[name]) for name in _MONEY),
        pc.or_kleene(
            pc.is_null(table["consumed_quantity"]), pc.match_substring_regex(table["consumed_quantity"], _QUANTITY_TEXT)
        ),
        _valid_periods(table["start"], table["end"]),
    ]
    for check in checks:
        ok = pc.and_(ok, check)
    return pc.fill_null(ok, False).combine_chunks()


def _plain_money(texts: pa.ChunkedArray) -> pa.ChunkedArray:
    """`_MONEY_TEXT` with at most `_MONEY_DIGITS` significant digits."""
    digits = pc.utf8_ltrim(pc.replace_substring(texts, "-", ""), "0.")
    digits = pc.replace_substring(digits, ".", "")
    return pc.and_(pc.match_substring_regex(texts, _MONEY_TEXT), pc.less_equal(pc.utf8_length(digits), _MONEY_DIGITS))


def _valid_distinct(column: pa.ChunkedArray, valid: Callable[[str], bool]) -> pa.ChunkedArray:
    # A batch repeats a few tenants and tag sets: each distinct value is judged once.
    good = [v for v in pc.unique(column).to_pylist() if v is not None and valid(v)]
    return pc.is_in(column, pa.array(good, pa.string()))


class _Pairs(list[tuple[str, Any]]):
    """A JSON object's members in order (a list would not tell an object from an array)."""


def parse_tags(text: str) -> dict[str, str] | None:
    """A tags object's text as the model reads it; None when only the model should judge it (a key
    twice, a value that is not a string, an escaped surrogate, bad JSON)."""
    if "\\ud" in text.lower():
        return None  # decoders differ on lone surrogates
    try:
        pairs = json.loads(text, object_pairs_hook=_Pairs)
    except (ValueError, RecursionError):
        return None
    if not isinstance(pairs, _Pairs):
        return None
    tags = dict(pairs)
    if len(tags) != len(pairs) or not all(type(v) is str for v in tags.values()):
        return None
    return tags


def _timestamp(texts: pa.ChunkedArray) -> pa.ChunkedArray:
    """Naive UTC seconds of a dump's "YYYY-MM-DDTHH:MM:00Z", else null. The round trip to text
    refuses a date strptime would roll over (Feb 30). A batch repeats a few periods: each distinct
    text is parsed once."""
    distinct = pc.unique(texts)
    strict = pc.if_else(pc.match_substring_regex(distinct, _DATETIME), distinct, pa.scalar(None, pa.string()))
    parsed = pc.strptime(strict, format=_DATETIME_FORMAT, unit="s", error_is_null=True)
    same = pc.equal(pc.strftime(parsed, format=_DATETIME_FORMAT), strict)
    same = pc.and_(same, pc.greater_equal(parsed, pa.scalar(_FIRST_INSTANT, _TIMESTAMP)))  # year 0: no datetime
    checked = pc.if_else(pc.fill_null(same, False), parsed, pa.scalar(None, _TIMESTAMP))
    return pc.take(checked, pc.index_in(texts, distinct))


def _valid_periods(start: pa.ChunkedArray, end: pa.ChunkedArray) -> pa.ChunkedArray:
    # `period_problem` itself, once per distinct (start, end): a batch repeats a few periods.
    pairs = pa.table({"s": start, "e": end}).group_by(["s", "e"], use_threads=False).aggregate([])
    ok = pc.is_valid(start)
    for s, e in zip(pairs["s"].to_pylist(), pairs["e"].to_pylist(), strict=True):
        if s is not None and e is not None and period_problem(_aware(s), _aware(e)) is not None:
            same = pc.and_(pc.equal(start, pa.scalar(s, _TIMESTAMP)), pc.equal(end, pa.scalar(e, _TIMESTAMP)))
            ok = pc.and_(ok, pc.invert(same))
    return ok


def to_nanos_column(texts: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """`outlay.money.to_nanos` of each text (`_MONEY_TEXT`), once per distinct amount."""
    distinct = pc.unique(texts)
    return pc.take(_nanos_of(distinct), pc.index_in(texts, distinct))


def _nanos_of(texts: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """`outlay.money.to_nanos` of plain decimals (`_MONEY_TEXT`): nine places kept, the rest rounded
    half to even, as the Decimal arithmetic does."""
    parts = pc.extract_regex(texts, _MONEY_TEXT)
    frac = pc.utf8_rpad(pc.fill_null(pc.struct_field(parts, [2]), ""), _FRACTION, "0")
    digits = pc.binary_join_element_wise(pc.struct_field(parts, [1]), pc.utf8_slice_codeunits(frac, 0, 9), "")
    magnitude = pc.cast(digits, pa.int64())
    # Beyond the nine places: more than half rounds up, exactly half rounds to the even nano.
    rest, half = pc.utf8_slice_codeunits(frac, 9, _FRACTION), pa.scalar("5".ljust(_FRACTION - 9, "0"))
    odd = pc.equal(pc.bit_wise_and(magnitude, 1), 1)
    up = pc.or_(pc.greater(rest, half), pc.and_(pc.equal(rest, half), odd))
    magnitude = pc.add(magnitude, pc.cast(up, pa.int64()))
    return pc.if_else(pc.equal(pc.struct_field(parts, [0]), "-"), pc.negate(magnitude), magnitude)


# --- columns to rows -------------------------------------------------------------------------------


def _prepare_rows(
    table: pa.Table, positions: list[int], slow: list[tuple[int, UsageRecord]], values: Sequence[bytes | None]
) -> PreparedRows | None:
    """The batch's rows, or None when the columns cannot reproduce the record path exactly."""
    received = len(positions) + len(slow)
    all_positions, all_slow = positions, slow  # for `accepted`: every valid message, duplicates included
    table, positions, slow = _dedupe(table, positions, slow)
    tag_sets = _tag_sets(table, [rec for _, rec in slow])
    if tag_sets is None:
        return None
    for name, nanos in zip(_MONEY, _NANOS, strict=True):
        table = table.append_column(nanos, to_nanos_column(table[name]))
    acc = RollupAccumulator()
    slow_usage = _record_rows(acc, [rec for _, rec in slow])
    if not _sums_fit(table, acc):
        return None  # amounts so large that an int64 sum could overflow: Python's ints take them
    table = table.append_column("tags_hash", _hashes(table["tags_text"]))
    usage = _usage_table(table, tag_sets, slow_usage)
    rollups = _rollup_table(_contributions(table, acc), tag_sets)
    return PreparedRows.encoded(
        received=received,
        usage=usage,
        rollups=rollups,
        services=_service_table(rollups),
        result=_summary(received, table, [rec for _, rec in slow]),
        accepted=lambda: _in_message_order(values, all_positions, all_slow),
    )


def _dedupe(
    table: pa.Table, positions: list[int], slow: list[tuple[int, UsageRecord]]
) -> tuple[pa.Table, list[int], list[tuple[int, UsageRecord]]]:
    """`dedupe`: the first message of each (tenant, record id) in batch order, fast or not."""
    slow_keys = [(rec.tenant_id, rec.record_id) for _, rec in slow]
    ids = pa.table(
        {
            "tenant_id": pa.concat_arrays(
                [table["tenant_id"].combine_chunks(), pa.array([k[0] for k in slow_keys], pa.string())]
            ),
            "record_id": pa.concat_arrays(
                [table["record_id"].combine_chunks(), pa.array([k[1] for k in slow_keys], pa.string())]
            ),
        }
    )
    if ids.group_by(["tenant_id", "record_id"], use_threads=False).aggregate([]).num_rows == ids.num_rows:
        return table, positions, slow  # the common case: no id twice
    keys = list(zip(table["tenant_id"].to_pylist(), table["record_id"].to_pylist(), strict=True))
    order = sorted(
        [(pos, key, True, i) for i, (pos, key) in enumerate(zip(positions, keys, strict=True))]
        + [(pos, key, False, i) for i, ((pos, _), key) in enumerate(zip(slow, slow_keys, strict=True))]
    )
    seen: set[tuple[str, str]] = set()
    keep_fast, keep_slow = [False] * len(positions), [False] * len(slow)
    for _, key, is_fast, i in order:
        if key not in seen:
            seen.add(key)
            (keep_fast if is_fast else keep_slow)[i] = True
    kept = [p for p, k in zip(positions, keep_fast, strict=True) if k]
    return table.filter(pa.array(keep_fast)), kept, [item for item, k in zip(slow, keep_slow, strict=True) if k]


def _tag_sets(table: pa.Table, records: list[UsageRecord]) -> TagSets | None:
    """Each tag set's tags and JSON text; None when one set comes in two key orders (the record path
    writes the first one met for every row and bucket of the set, which depends on record order)."""
    sets: TagSets = {}
    for raw in pc.unique(table["tags_text"]).to_pylist():
        tags = parse_tags(raw)
        assert tags is not None  # rows with other tags were left to the model
        if sets.setdefault(tags_hash(tags), (tags, tags_json(tags)))[1] != tags_json(tags):
            return None
    for rec in records:
        if sets.setdefault(tags_hash(rec.tags), (rec.tags, tags_json(rec.tags)))[1] != tags_json(rec.tags):
            return None
    return sets


def _hashes(texts: pa.ChunkedArray) -> pa.Array:
    """`tags_hash` per row, computed once per distinct tags text."""
    distinct = pc.unique(texts)
    digests = [tags_hash(parse_tags(t) or {}) for t in distinct.to_pylist()]
    return pc.take(pa.array(digests, pa.string()), pc.index_in(texts, distinct))


def _sums_fit(table: pa.Table, acc: RollupAccumulator) -> bool:
    """Whether no rollup sum can leave int64: Arrow's integer sums wrap silently, Python's do not
    (the store then refuses the amount, and the record path isolates it)."""
    bound = sum(inc.records for inc in acc.increments.values()) + table.num_rows
    top = max([pc.max(pc.abs(table[n])).as_py() or 0 for n in _NANOS] + [0])
    slow = max(
        [abs(a) for inc in acc.increments.values() for a in (inc.billed_nanos, inc.effective_nanos, inc.list_nanos)]
        + [0]
    )
    return max(top, slow) * max(bound, 1) <= _INT64_MAX


def _record_rows(acc: RollupAccumulator, records: list[UsageRecord]) -> list[tuple[Any, ...]]:
    """The model's records' rows as `LedgerWriter.prepare` builds them; their increments go into `acc`."""
    rows = []
    for rec in records:
        start, end = acc.naive_period(rec)
        rows.append(usage_values(rec, start, end, acc.amounts(rec), tags_json(rec.tags)))
        acc.add_record(rec)
    return rows


def _usage_table(table: pa.Table, tag_sets: TagSets, slow_rows: list[tuple[Any, ...]]) -> pa.Table:
    """usage_records rows in USAGE_COLUMNS order (consumed_quantity as its text), sorted by id."""
    hashes = pc.unique(table["tags_hash"])
    texts = pa.array([tag_sets[h][1] for h in hashes.to_pylist()], pa.string())
    columns: dict[str, Any] = {}
    for name in USAGE_COLUMNS:
        if name in ("charge_period_start", "charge_period_end"):
            columns[name] = table["start" if name == "charge_period_start" else "end"]
        elif name == "tags":
            columns[name] = pc.take(texts, pc.index_in(table["tags_hash"], hashes))
        elif name in _OPTIONAL:
            columns[name] = pc.fill_null(table[name], "")
        else:
            columns[name] = table[name]
    fast = pa.table(columns)
    if slow_rows:
        lists = [list(col) for col in zip(*slow_rows, strict=True)]
        quantity = USAGE_COLUMNS.index("consumed_quantity")
        lists[quantity] = [None if q is None else format(q, "f") for q in lists[quantity]]
        fast = pa.concat_tables([fast, pa.table(lists, schema=fast.schema)])
    return fast.sort_by([("tenant_id", "ascending"), ("record_id", "ascending")])


def _contributions(table: pa.Table, acc: RollupAccumulator) -> pa.Table:
    """(grain, bucket, key, amounts, records) parts to sum per rollup key: a row inside one bucket of
    a grain is one part; a longer one (a daily line's hours, a monthly fee) is spread as the record
    path spreads it; the model's records come with their increments."""
    keyed = {name: pc.fill_null(table[name], "") if name in _OPTIONAL else table[name] for name in _KEY_REST}
    parts: list[pa.Table] = []
    spread_rows: list[tuple[Any, ...]] = []
    for grain in ROLLUP_GRAINS:
        bucket = pc.floor_temporal(table["start"], 1, grain.value)
        inside = pc.less_equal(table["end"], pc.add(bucket, pa.scalar(GRAIN_STEP[grain], pa.duration("s"))))
        whole = {
            "grain": pa.repeat(pa.scalar(grain.value, pa.string()), table.num_rows),
            "period_start": bucket,
            **keyed,
            **{name: table[name] for name in _NANOS},
            "records": pa.repeat(pa.scalar(1, pa.int64()), table.num_rows),
        }
        parts.append(pa.table(whole).filter(inside))
        longer = pa.table({**keyed, **{n: table[n] for n in _NANOS}, "start": table["start"], "end": table["end"]})
        for row in longer.filter(pc.invert(inside)).to_pylist():
            amounts = (row["billed_nanos"], row["effective_nanos"], row["list_nanos"])
            rest = tuple(row[n] for n in _KEY_REST)
            spread_rows += [
                (grain.value, when, *rest, *shares, 1)
                for when, shares in spread_amounts(amounts, row["start"], row["end"], grain)
            ]
    spread_rows += [
        (*key, inc.billed_nanos, inc.effective_nanos, inc.list_nanos, inc.records)
        for key, inc in acc.increments.items()
    ]
    if spread_rows:
        parts.append(pa.table([list(c) for c in zip(*spread_rows, strict=True)], schema=parts[0].schema))
    return pa.concat_tables(parts)


def _rollup_table(parts: pa.Table, tag_sets: TagSets) -> pa.Table:
    """cost_rollups rows in ROLLUP_COLUMNS order, sorted by key_hash (the row path's lock order)."""
    sums = parts.group_by(list(ROLLUP_KEY), use_threads=False).aggregate([(n, "sum") for n in ROLLUP_AMOUNTS])
    hasher = RollupKeyHasher()  # per bucket; the key's other fields are hashed once per batch
    rests = zip(*(sums[n].to_pylist() for n in ROLLUP_KEY[2:]), strict=True)
    digests = hasher.digests(sums[ROLLUP_KEY[0]].to_pylist(), sums[ROLLUP_KEY[1]].to_pylist(), rests)
    distinct = pc.unique(sums["tags_hash"])
    texts = pa.array([tag_sets[h][1] for h in distinct.to_pylist()], pa.string())
    columns = {
        **{n: sums[n] for n in ROLLUP_KEY},
        "key_hash": pa.array(digests, pa.binary()),
        "tags": pc.take(texts, pc.index_in(sums["tags_hash"], distinct)),
        **{n: sums[f"{n}_sum"] for n in ROLLUP_AMOUNTS},
    }
    assert tuple(columns) == ROLLUP_COLUMNS
    return pa.table(columns).sort_by([("key_hash", "ascending")])


def _service_table(rollups: pa.Table) -> pa.Table:
    """cost_rollups_service rows: the rollups summed per service key, sorted by key (the lock order)."""
    sums = rollups.group_by(list(SERVICE_ROLLUP_KEY), use_threads=False).aggregate([(n, "sum") for n in ROLLUP_AMOUNTS])
    table = pa.table({**{n: sums[n] for n in SERVICE_ROLLUP_KEY}, **{n: sums[f"{n}_sum"] for n in ROLLUP_AMOUNTS}})
    assert tuple(table.schema.names) == SERVICE_ROLLUP_COLUMNS
    return table.sort_by([(n, "ascending") for n in SERVICE_ROLLUP_KEY])


def _summary(received: int, table: pa.Table, records: list[UsageRecord]) -> WriteResult:
    """`summarize` of the unique rows, every one written: the distinct facts of the rows, read once per distinct
    (start, end, kind, tenant) from the columns, with the records'."""
    facts = {(r.charge_period_start, r.charge_period_end, r.cost_kind.value, r.tenant_id) for r in records}
    distinct = table.group_by(["start", "end", "cost_kind", "tenant_id"], use_threads=False).aggregate([])
    for start, end, kind, tenant in zip(*(distinct[n].to_pylist() for n in distinct.column_names), strict=True):
        facts.add((_aware(start), _aware(end), kind, tenant))
    return summary_of(received, table.num_rows + len(records), facts)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def usage_tuples(usage: pa.Table) -> list[tuple[Any, ...]]:
    """The usage rows as `LedgerWriter.prepare` builds them for COPY (consumed_quantity a Decimal)."""
    lists = [usage[name].to_pylist() for name in USAGE_COLUMNS]
    quantity = USAGE_COLUMNS.index("consumed_quantity")
    lists[quantity] = [None if q is None else Decimal(q) for q in lists[quantity]]
    return list(zip(*lists, strict=True))
