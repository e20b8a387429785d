"""The ledger's column-wise path gives what decoding each message and `LedgerWriter.prepare` give.

Every test compares the two paths on the same messages: usage rows, rollup rows (with key_hash),
service rollup rows, the summary and the dead letters must be equal, not just plausible.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from outlay.events import DeadLetter, UsageRecord
from outlay.kafka.consumer import decode_messages
from outlay.money import to_nanos
from outlay.settings import Settings
from services.ingest.ledger import columnar
from services.ingest.ledger.columnar import parse_tags, prepare_messages, to_nanos_column, usage_tuples
from services.ingest.ledger.writer import (
    ROLLUP_COLUMNS,
    SERVICE_ROLLUP_COLUMNS,
    LedgerWriter,
    PreparedBatch,
    PreparedRows,
    WriteResult,
    summarize,
)
from services.ingest.live.generator import generate
from services.ingest.live.profiles import demo_company
from services.ingest.sources.detect import parser_for
from services.ingest.sources.tabular import iter_table
from tests.integration.ledger_support import usage

BATCH = Settings.model_fields["ledger_batch_size"].default  # the ledger's batch size


@dataclass
class Message:
    """What the ledger reads of a Kafka message."""

    value: bytes | None
    offset: int = 0
    topic: str = "outlay.usage.v1"
    partition: int = 0
    key: bytes | None = b"k"
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class Prepared:
    """Either path's output, in one comparable form."""

    usage: list[tuple[Any, ...]]
    rollups: list[tuple[Any, ...]]
    services: list[tuple[Any, ...]]
    result: WriteResult
    dead: list[DeadLetter]


@pytest.fixture(scope="module")
def writer() -> Iterator[LedgerWriter]:
    # The COPY writer (an asyncpg engine that never connects here): the column-wise path needs it.
    engine: AsyncEngine = create_async_engine("postgresql+asyncpg://ledger@127.0.0.1/none")
    ledger = LedgerWriter(engine)
    assert ledger.copies
    yield ledger


