"""The loop every export parser shares: one row in, one `UsageRecord` or `RejectedRow` out."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from pydantic import ValidationError

from outlay.events import UsageRecord
from services.ingest.sources.base import ParsedRow, RejectedRow
from services.ingest.sources.cells import CellError, raw_row
from services.ingest.sources.tabular import MalformedRow, TableRows


class RowMapper(Protocol):
    columns_needed: tuple[str, ...]

    def record(self, row: Mapping[str, object], number: int, uri: str, seen: dict[str, int]) -> UsageRecord: ...

    def source_column(self, model_field: str) -> str | None: ...


def parse_rows(mapper: RowMapper, table_rows: Iterator[dict[str, object]], uri: str) -> Iterator[ParsedRow]:
    """Map every row; a bad row becomes a RejectedRow naming the source column, and the file goes on.

    Rows the reader could not split as the header says (`MalformedRow`) are rejected without mapping,
    with no column to name. Arithmetic failures (decimal overflow, a date past year 9999) reject their
    row too: one row must never stop a file.
    """
    if isinstance(table_rows, TableRows):
        table_rows.project(mapper.columns_needed)  # decode only what the mapper reads
    seen: dict[str, int] = {}  # natural keys met so far in this file, for `occurrence`
    for number, row in enumerate(table_rows, start=1):
        if type(row) is MalformedRow:  # an exact class check: the cheapest test on the hot path
            yield RejectedRow(row=number, field=None, reason=row.reason, raw=raw_row(row))
            continue
        try:
            yield mapper.record(row, number, uri, seen)
        except CellError as exc:
            yield RejectedRow(row=number, field=exc.column, reason=exc.reason, raw=raw_row(row))
        except ValidationError as exc:
            error = exc.errors()[0]
            loc = error["loc"][0] if error["loc"] else None
            column = mapper.source_column(str(loc)) if loc is not None else None
            yield RejectedRow(row=number, field=column, reason=error["msg"], raw=raw_row(row))
        except ArithmeticError as exc:  # OverflowError, decimal.Overflow, … : no cell check caught it
            yield RejectedRow(row=number, field=None, reason=f"{type(exc).__name__}: {exc}", raw=raw_row(row))


def occurrence(seen: dict[str, int], key: str) -> int:
    """How many times `key` came before in this file: makes a natural key unique when the export repeats it."""
    count = seen.get(key, 0)
    seen[key] = count + 1
    return count


def file_name(uri: str) -> str:
    """The last path segment of a URI: the same file read from disk or from S3 gets the same ids."""
    return uri.rstrip("/").rsplit("/", 1)[-1]
