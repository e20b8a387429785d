"""The loop every export parser shares: one row in, one `UsageRecord` or `RejectedRow` out."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from pydantic import ValidationError

from outlay.events import UsageRecord
from outlay.events.usage import RecordIds
from outlay.tenancy import DEFAULT_TENANT, checked_tenant
from services.ingest.sources.base import ParsedRow, RejectedRow
from services.ingest.sources.cells import CellError, raw_row
from services.ingest.sources.tabular import MalformedRow, TableRows


class FileScope:
    """What a row mapper knows of the file its rows come from, and the tenant it is ingested for (checked once
    here; every record of the file carries this one string)."""

    __slots__ = ("uri", "ids", "tenant_id", "_seen")

    def __init__(self, uri: str, source_format: str, tenant_id: str = DEFAULT_TENANT) -> None:
        self.uri = uri
        self.tenant_id = checked_tenant(tenant_id)
        # Ids prefixed with the format and the file *name*: the same file read from disk or from S3
        # gets the same ids.
        self.ids = RecordIds(source_format, file_name(uri))
        self._seen: dict[str, int] = {}  # natural keys met so far in this file

    def occurrence(self, key: str) -> int:
        """How many times `key` came before in this file: makes a natural key unique when the export repeats it."""
        count = self._seen.get(key, 0)
        self._seen[key] = count + 1
        return count

    def ref(self, number: int) -> str:
        """The `source_ref` of row `number`."""
        return f"{self.uri}#{number}"


class RowMapper(Protocol):
    format: str
    columns_needed: tuple[str, ...]

    def record(self, row: Mapping[str, object], number: int, scope: FileScope) -> UsageRecord: ...

    def source_column(self, model_field: str) -> str | None: ...


def parse_rows(
    mapper: RowMapper, table_rows: Iterator[dict[str, object]], uri: str, tenant_id: str = DEFAULT_TENANT
) -> Iterator[ParsedRow]:
    """Map every row of `tenant_id`'s file; a bad row becomes a RejectedRow naming the source column, and the
    file goes on.

    Rows the reader could not split as the header says (`MalformedRow`) are rejected without mapping,
    with no column to name. Arithmetic failures (decimal overflow, a date past year 9999) reject their
    row too: one row must never stop a file.
    """
    if isinstance(table_rows, TableRows):
        table_rows.project(mapper.columns_needed)  # decode only what the mapper reads
    scope = FileScope(uri, mapper.format, tenant_id)
    for number, row in enumerate(table_rows, start=1):
        yield parse_row(mapper, row, number, scope)


def parse_row(mapper: RowMapper, row: dict[str, object], number: int, scope: FileScope) -> ParsedRow:
    """Row `number` of the file in `scope`: its record, or a RejectedRow naming the source column."""
    if type(row) is MalformedRow:  # an exact class check: the cheapest test on the hot path
        return RejectedRow(row=number, field=None, reason=row.reason, raw=raw_row(row))
    try:
        return mapper.record(row, number, scope)
    except CellError as exc:
        return RejectedRow(row=number, field=exc.column, reason=exc.reason, raw=raw_row(row))
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = error["loc"][0] if error["loc"] else None
        column = mapper.source_column(str(loc)) if loc is not None else None
        return RejectedRow(row=number, field=column, reason=error["msg"], raw=raw_row(row))
    except ArithmeticError as exc:  # OverflowError, decimal.Overflow, … : no cell check caught it
        return RejectedRow(row=number, field=None, reason=f"{type(exc).__name__}: {exc}", raw=raw_row(row))


def file_name(uri: str) -> str:
    """The last path segment of a URI: the same file read from disk or from S3 gets the same ids."""
    return uri.rstrip("/").rsplit("/", 1)[-1]
