"""Read a cost-export table (CSV, gzipped CSV or parquet) as a header plus a stream of row dicts.

Memory stays bounded: CSV is read line by line and parquet record batch by record batch. Values keep
the file's types (parquet doubles stay floats, timestamps become aware datetimes, map columns become
lists of key/value pairs); the parsers convert them, so money never goes through a float we created.

A CSV row whose cell count differs from the header's is not guessed at (padding or dropping cells
would shift values into the wrong columns): it comes out as a `MalformedRow`, which the row loop turns
into a rejected row, and reading goes on. Check with `malformed_reason(row)`.

`iter_table` returns a `TableRows` iterator. A parser that knows which columns it needs calls
`TableRows.project(...)` before the first row is read, so a 124-column parquet file only decodes the
~30 columns that matter (the biggest single speed-up on WorkshopCUR).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import IO, BinaryIO, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

TableKind = Literal["csv", "csv.gz", "parquet", "auto"]
Source = Path | str | BinaryIO

# The FOCUS sample writes SQL NULL as the bare word NULL; no export uses it as a real value.
_NULL_WORDS = frozenset({"NULL"})
_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
DEFAULT_BATCH = 4_096  # small batches keep few live objects, so the GC scans less


class MalformedRow(dict[str, object]):
    """A row that cannot be read as the header says: holds every cell as written (extra cells under
    "#<position>"), for the dead letter, and `reason`. A dict subclass, so a plain consumer still
    iterates; an exact class check (`malformed_reason`) keeps the per-row cost of spotting it tiny."""

    __slots__ = ("reason",)

    def __init__(self, cells: dict[str, object], reason: str) -> None:
        super().__init__(cells)
        self.reason = reason


def malformed_reason(row: object) -> str | None:
    """Why `row` could not be read, or None for a well-formed row."""
    return row.reason if type(row) is MalformedRow else None


class TableRows(Iterator[dict[str, object]]):
    """Rows of one table, read lazily. `project` narrows the columns decoded, until the first row is read."""

    def __init__(self, reader: _Reader) -> None:
        self._reader = reader
        self._wanted: list[str] | None = None
        self._rows: Iterator[dict[str, object]] | None = None

    @property
    def columns(self) -> list[str]:
        return list(self._reader.columns)

    def project(self, columns: Collection[str]) -> bool:
        """Decode only `columns` (unknown names are ignored). False when reading has already started."""
        if self._rows is not None:
            return False
        wanted = set(columns)
        self._wanted = [c for c in self._reader.columns if c in wanted]
        return True

    def record_batches(self, batch_size: int | None = None) -> Iterator[pa.RecordBatch] | None:
        """The (projected) table as Arrow record batches instead of rows, for a column-wise parser: None when the
        table is not parquet or reading has already started. Taking them consumes the table: no rows follow."""
        if self._rows is not None or not isinstance(self._reader, _ParquetReader):
            return None
        self._rows = iter(())
        return self._reader.batches(self._wanted, batch_size)

    def __iter__(self) -> TableRows:
        return self

    def __next__(self) -> dict[str, object]:
        if self._rows is None:
            self._rows = self._reader.rows(self._wanted)
        return next(self._rows)

    def close(self) -> None:
        self._reader.close()


def iter_table(
    source: Source,
    kind: TableKind | str | None = "auto",
    columns: Collection[str] | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> tuple[list[str], TableRows]:
    """Open a table and return (all column names in file order, rows).

    `source` is a path or a binary file object (seekable for parquet). `kind` is "csv", "csv.gz",
    "parquet" or "auto"/None (from the suffix, else from the first bytes). `columns` restricts the
    decoded columns up front (the header still lists them all). The file is closed when the rows are
    exhausted or `rows.close()` is called. Raises ValueError for an unreadable table.
    """
    reader = _open(source, _resolve_kind(source, kind), batch_size)
    rows = TableRows(reader)
    if columns is not None:
        rows.project(columns)
    return list(reader.columns), rows


def _resolve_kind(source: Source, kind: str | None) -> str:
    if kind and kind != "auto":
        if kind not in ("csv", "csv.gz", "gz", "parquet"):
            raise ValueError(f"unknown table kind {kind!r} (expected csv, csv.gz or parquet)")
        return "csv.gz" if kind == "gz" else kind
    name = str(source) if isinstance(source, str | Path) else str(getattr(source, "name", ""))
    lowered = name.lower()
    if lowered.endswith(".parquet"):
        return "parquet"
    if lowered.endswith(".gz"):
        return "csv.gz"
    if lowered.endswith(".csv"):
        return "csv"
    return "sniff"


class _Reader:
    columns: list[str]

    def rows(self, wanted: list[str] | None) -> Iterator[dict[str, object]]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def _open(source: Source, kind: str, batch_size: int) -> _Reader:
    owned = isinstance(source, str | Path)
    # A file we open here is closed by the reader once its rows are done (or on an error below).
    stream: BinaryIO = open(source, "rb") if isinstance(source, str | Path) else source  # noqa: SIM115
    try:
        if kind == "sniff":
            kind = _sniff(stream)
        if kind == "parquet":
            return _ParquetReader(stream, owned, batch_size)
        if kind == "csv.gz":
            return _CsvReader(gzip.GzipFile(fileobj=stream, mode="rb"), stream, owned)  # type: ignore[arg-type]
        return _CsvReader(stream, stream, owned)
    except Exception:
        if owned:
            stream.close()
        raise


def _sniff(stream: BinaryIO) -> str:
    if not stream.seekable():
        raise ValueError("cannot detect the table kind of a non-seekable stream: pass kind=")
    position = stream.tell()
    head = stream.read(4)
    stream.seek(position)
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if head.startswith(_GZIP_MAGIC):
        return "csv.gz"
    return "csv"


class _CsvReader(_Reader):
    def __init__(self, binary: IO[bytes], underlying: BinaryIO, owned: bool) -> None:
        self._underlying = underlying
        self._owned = owned
        # utf-8-sig drops the BOM some exporters write; newline="" lets csv handle quoted line breaks.
        self._text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        self._reader = csv.reader(self._text)
        try:
            header = next(self._reader)
        except StopIteration:
            header = []
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise ValueError(f"unreadable CSV header: {exc}") from exc
        self.columns = [name.strip() for name in header]

    def rows(self, wanted: list[str] | None) -> Iterator[dict[str, object]]:
        names = self.columns
        picks = None if wanted is None else [(names.index(c), c) for c in wanted]
        width = len(names)
        try:
            for cells in self._reader:
                if not cells:
                    continue  # a blank line is not a row
                if len(cells) != width:
                    yield _malformed(names, cells)
                elif picks is None:
                    yield {n: (None if v in _NULL_WORDS else v) for n, v in zip(names, cells, strict=True)}
                else:
                    yield {n: (None if cells[i] in _NULL_WORDS else cells[i]) for i, n in picks}
        finally:
            self.close()

    def close(self) -> None:
        if self._owned:
            self._underlying.close()


def _malformed(names: list[str], cells: list[str]) -> MalformedRow:
    raw: dict[str, object] = dict(zip(names, cells, strict=False))
    raw.update((f"#{position}", cell) for position, cell in enumerate(cells[len(names) :], start=len(names) + 1))
    return MalformedRow(raw, f"row has {len(cells)} cells; the header has {len(names)}")


class _ParquetReader(_Reader):
    def __init__(self, stream: BinaryIO, owned: bool, batch_size: int) -> None:
        self._stream = stream
        self._owned = owned
        self._batch_size = batch_size
        try:
            self._file = pq.ParquetFile(stream)
        except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for a non-parquet or truncated file
            raise ValueError(f"unreadable parquet: {exc}") from exc
        self.columns = list(self._file.schema_arrow.names)

    def rows(self, wanted: list[str] | None) -> Iterator[dict[str, object]]:
        for batch in self.batches(wanted):
            yield from batch_rows(batch)

    def batches(self, wanted: list[str] | None, batch_size: int | None = None) -> Iterator[pa.RecordBatch]:
        try:
            yield from self._file.iter_batches(batch_size=batch_size or self._batch_size, columns=wanted)
        finally:
            self.close()

    def close(self) -> None:
        if self._owned:
            self._stream.close()


def batch_rows(batch: pa.RecordBatch) -> Iterator[dict[str, object]]:
    """The rows of a record batch as the row reader gives them."""
    # Columnar to_pylist then zip is ~30% faster than RecordBatch.to_pylist on wide files.
    names = batch.schema.names
    values = [_column_values(column) for column in batch.columns]
    for row in zip(*values, strict=True):
        yield dict(zip(names, row, strict=True))


def batch_row(batch: pa.RecordBatch, index: int) -> dict[str, object]:
    """Row `index` of a record batch, exactly as the row reader gives it (same names, same Python values)."""
    return next(batch_rows(batch.slice(index, 1)))


def _column_values(column: pa.Array) -> list[object]:
    """One column of a batch as Python values.

    Timestamps go through a dictionary: an export repeats the same few period boundaries on
    thousands of rows, and building a datetime per cell was most of the read time (WorkshopCUR:
    5.7 µs per row with plain to_pylist, 1.0 µs this way). Other types convert directly.
    """
    if not pa.types.is_timestamp(column.type):
        return column.to_pylist()
    encoded = column.dictionary_encode()
    distinct: list[object] = encoded.dictionary.to_pylist()
    distinct.append(None)  # nulls index the extra slot
    indices = pc.fill_null(encoded.indices, len(distinct) - 1).to_pylist()
    return [distinct[i] for i in indices]
