"""Replay checkpoints: which export files are already in Kafka, so a rerun neither skips nor repeats.

One row per file URI in `ingest_checkpoints`. A file is skipped only when it is `done` with the same
fingerprint. A file left `started` (the process died mid-file) is sent again from its first row: record
ids are stable and the ledger is idempotent on them, so the resend loses nothing and duplicates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.spread import to_naive_utc
from outlay.store.models import IngestCheckpoint

STARTED = "started"
DONE = "done"

_TABLE = IngestCheckpoint.__table__
_URI = IngestCheckpoint.uri


@dataclass(frozen=True)
class CheckpointTotals:
    """What a finished file contributed (kept on the checkpoint row for `outlay` status views)."""

    source: str
    accepted: int
    rejected: int


@dataclass(frozen=True)
class Checkpoint:
    uri: str
    fingerprint: str
    status: str
    source: str
    rows_accepted: int
    rows_rejected: int
    updated_at: datetime


def _now() -> datetime:
    return to_naive_utc(datetime.now(UTC))


class CheckpointStore:
    """Repository over IngestCheckpoint; works on PostgreSQL and SQLite alike."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, uri: str) -> Checkpoint | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(_TABLE).where(_TABLE.c.uri == uri))).mappings().first()
        if row is None:
            return None
        return Checkpoint(
            uri=row["uri"],
            fingerprint=row["fingerprint"],
            status=row["status"],
            source=row["source"],
            rows_accepted=row["rows_accepted"],
            rows_rejected=row["rows_rejected"],
            updated_at=row["updated_at"],
        )

    async def should_process(self, uri: str, fingerprint: str) -> bool:
        """False only for a file already done with this very fingerprint."""
        current = await self.get(uri)
        return not (current and current.status == DONE and current.fingerprint == fingerprint)

    async def mark_started(self, uri: str, fingerprint: str, source: str = "") -> None:
        await self._upsert(
            uri,
            fingerprint=fingerprint,
            source=source,
            status=STARTED,
            rows_total=0,
            rows_accepted=0,
            rows_rejected=0,
        )

    async def mark_done(self, uri: str, fingerprint: str, totals: CheckpointTotals) -> None:
        """Call only after every record of the file was acknowledged by the broker."""
        await self._upsert(
            uri,
            fingerprint=fingerprint,
            source=totals.source,
            status=DONE,
            rows_total=totals.accepted + totals.rejected,
            rows_accepted=totals.accepted,
            rows_rejected=totals.rejected,
        )

    async def _upsert(self, uri: str, **values: Any) -> None:
        values["updated_at"] = _now()
        dialect = self._engine.dialect.name
        if dialect == "postgresql":
            pg = postgresql.insert(IngestCheckpoint).values(uri=uri, **values)
            stmt: Any = pg.on_conflict_do_update(index_elements=[_URI], set_=values)
        elif dialect == "sqlite":
            lite = sqlite.insert(IngestCheckpoint).values(uri=uri, **values)
            stmt = lite.on_conflict_do_update(index_elements=[_URI], set_=values)
        else:  # pragma: no cover - the store supports only the two dialects above
            raise NotImplementedError(f"checkpoints: unsupported dialect {dialect!r}")
        async with self._engine.begin() as conn:
            await conn.execute(stmt)
