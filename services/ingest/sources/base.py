"""What every export parser yields: accepted usage records, or rejected rows with the reason."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from outlay.events import UsageRecord
from outlay.tenancy import DEFAULT_TENANT


class NotACostExport(ValueError):
    """The file is not a cost export this reader understands; the message names what is missing."""


@dataclass(frozen=True)
class RejectedRow:
    """A row that could not be accepted. `row` is the 1-based data row number (header excluded)."""

    row: int
    field: str | None
    reason: str
    raw: dict[str, str | None] = dataclasses.field(default_factory=dict)


ParsedRow = UsageRecord | RejectedRow


class ExportParser(Protocol):
    """Parses one export file. `uri` names the file in record ids and dead letters; every record belongs to
    `tenant_id` (record ids do not depend on it: they are unique within a tenant)."""

    format: str  # "focus" | "cur" | "cur2"

    def parse(
        self, table_rows: Iterator[dict[str, object]], uri: str, tenant_id: str = DEFAULT_TENANT
    ) -> Iterator[ParsedRow]: ...