def _table_rows(table: pa.Table, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    return list(zip(*(table[c].to_pylist() for c in columns), strict=True))


def _comparable(prepared: PreparedBatch | PreparedRows, dead: list[DeadLetter]) -> Prepared:
    if isinstance(prepared, PreparedRows):
        return Prepared(
            usage_tuples(prepared.usage),
            _table_rows(prepared.rollups, ROLLUP_COLUMNS),
            _table_rows(prepared.services, SERVICE_ROLLUP_COLUMNS),
            prepared.result,
            dead,
        )
    result = summarize(prepared.received, prepared.records, prepared.records)
    return Prepared(prepared.usage_rows, prepared.rollup_rows, prepared.service_rows, result, dead)


def row_path(writer: LedgerWriter, messages: Sequence[Message]) -> Prepared:
    records, dead = decode_messages(UsageRecord, messages)
    return _comparable(writer.prepare(records), dead)


def column_path(writer: LedgerWriter, messages: Sequence[Message]) -> tuple[Prepared, bool]:
    prepared, dead = prepare_messages(writer, messages)
    return _comparable(prepared, dead), isinstance(prepared, PreparedRows)


def _letters(dead: list[DeadLetter]) -> list[dict[str, Any]]:
    return [letter.model_dump(exclude={"rejected_at"}) for letter in dead]


def assert_same(writer: LedgerWriter, values: Sequence[bytes | None], *, columnar: bool = True) -> Prepared:
    """Both paths agree on `values`; `columnar`: the batch stayed on the column-wise path."""
    messages = [Message(v, offset=i) for i, v in enumerate(values)]
    expected = row_path(writer, messages)
    got, stayed = column_path(writer, messages)
    assert stayed == columnar
    assert got.usage == expected.usage
    assert got.rollups == expected.rollups
    assert got.services == expected.services
    assert got.result == expected.result
    assert _letters(got.dead) == _letters(expected.dead)
    return got


@pytest.fixture
def model_decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many messages the column-wise path left to the model (one entry per message)."""
    calls: list[int] = []
    real = columnar.decode_messages

    def counted(event: type[UsageRecord], messages: Sequence[Any]) -> Any:
        calls.append(len(messages))
        return real(event, messages)

    monkeypatch.setattr(columnar, "decode_messages", counted)
    return calls


def assert_same_in_batches(writer: LedgerWriter, values: list[bytes], model_decodes: list[int], every: int = 1) -> None:
    """Equal in ledger-sized batches (each `every`th one), and every message a dump: none left to the model."""
    assert values
    for start in range(0, len(values), BATCH * every):
        assert_same(writer, values[start : start + BATCH])
    assert sum(model_decodes) == 0


def dumped(records: Sequence[UsageRecord]) -> list[bytes]:
    return [rec.model_dump_json().encode() for rec in records]


def export_records(paths: Sequence[Path]) -> list[UsageRecord]:
    records: list[UsageRecord] = []
    for path in paths:
        columns, rows = iter_table(path)
        records += [r for r in parser_for(columns).parse(rows, path.as_uri()) if isinstance(r, UsageRecord)]
    return records


# --- real data -------------------------------------------------------------------------------------


def test_workshop_cur_in_batches(writer: LedgerWriter, shared_data: Path, model_decodes: list[int]) -> None:
    # December's 91,264 records, every fourth of its ledger batches: the three months share a schema, and all of
    # them took 72 s here.
    files = sorted((shared_data / "cur_samples" / "wa_labs_workshop_cur" / "cur" / "data").glob("*/month=12/*.parquet"))
    if not files:
        pytest.skip("WorkshopCUR parquet files not found")
    records = export_records(files)
    assert len(records) == 91_264
    assert_same_in_batches(writer, dumped(records), model_decodes, every=4)


def test_focus_sample_in_batches(writer: LedgerWriter, shared_data: Path, model_decodes: list[int]) -> None:
    path = shared_data / "focus_sample" / "focus_sample.csv"
    if not path.is_file():
        pytest.skip("FOCUS sample not found")
    records = export_records([path])
    assert_same_in_batches(writer, dumped(records), model_decodes)


def test_live_generator_minutes(writer: LedgerWriter, model_decodes: list[int]) -> None:
    start = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)  # across a day boundary
    records = list(generate(demo_company(), start, start + timedelta(hours=2)))
    assert records and all(r.cost_kind == "estimated" for r in records)
    assert_same_in_batches(writer, dumped(records), model_decodes)


def test_spread_lines_and_other_tenants(writer: LedgerWriter, model_decodes: list[int]) -> None:
    """Daily and monthly lines are spread over hours and days; several tenants in one batch."""
    records = [usage(i, hours=(1, 24, 24 * 31, 7)[i % 4]) for i in range(400)]
    records += [r.model_copy(update={"tenant_id": f"acme-{i % 3}"}) for i, r in enumerate(records[:100])]
    got = assert_same(writer, dumped(records))
    assert sum(model_decodes) == 0
    assert got.result.tenant_ids == ("acme-0", "acme-1", "acme-2", "default")


# --- edge cases: each message alone, and mixed into a batch of good ones ---------------------------


ODD_ID = "rec-0999999"  # the edge cases' record id: no good message of a test batch has it


def _good() -> dict[str, Any]:
    return json.loads(usage(999_999).model_dump_json())


def _text(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, separators=(",", ":")).encode()


def _with(**changes: Any) -> bytes:
    return _text({**_good(), **changes})


def _without(name: str) -> bytes:
    fields = _good()
    del fields[name]
    return _text(fields)


def _good_text_with_tags(tags_text: str) -> bytes:
    text = _with(tags={"placeholder": "x"})
    return text.replace(b'{"placeholder":"x"}', tags_text.encode())


def _tags_first() -> bytes:
    fields = _good()
    return _text({"tags": {"a": "b"}, **{k: v for k, v in fields.items() if k != "tags"}})


EDGE_CASES: dict[str, bytes | None] = {
    "extra field": _with(colour="blue"),
    "extra null field": _with(colour=None),
    "missing record_id": _without("record_id"),
    "missing tags (default)": _without("tags"),
    "missing tenant (default)": _without("tenant_id"),
    "null tenant": _with(tenant_id=None),
    "null source_ref": _with(source_ref=None),
    "number for a string": _with(service=7),
    "number for money": _with(billed_cost=1.25),
    "bool for a string": _with(region=True),
    "bad currency": _with(currency="XXX"),
    "lower-case currency": _with(currency="eur"),
    "bad cost_kind": _with(cost_kind="guessed"),
    "datetime with offset": _with(charge_period_start="2024-10-01T02:00:00+02:00"),
    "datetime with seconds": _with(charge_period_start="2024-10-01T00:00:30Z"),
    "fractional datetime": _with(charge_period_start="2024-10-01T00:00:00.000Z"),
    "naive datetime": _with(charge_period_start="2024-10-01T00:00:00"),
    "february 30": _with(charge_period_start="2024-02-30T00:00:00Z"),
    "period too long": _with(charge_period_start="2020-01-01T00:00:00Z", charge_period_end="2024-01-01T00:00:00Z"),
    "end before start": _with(charge_period_start="2024-10-02T00:00:00Z", charge_period_end="2024-10-01T00:00:00Z"),
    "empty period": _with(charge_period_end="2024-10-01T00:00:00Z", charge_period_start="2024-10-01T00:00:00Z"),
    "money with exponent": _with(billed_cost="1.5E-7"),
    "money past nine places": _with(billed_cost="0.00000000250", effective_cost="-0.0000000035"),
    "money past 18 places": _with(billed_cost="0.0000000025000000001"),
    "money of 28 digits": _with(billed_cost="1.000000000500000000000000000"),
    "money of 29 digits": _with(billed_cost="10.000000000500000000000000001"),
    "huge money": _with(billed_cost="12345678901234567890.5"),
    "quantity with exponent": _with(consumed_quantity="1E+2"),
    "quantity as number": _with(consumed_quantity=3),
    "tags with a number": _with(tags={"team": 1}),
    "tags with a null": _with(tags={"team": None}),
    "nested tags": _with(tags={"team": {"a": "b"}}),
    "tags with braces": _with(tags={"team": "{x}"}),
    "tags escaped": _with(tags={"t\u00e9am": 'a"b\\c\u2028', "emoji": "\U0001f600"}),
    "tags key twice": _good_text_with_tags('{"a":"1","a":"2"}'),
    "tags lone surrogate": _good_text_with_tags('{"a":"\\ud800"}'),
    "tags not last": _tags_first(),
    "invalid tenant": _with(tenant_id="Acme Corp"),
    "tenant with newline": _with(tenant_id="acme\n"),
    "other tenant": _with(tenant_id="acme-2"),
    "non-UTF-8": _with(service="EC2").replace(b"EC2", b"EC\xff"),
    "escaped surrogate pair": _with(service="\U0001f600").replace("\U0001f600".encode(), b"\\ud83d\\ude00"),
    "lone surrogate": _with(service="x").replace(b'"service":"x"', b'"service":"\\ud800"'),
    "control character": _with(service="x").replace(b'"service":"x"', b'"service":"a\tb"'),
    "pretty printed": json.dumps(_good(), indent=2).encode(),
    "comment": b"{/* c */" + _with()[1:],
    "trailing comma": _with(region="x").replace(b'"region":"x",', b'"region":"x",,'),
    "single quotes": _with(region="x").replace(b'"region":"x"', b"'region':'x'"),
    "spaces around": b"  " + _with() + b"  ",
    "escaped key": _with(region="x").replace(b'"region"', b'"\\u0072egion"'),
    "escaped tags key": _with(tags={"a": "b"}).replace(b'"tags"', b'"t\\u0061gs"'),
    "two objects": _with() + _with(),
    "array": b"[1, 2]",
    "not json": b"{nope",
    "whitespace": b"   ",
    "empty": b"",
    "tombstone": None,
    "year zero": _with(charge_period_start="0000-01-01T00:00:00Z", charge_period_end="0000-01-01T01:00:00Z"),
    "deep arrays in tags": _good_text_with_tags('{"a":' + "[" * 1000 + "]" * 1000 + "}"),
    "deep arrays in an extra field": _with(region="x").replace(
        b'"region":"x"', b'"region":"x","extra":' + b"[" * 100_000 + b"]" * 100_000
    ),
    "many brackets in strings": _with(region="[" * 40, resource_id="{" * 40),
}


# Amounts past int64 nano-units: the model accepts them (the store then refuses the row), and the
# batch takes the record path, whose Python ints cannot overflow a column-wise sum.
RECORD_PATH_CASES = {"huge money"}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_edge_case_alone(writer: LedgerWriter, case: str) -> None:
    assert_same(writer, [EDGE_CASES[case]], columnar=case not in RECORD_PATH_CASES)


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_edge_case_in_a_batch(writer: LedgerWriter, case: str) -> None:
    """One odd message among good ones: the good ones stay column-wise, the batch's rows are equal."""
    good = dumped([usage(i) for i in range(300)])
    values = [*good[:150], EDGE_CASES[case], *good[150:]]
    assert_same(writer, values, columnar=case not in RECORD_PATH_CASES)


def test_all_edge_cases_together(writer: LedgerWriter) -> None:
    good = dumped([usage(i, hours=1 + i % 30) for i in range(500)])
    values: list[bytes | None] = []
    for i, odd in enumerate(EDGE_CASES.values()):
        unique = None if odd is None else odd.replace(ODD_ID.encode(), f"rec-edge-{i}".encode())
        values += [*good[i * 10 : i * 10 + 10], unique]
    got = assert_same(writer, values, columnar=False)  # with the huge amount
    assert got.dead  # the invalid ones were dead-lettered, as the row path does


def test_duplicate_ids_keep_the_first(writer: LedgerWriter) -> None:
    records = [usage(i) for i in range(200)]
    changed = records[10].model_copy(update={"billed_cost": Decimal("99")})
    values = dumped([*records, changed, records[5]])
    # A duplicate only the model reads (a fractional-second period) comes first: it is the one kept.
    values.insert(3, values[50].replace(b':00:00Z"', b':00:00.000Z"', 1))
    got = assert_same(writer, values)
    assert got.result.written == 200 and got.result.duplicates == 3


def test_one_tag_set_in_two_orders_takes_the_record_path(writer: LedgerWriter) -> None:
    records = [usage(i).model_copy(update={"tags": {"a": "1", "b": "2"}}) for i in range(20)]
    records += [usage(i + 20).model_copy(update={"tags": {"b": "2", "a": "1"}}) for i in range(20)]
    assert_same(writer, dumped(records), columnar=False)


def test_nothing_valid(writer: LedgerWriter) -> None:
    got = assert_same(writer, [None, b"{}", b"nope"])
    assert got.result == WriteResult(0, 0, None, None) and len(got.dead) == 3


# --- the column-wise helpers -----------------------------------------------------------------------


def test_to_nanos_column_matches_to_nanos() -> None:
    texts = ["0", "-0", "1", "0.1", "22.32", "0.000000001", "0.0000000005", "0.0000000015", "0.00000000150"]
    texts += ["-0.0000000025", "-0.00000000250000001", "0.000000000499999999", "999999999.999999999999999999"]
    texts += [
        f"{sign}{units}.{frac}"
        for sign in ("", "-")
        for units in (0, 7, 123456789)
        for frac in ("5", "0000000005", "9999999995", "123456789012345678")
    ]
    assert to_nanos_column(pa.array(texts)).to_pylist() == [to_nanos(Decimal(t)) for t in texts]


def test_parse_tags_leaves_doubtful_text_to_the_model() -> None:
    assert parse_tags('{"b":"1","a":"2"}') == {"b": "1", "a": "2"}
    assert list(parse_tags('{"b":"1","a":"2"}') or {}) == ["b", "a"]  # the key order is kept
    for text in ('{"a":"1","a":"2"}', '{"a":1}', '{"a":null}', '{"a":"\\ud800"}', "[]", "{"):
        assert parse_tags(text) is None


def test_many_distinct_tag_keys_cost_what_they_cost_the_record_path(writer: LedgerWriter) -> None:
    """pyarrow never builds a column per tag key (a hostile batch of 1,000 messages with 100 keys each took
    1.4 GB that way): the batch stays column-wise and equal to the record path."""
    records = [usage(i).model_copy(update={"tags": {f"k{i}-{j}": "v" for j in range(100)}}) for i in range(1000)]
    prepared = assert_same(writer, dumped(records), columnar=True)
    assert prepared is not None


def test_a_surprise_in_the_column_wise_path_costs_speed_not_the_batch(
    writer: LedgerWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(values: Any) -> Any:
        raise OverflowError("a case nobody foresaw")

    monkeypatch.setattr(columnar, "_parse", broken)
    assert_same(writer, [*dumped([usage(i) for i in range(20)]), b"{nope"], columnar=False)
