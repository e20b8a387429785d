"""`outlay.ingest.dlq.v1`: a record a source could not accept, with where it was and why."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field


class DeadLetter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(description="Source format: focus | cur | cur2 | metering | generator")
    file: str = Field(description="File or object URI the record came from")
    row: int | None = Field(default=None, description="1-based data row number in the file")
    field: str | None = Field(default=None, description="The column that failed, when one did")
    reason: str
    raw: dict[str, str | None] = Field(default_factory=dict, description="The offending row, as text")
    rejected_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def key(self) -> bytes:
        return self.file.encode()
