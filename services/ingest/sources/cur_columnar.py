"""Legacy CUR parquet → `outlay.usage.v1` messages, column by column: no `UsageRecord` per row.

The row path (`CurParser.record`, then `model_dump_json`) costs ~30 µs of Python per row. Almost every cell of
a CUR file repeats (a few line types, hours, accounts, products, prices), so this path dictionary-encodes each
column of a record batch, runs the row path's *own* cell rules (`cells.text`, `cells.decimal`,
`CurParser.period`, `CurParser.service_of`, `EFFECTIVE_COST_RULES`, …) once per distinct value (or distinct
combination of values), turns each result into its piece of JSON with pydantic's own encoder, and assembles
every row's message with Arrow string kernels. What stays per row in Python is what is unique per row: the
record id (`FileScope.occurrence` + `FileScope.ids`, in file order) and handing out the bytes.

Exactness: the messages are byte for byte what `(record.key, record.model_dump_json().encode())` gives for the
row path's records (`tests/unit/test_cur_columnar.py` compares the two on WorkshopCUR and on files made to
break it). A row this path cannot prove identical goes through the row mapper itself, at its place in the
file: any cell whose rule fails or raises (a missing required cell, a bad amount or date, an unknown
currency: the row mapper then rejects the row with its usual reason), a negative usage amount (the
negative-usage rule is the row mapper's alone), or a batch with a column type this path does not handle.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic_core import to_json

from outlay.events.usage import CostKind
from outlay.tenancy import DEFAULT_TENANT
from services.ingest.sources.base import ExportParser, ParsedRow, RejectedRow
from services.ingest.sources.cells import currency, decimal, text
from services.ingest.sources.cur_legacy import EFFECTIVE_COST_RULES, CurParser, EffectiveCostRule
from services.ingest.sources.rowloop import FileScope, parse_row
from services.ingest.sources.tabular import batch_row, batch_rows

Message = tuple[bytes, bytes]  # (Kafka key, value)


@dataclass
class EncodedBatch:
    """One record batch of a file, mapped: accepted rows as encoded messages, rejected rows as today."""

    rows: int  # rows read (accepted + rejected)
    messages: list[Message] = field(default_factory=list)  # accepted rows, in file order
    costs: dict[str, list[Decimal]] = field(default_factory=dict)  # their billed costs per currency, in order
    rejected: list[RejectedRow] = field(default_factory=list)  # in file order


def columnar_cur(parser: ExportParser) -> CurParser | None:
    """`parser` when this module can map its files (legacy CUR exactly, not CUR 2.0 nor FOCUS), else None."""
    if type(parser) is not CurParser:
        return None
    keys = [key for _, key in parser.tag_columns]
    if len(set(keys)) != len(keys):
        return None  # two columns giving one tag key: the row path's dict decides which wins
    return parser


def encode_batches(
    parser: CurParser, batches: Iterator[pa.RecordBatch], uri: str, tenant_id: str = DEFAULT_TENANT
) -> Iterator[EncodedBatch]:
    """Map a legacy CUR file's record batches (projected to `parser.columns_needed`) to encoded messages."""
    encoder = _Encoder(parser, FileScope(uri, parser.format, tenant_id))
    for batch in batches:
        yield encoder.encode(batch)


# --- distinct values ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Distinct:
    """A batch column (or several) as its distinct values and, per row, the position of the row's value.

    `values` are Python values exactly as the row reader gives them (nulls are the last slot, None); for
    several columns they are tuples."""

    indices: pa.Array  # int64, no nulls
    values: list[Any]

    def map(self, rule: Callable[[Any], object], kind: pa.DataType = pa.string()) -> pa.Array:
        """`rule` of every row's value, computed once per distinct value; a rule that raises gives null."""
        return self.spread([_safely(rule, value) for value in self.values], kind)

    def spread(self, per_value: list[Any], kind: pa.DataType = pa.string()) -> pa.Array:
        """Per row, the entry of `per_value` (one per distinct value) for the row's value."""
        return pa.array(per_value, kind).take(self.indices)

    def where(self, mask: pa.Array) -> _Distinct:
        return _Distinct(self.indices.filter(mask), self.values)


def _safely(rule: Callable[[Any], object], value: object) -> object:
    try:
        return rule(value)
    except Exception:  # noqa: BLE001 - the row then takes the row path, which raises or rejects as it would
        return None


def _distinct(column: pa.Array) -> _Distinct:
    # Arrow's dictionary keeps -0.0 apart from 0.0 and every string byte for byte, so equal keys are equal cells.
    encoded = column.dictionary_encode()
    values: list[Any] = encoded.dictionary.to_pylist()
    values.append(None)
    indices = pc.fill_null(encoded.indices, len(values) - 1).cast(pa.int64())
    return _Distinct(indices, values)


def _absent(rows: int) -> _Distinct:
    return _Distinct(pa.nulls(rows, pa.int64()).fill_null(0), [None])


def _together(*columns: _Distinct) -> _Distinct:
    """The distinct combinations of several columns' values (tuples), per row."""
    codes = columns[0].indices
    values: list[tuple[Any, ...]] = [(value,) for value in columns[0].values]
    for column in columns[1:]:
        size = len(column.values)
        # codes < len(values) <= rows + 1 and indices < size <= rows + 1: the product fits an int64.
        encoded = pc.add(pc.multiply(codes, size), column.indices).dictionary_encode()
        values = [values[code // size] + (column.values[code % size],) for code in encoded.dictionary.to_pylist()]
        codes = encoded.indices.cast(pa.int64())
    return _Distinct(codes, values)


# --- JSON pieces ----------------------------------------------------------------------------------------


def _json(value: object) -> str:
    """`value` as pydantic writes it in a model's JSON (strings escaped its way, datetimes as …Z)."""
    return to_json(value).decode()


def _money(amount: Decimal) -> str:
    return '"' + format(amount, "f") + '"'  # `Money`'s serializer: fixed-point text, never needs escaping


def _optional_text(name: str) -> Callable[[object], str]:
    prefix = f'"{name}":'
    return lambda value: prefix + ("null" if (cleaned := text(value)) is None else _json(cleaned)) + ","


def _required_text(name: str) -> Callable[[object], str | None]:
    prefix = f'"{name}":'
    return lambda value: None if (cleaned := text(value)) is None else prefix + _json(cleaned) + ","


_SUPPORTED: tuple[Callable[[pa.DataType], bool], ...] = (
    pa.types.is_string,
    pa.types.is_large_string,
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_timestamp,
)


class _Encoder:
    def __init__(self, parser: CurParser, scope: FileScope) -> None:
        self.parser = parser
        self.scope = scope
        self._next_row = 1
        # Everything between the record id and the row number, and between the row number and the periods.
        self.after_id = (
            f'","tenant_id":{_json(scope.tenant_id)},"source":{_json(parser.format)},'
            f'"source_ref":"{_json(scope.uri)[1:-1]}#'  # "#<digits>" needs no escaping: the URI's escape + them
        )
        self.after_number = f'","cost_kind":{_json(CostKind.BILLED)},"provider":"AWS",'  # as `CurParser.record`
        self.unblended_column = parser.name("line_item_unblended_cost")
        self.currency_column = parser.name("line_item_currency_code")

    def encode(self, batch: pa.RecordBatch) -> EncodedBatch:
        first = self._next_row
        self._next_row += batch.num_rows
        if not all(any(check(kind) for check in _SUPPORTED) for kind in batch.schema.types):
            return self._row_by_row(batch, first)
        return _BatchEncoder(self, batch, first).encode()

    def _row_by_row(self, batch: pa.RecordBatch, first: int) -> EncodedBatch:
        out = EncodedBatch(rows=batch.num_rows)
        for number, row in enumerate(batch_rows(batch), start=first):
            _add_parsed(out, self.row_path(row, number))
        return out

    def row_path(self, row: dict[str, object], number: int) -> ParsedRow:
        """The row path's own mapping of one row (its error handling too: a rejection is exactly the row path's),
        with this file's scope and the row's number in the file."""
        return parse_row(self.parser, row, number, self.scope)


def _add_parsed(out: EncodedBatch, parsed: ParsedRow) -> None:
    if isinstance(parsed, RejectedRow):
        out.rejected.append(parsed)
        return
    out.messages.append((parsed.key, parsed.model_dump_json().encode()))
    out.costs.setdefault(parsed.currency, []).append(parsed.billed_cost)


class _BatchEncoder:
    """One record batch through the column-wise mapping."""

    def __init__(self, encoder: _Encoder, batch: pa.RecordBatch, first: int) -> None:
        self._encoder = encoder
        self._parser = encoder.parser
        self._batch = batch
        self._first = first
        self._rows = batch.num_rows
        self._columns: dict[str, _Distinct] = {}

    def _column(self, file_column: str | None) -> _Distinct:
        if file_column is None:
            return _absent(self._rows)
        found = self._columns.get(file_column)
        if found is None:
            found = self._columns[file_column] = _distinct(self._batch.column(file_column))
        return found

    def _canonical(self, canonical: str) -> _Distinct:
        return self._column(self._parser.column(canonical))

    def _cells(self, canonicals: Sequence[str]) -> tuple[list[str], _Distinct]:
        """The present columns among `canonicals` (file names) and their distinct combinations."""
        names = [name for c in canonicals if (name := self._parser.column(c)) is not None]
        if not names:
            return [], _Distinct(_absent(self._rows).indices, [()])
        return names, _together(*(self._column(name) for name in names))

    def encode(self) -> EncodedBatch:
        parser = self._parser
        line_type = self._canonical("line_item_line_item_type")
        line_item_id = self._canonical("identity_line_item_id").map(text)
        interval = self._canonical("identity_time_interval").map(text)
        payer = self._canonical("bill_payer_account_id")
        unblended = self._canonical("line_item_unblended_cost")
        unblended_decimals: list[Any] = [_safely(self._unblended, value) for value in unblended.values]
        service_names, services = self._cells(("product_product_name", "line_item_product_code"))
        service_of = _row_rule(service_names, parser.service_of)
        service = services.map(lambda cells: service_of(cells)[0])
        currencies = self._canonical("line_item_currency_code")
        currency_codes = currencies.map(self._currency)

        # Every field after the record id (which is made per row, once the rows the row mapper takes are known).
        pieces: list[pa.Array | str] = [
            self._encoder.after_id,
            pa.array(range(self._first, self._first + self._rows)).cast(pa.string()),
            self._encoder.after_number,
            self._periods(),
            payer.map(_required_text("billing_account_id")),
            self._canonical("line_item_usage_account_id").map(_optional_text("sub_account_id")),
            self._region(),
            services.map(lambda cells: '"service":{},"service_category":{},'.format(*map(_json, service_of(cells)))),
            self._canonical("line_item_resource_id").map(_optional_text("resource_id")),
            self._canonical("line_item_usage_type").map(_optional_text("usage_type")),
            line_type.map(_required_text("charge_category")),
            self._canonical("line_item_usage_amount").map(self._quantity),
            self._canonical("pricing_unit").map(_optional_text("consumed_unit")),
            unblended.spread([None if amount is None else _billed(amount) for amount in unblended_decimals]),
            self._effective(line_type, unblended),
            self._list_cost(unblended),
            currencies.map(lambda value: f'"currency":"{self._currency(value)}",'),  # ISO 4217: no escaping
            self._tags(),
        ]
        key = pc.binary_join_element_wise(payer.map(text), service, "|")
        occurrence_key = pc.binary_join_element_wise(line_item_id, interval, "\x1f")
        tail = pc.binary_join_element_wise(*pieces, "")
        # A row is done here when every piece and its id's parts are: a null anywhere sends it to the row path.
        mapped = pc.and_(pc.is_valid(tail), pc.and_(pc.is_valid(key), pc.is_valid(occurrence_key)))
        return self._assemble(
            tail,
            mapped,
            key,
            occurrence_key,
            unblended.indices,
            unblended_decimals,
            currency_codes,
        )

    def _assemble(
        self,
        tail: pa.Array,
        mapped: pa.Array,
        key: pa.Array,
        occurrence_key: pa.Array,
        unblended_indices: pa.Array,
        unblended_decimals: list[Any],
        currency_codes: pa.Array,
    ) -> EncodedBatch:
        scope = self._encoder.scope
        out = EncodedBatch(rows=self._rows)
        done = mapped.to_pylist()
        all_done = all(done)
        slow: dict[int, ParsedRow] = {}
        # Occurrences are counted in file order, the row mapper's rows included (it counts its own).
        occurrence = scope.occurrence
        counts: list[int | None] = []
        if all_done:
            counts.extend(occurrence(k) for k in occurrence_key.to_pylist())
        else:
            for index, (ok, k) in enumerate(zip(done, occurrence_key.to_pylist(), strict=True)):
                if ok:
                    counts.append(occurrence(k))
                else:
                    counts.append(None)
                    slow[index] = self._encoder.row_path(batch_row(self._batch, index), self._first + index)
        # The id's parts (line item id, interval, occurrence) joined as `RecordIds` joins them.
        id_texts = pc.binary_join_element_wise(occurrence_key, pa.array(counts, pa.int64()).cast(pa.string()), "\x1f")
        of_joined = scope.ids.of_joined
        record_ids = [None if t is None else of_joined(t) for t in id_texts.cast(pa.binary()).to_pylist()]
        values = pc.binary_join_element_wise('{"record_id":"', pa.array(record_ids, pa.string()), tail, "")
        values = values.cast(pa.binary()).to_pylist()
        keys = key.cast(pa.binary()).to_pylist()
        billed = [unblended_decimals[i] for i in unblended_indices.to_pylist()]
        codes = currency_codes.to_pylist()
        if all_done and len(set(codes)) == 1:
            out.messages = list(zip(keys, values, strict=True))
            out.costs[codes[0]] = billed
            return out
        for index, ok in enumerate(done):
            if ok:
                out.messages.append((keys[index], values[index]))
                out.costs.setdefault(codes[index], []).append(billed[index])
            else:
                _add_parsed(out, slow[index])
        return out

    # --- fields -------------------------------------------------------------------------------------

    def _unblended(self, value: object) -> Decimal:
        amount = decimal(value, self._encoder.unblended_column)
        if amount is None:
            raise ValueError("missing")  # required: the row path rejects it
        return amount

    def _currency(self, value: object) -> str:
        return currency(value, self._encoder.currency_column)

    def _periods(self) -> pa.Array:
        starts = self._canonical("line_item_usage_start_date")
        ends = self._canonical("line_item_usage_end_date")

        def piece(cells: tuple[object, object]) -> str:
            start, end = self._parser.period(*cells)
            return f'"charge_period_start":{_json(start)},"charge_period_end":{_json(end)},'

        return _together(starts, ends).map(piece)

    def _region(self) -> pa.Array:
        names, cells = self._cells(("product_region", "product_region_code"))
        region_of = _row_rule(names, self._parser.region_of)
        return cells.map(lambda values: f'"region":{_json(region_of(values))},')

    def _quantity(self, value: object) -> str | None:
        amount = decimal(value, "")
        if amount is None:
            return '"consumed_quantity":null,'
        if amount < 0:
            return None  # a negative usage amount: the row mapper's rule decides (accept, or reject the row)
        return f'"consumed_quantity":{_money(amount)},'

    def _list_cost(self, unblended: _Distinct) -> pa.Array:
        public = self._canonical("pricing_public_on_demand_cost")
        column = self._parser.name("pricing_public_on_demand_cost")

        def piece(cells: tuple[object, object]) -> str:
            listed = decimal(cells[0], column)
            return f'"list_cost":{_money(self._unblended(cells[1]) if listed is None else listed)},'

        return _together(public, unblended).map(piece)

    def _effective(self, line_type: _Distinct, unblended: _Distinct) -> pa.Array:
        """The unblended cost, except on rows whose line type has an `EFFECTIVE_COST_RULES` rule."""
        effective = unblended.map(lambda value: _effective_piece(self._unblended(value)))
        types = [_safely(text, value) for value in line_type.values]
        for name, rule in EFFECTIVE_COST_RULES.items():
            if name not in types:
                continue
            of_type = pa.array([kind == name for kind in types], pa.bool_()).take(line_type.indices)
            names, cells = self._cells(rule.columns)
            rows = _together(unblended.where(of_type), cells.where(of_type))
            piece = functools.partial(self._rule_piece, rule, names)
            effective = pc.replace_with_mask(effective, of_type, rows.map(piece))
        return effective

    def _rule_piece(self, rule: EffectiveCostRule, names: list[str], values: tuple[object, tuple[object, ...]]) -> str:
        cells = dict(zip(names, values[1], strict=True))
        column = self._parser.column
        amount = rule.apply(
            self._unblended(values[0]), lambda canonical: cells.get(column(canonical) or ""), self._parser.name
        )
        return _effective_piece(amount)

    def _tags(self) -> pa.Array:
        names = [column for column, _ in self._parser.tag_columns]
        if not names:
            return pa.repeat('"tags":{}}', self._rows)
        tags_of = _row_rule(names, self._parser.tags_of)
        return _together(*(self._column(name) for name in names)).map(lambda cells: f'"tags":{_json(tags_of(cells))}}}')


def _billed(amount: Decimal) -> str:
    return f'"billed_cost":{_money(amount)},'


def _effective_piece(amount: Decimal) -> str:
    return f'"effective_cost":{_money(amount)},'


def _row_rule(names: Sequence[str], rule: Callable[[Mapping[str, object]], Any]) -> Callable[[tuple[Any, ...]], Any]:
    """A row mapper method that reads `names`, applied to a distinct combination of their cells."""
    return lambda cells: rule(dict(zip(names, cells, strict=True)))
