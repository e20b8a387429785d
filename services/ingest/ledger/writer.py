"""The ledger's store adapter: usage rows and rollups, written idempotently in one transaction.

Idempotency comes from the record id (unique per tenant): rows are inserted with ON CONFLICT (tenant_id,
record_id) DO NOTHING and the ids the database reports as inserted are the only ones whose cost is added to the rollups. A
replayed batch, or a batch re-delivered after a crash before the offset commit, therefore changes
nothing. Both statements run in one transaction, so rows and rollups never disagree.

PostgreSQL takes a fast path (asyncpg COPY into temp tables, then INSERT ... SELECT); every other
dialect (SQLite) goes through SQLAlchemy's dialect-specific INSERT ... ON CONFLICT. On the fast path
the ledger service prepares its batches column-wise from the raw messages (`columnar`, PreparedRows,
COPY in CSV: that costs far less Python CPU than encoding tuples, for a little more of PostgreSQL's);
`prepare` turns records into rows one by one (PreparedBatch) and serves every other caller.
"""

from __future__ import annotations

import json
import operator
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, overload

import asyncpg
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from outlay.events import UsageRecord
from outlay.store.models import ROLLUP_KEY, SERVICE_ROLLUP_KEY, CostRollup, RollupKeyHasher, ServiceRollup, UsageRow
from outlay.store.upsert import dialect_insert
from services.ingest.ledger.rollups import (
    Amounts,
    RollupAccumulator,
    RollupIncrement,
    RollupKey,
    key_rest,
    plain_text,
    rollup_increments,
)

# The order of `usage_values`; checked against the model below so a new column cannot be missed.
USAGE_COLUMNS: tuple[str, ...] = (
    "tenant_id",
    "record_id",
    "source",
    "source_ref",
    "cost_kind",
    "provider",
    "charge_period_start",
    "charge_period_end",
    "billing_account_id",
    "sub_account_id",
    "region",
    "service",
    "service_category",
    "resource_id",
    "usage_type",
    "charge_category",
    "consumed_quantity",
    "consumed_unit",
    "billed_nanos",
    "effective_nanos",
    "list_nanos",
    "currency",
    "tags",
)
if set(USAGE_COLUMNS) != {c.name for c in UsageRow.__table__.columns}:
    raise RuntimeError("usage_records has changed: update USAGE_COLUMNS and usage_values")
ROLLUP_AMOUNTS: tuple[str, ...] = ("billed_nanos", "effective_nanos", "list_nanos", "records")
ROLLUP_COLUMNS: tuple[str, ...] = (*ROLLUP_KEY, "key_hash", "tags", *ROLLUP_AMOUNTS)
SERVICE_ROLLUP_COLUMNS: tuple[str, ...] = (*SERVICE_ROLLUP_KEY, *ROLLUP_AMOUNTS)
# Where each service-level key field sits in a RollupKey (the per-resource key minus resource and tag set).
_SERVICE_FIELDS = tuple(ROLLUP_KEY.index(k) for k in SERVICE_ROLLUP_KEY)


@dataclass(frozen=True)
class WriteResult:
    """What one `write` did. The period is that of the rows written (of the whole batch when every
    record was a duplicate; None only for an empty batch), as timezone-aware UTC."""

    written: int
    duplicates: int
    period_start: datetime | None
    period_end: datetime | None
    cost_kinds: tuple[str, ...] = ()
    tenant_ids: tuple[str, ...] = ()


def is_data_error(exc: BaseException) -> bool:
    """The store refused the data itself (too long, out of range, a constraint), as opposed to
    being unreachable: retrying the same rows cannot help, isolating them can."""
    return isinstance(
        exc,
        sa_exc.DataError
        | sa_exc.IntegrityError
        | asyncpg.exceptions.DataError
        | asyncpg.exceptions.IntegrityConstraintViolationError
        | OverflowError,
    )


def usage_values(rec: UsageRecord, start: datetime, end: datetime, amounts: Amounts, tags: object) -> tuple[Any, ...]:
    """The `usage_records` row of one record, in USAGE_COLUMNS order: naive UTC period, '' for
    none, nano-unit money; `tags` as the driver wants it (dict, or JSON text for COPY)."""
    return (
        rec.tenant_id,
        rec.record_id,
        rec.source,
        rec.source_ref,
        plain_text(rec.cost_kind),
        rec.provider,
        start,
        end,
        rec.billing_account_id,
        rec.sub_account_id or "",
        rec.region or "",
        rec.service,
        rec.service_category or "",
        rec.resource_id or "",
        rec.usage_type or "",
        rec.charge_category,
        rec.consumed_quantity,
        rec.consumed_unit or "",
        *amounts,
        rec.currency,
        tags,
    )


def rollup_row(key: RollupKey, key_hash: bytes, inc: RollupIncrement) -> dict[str, Any]:
    return {
        **key._asdict(),
        "key_hash": key_hash,
        "tags": inc.tags,
        "billed_nanos": inc.billed_nanos,
        "effective_nanos": inc.effective_nanos,
        "list_nanos": inc.list_nanos,
        "records": inc.records,
    }


def dedupe(records: Sequence[UsageRecord]) -> list[UsageRecord]:
    """First occurrence of each (tenant, record id), in order (a batch may carry the same id twice)."""
    seen: dict[tuple[str, str], UsageRecord] = {}
    for rec in records:
        seen.setdefault((rec.tenant_id, rec.record_id), rec)
    return list(seen.values())


def summarize(received: int, batch: Sequence[UsageRecord], written: Sequence[UsageRecord]) -> WriteResult:
    basis = written or batch
    facts = {(r.charge_period_start, r.charge_period_end, r.cost_kind.value, r.tenant_id) for r in basis}
    return summary_of(received, len(written), facts)


RecordFacts = tuple[datetime, datetime, str, str]  # (period start, period end, cost kind, tenant) of a record


def summary_of(received: int, written: int, facts: Collection[RecordFacts]) -> WriteResult:
    """The `WriteResult` of `written` rows out of `received` records, from the distinct facts of the records it
    speaks for (the written ones, or the whole batch when none was); both ledger paths summarise through it."""
    if not facts:
        return WriteResult(0, received, None, None)
    return WriteResult(
        written=written,
        duplicates=received - written,
        period_start=min(f[0] for f in facts),
        period_end=max(f[1] for f in facts),
        cost_kinds=tuple(sorted({f[2] for f in facts})),
        tenant_ids=tuple(sorted({f[3] for f in facts})),
    )


_identity = operator.itemgetter(0, 1)  # (tenant_id, record_id): the first two USAGE_COLUMNS


def tags_json(value: dict[str, str]) -> str:
    """A tag set as the ledger stores it (usage rows and rollups): compact JSON, keys in the set's own order."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass
class PreparedBatch:
    """A batch turned into rows, ready to write; pure CPU work kept apart from the transaction.

    The rollup increments are computed for every record up front, on the bet that replays are
    rare: when some records turn out to be duplicates they are recomputed for the written ones.
    """

    received: int
    records: list[UsageRecord]  # unique (tenant, id), first occurrence kept
    usage_rows: list[Any]  # tuples in USAGE_COLUMNS order (COPY) or dicts (portable)
    increments: dict[RollupKey, RollupIncrement]
    rollup_rows: list[Any]  # tuples in ROLLUP_COLUMNS order (COPY) or dicts (portable)
    service_rows: list[Any]  # tuples in SERVICE_ROLLUP_COLUMNS order (COPY) or dicts (portable)
    given: Sequence[UsageRecord] = ()  # every record the batch was made of, duplicates included

    def accepted(self) -> list[UsageRecord]:
        """Every record the batch was made of, in order, duplicates included (as `PreparedRows.accepted`)."""
        return list(self.given)


@dataclass
class PreparedRows:
    """A batch prepared column-wise from its messages (`columnar.prepare_messages`): the same rows as
    a PreparedBatch of the decoded records, as Arrow tables and their CSV for COPY, without a
    UsageRecord per message. `accepted` decodes the valid messages the old way, in message order, for
    the rare cases that need records (ids already stored, a row the store refuses)."""

    received: int  # valid messages
    usage: pa.Table  # USAGE_COLUMNS, sorted by (tenant_id, record_id)
    rollups: pa.Table  # ROLLUP_COLUMNS, sorted by key_hash
    services: pa.Table  # SERVICE_ROLLUP_COLUMNS, sorted by key
    result: WriteResult  # the summary when every row is written
    accepted: Callable[[], list[UsageRecord]]
    usage_csv: bytes  # the three tables as PostgreSQL's CSV for COPY (`encoded`)
    rollup_csv: bytes
    service_csv: bytes

    @classmethod
    def encoded(
        cls,
        received: int,
        usage: pa.Table,
        rollups: pa.Table,
        services: pa.Table,
        result: WriteResult,
        accepted: Callable[[], list[UsageRecord]],
    ) -> PreparedRows:
        """The rows with their CSV, encoded now: in the preparing thread, not on the event loop that writes."""
        hexed = pa.array(["\\x" + digest.hex() for digest in rollups["key_hash"].to_pylist()], pa.string())
        rollup_columns = rollups.select(list(ROLLUP_COLUMNS))
        return cls(
            received,
            usage,
            rollups,
            services,
            result,
            accepted,
            usage_csv=_csv(usage.select(list(USAGE_COLUMNS))),
            rollup_csv=_csv(rollup_columns.set_column(ROLLUP_COLUMNS.index("key_hash"), "key_hash", hexed)),
            service_csv=_csv(services.select(list(SERVICE_ROLLUP_COLUMNS))),
        )

    @property
    def unique(self) -> int:
        return self.usage.num_rows


def _csv(table: pa.Table) -> bytes:
    """PostgreSQL's CSV: every string quoted (so "" is an empty string), null as an empty field."""
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue().to_pybytes()


class LedgerWriter:
    """Writes usage batches into the store; safe to call again with the same records."""

    def __init__(self, engine: AsyncEngine, *, fast_path: bool = True) -> None:
        self._engine = engine
        # COPY needs asyncpg; anything else (SQLite, or a test of the portable path) uses plain SQL.
        self._copy = fast_path and engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg"

    async def write(self, records: Sequence[UsageRecord]) -> WriteResult:
        return await self.write_prepared(self.prepare(records))

    def prepare(self, records: Sequence[UsageRecord]) -> PreparedBatch:
        """Rows and rollups for `records`. No I/O: a caller may run it in a thread while the
        previous batch is being written."""
        unique = dedupe(records)
        acc = RollupAccumulator()
        rows: list[Any] = []
        tag_text: dict[str, str] = {}  # tags hash -> JSON text, one dumps per tag set
        # One pass: the period, amounts and tags hash serve both the row and the rollups.
        for rec in unique:
            digest = acc.tags_hash(rec.tags)
            start, end = acc.naive_period(rec)
            amounts = acc.amounts(rec)
            if self._copy:
                tags: object = tag_text.get(digest)
                if tags is None:
                    tags = tag_text[digest] = tags_json(rec.tags)
                rows.append(usage_values(rec, start, end, amounts, tags))
            else:
                rows.append(
                    dict(zip(USAGE_COLUMNS, usage_values(rec, start, end, amounts, dict(rec.tags)), strict=True))
                )
            acc.add(key_rest(rec, digest), rec.tags, start, end, amounts)
        if self._copy:
            rows.sort(key=_identity)  # ids in order: concurrent writers take their locks in the same order
        return PreparedBatch(
            received=len(records),
            records=unique,
            usage_rows=rows,
            increments=acc.increments,
            rollup_rows=self._rollup_rows(acc.increments),
            service_rows=self._service_rows(acc.increments),
            given=records,
        )

    @property
    def copies(self) -> bool:
        """True when the PostgreSQL COPY path is on: the column-wise path (PreparedRows) needs it."""
        return self._copy

    async def write_prepared(self, batch: PreparedBatch | PreparedRows) -> WriteResult:
        if isinstance(batch, PreparedRows):
            return await self._write_rows(batch)
        if not batch.records:
            return summarize(batch.received, [], [])
        async with self._engine.begin() as conn:
            if self._copy:
                inserted = await _insert_usage_copy(conn, batch.usage_rows)
            else:
                inserted = await _insert_usage_portable(conn, batch.usage_rows)
            if len(inserted) == len(batch.records):
                written, rollup_rows, service_rows = batch.records, batch.rollup_rows, batch.service_rows
            else:
                # Some ids were already stored: only the new ones may add to the rollups.
                written = [r for r in batch.records if (r.tenant_id, r.record_id) in inserted]
                increments = rollup_increments(written)
                rollup_rows, service_rows = self._rollup_rows(increments), self._service_rows(increments)
            await self._upsert_rollups(conn, rollup_rows, service_rows)
        return summarize(batch.received, batch.records, written)

    async def _write_rows(self, batch: PreparedRows) -> WriteResult:
        """`write_prepared` of column-wise rows: the same transaction, COPY in CSV."""
        if not self._copy:
            raise ValueError("column-wise rows need the PostgreSQL COPY path")
        if not batch.unique:
            return batch.result
        async with self._engine.begin() as conn:
            inserted = await _insert_usage_copy(conn, batch.usage_csv)
            if inserted is None:
                if batch.rollups.num_rows:
                    await _upsert_rollups_copy(conn, batch.rollup_csv)
                    await _upsert_service_rollups_copy(conn, batch.service_csv)
                return batch.result
            # Some ids were already stored: only the new ones may add to the rollups. Rare (a replay),
            # so the records are decoded for it.
            records = dedupe(batch.accepted())
            written = [r for r in records if (r.tenant_id, r.record_id) in inserted]
            increments = rollup_increments(written)
            await self._upsert_rollups(conn, self._rollup_rows(increments), self._service_rows(increments))
        return summarize(batch.received, records, written)

    async def _upsert_rollups(self, conn: AsyncConnection, rollup_rows: list[Any], service_rows: list[Any]) -> None:
        if not rollup_rows:
            return
        if self._copy:
            await _upsert_rollups_copy(conn, rollup_rows)
            await _upsert_service_rollups_copy(conn, service_rows)
        else:
            await _upsert_rollups_portable(conn, rollup_rows)
            await _upsert_service_rollups_portable(conn, service_rows)

    def _rollup_rows(self, increments: dict[RollupKey, RollupIncrement]) -> list[Any]:
        # The increments hold each key once, so each bucket's digest is computed once per batch.
        # Sorted by digest, the order both paths upsert in: concurrent writers take row locks in
        # the same order (no deadlocks).
        keys = list(increments)
        digests = RollupKeyHasher().digests(
            [k.grain for k in keys], [k.period_start for k in keys], [k[2:] for k in keys]
        )
        hashed = sorted(zip(digests, keys, strict=True))
        if not self._copy:
            return [rollup_row(key, digest, increments[key]) for digest, key in hashed]
        tag_text: dict[str, str] = {}  # one JSON text per tag set, not per bucket
        rows = []
        for digest, key in hashed:
            inc = increments[key]
            tags = tag_text.get(key.tags_hash)
            if tags is None:
                tags = tag_text[key.tags_hash] = tags_json(inc.tags)
            rows.append((*key, digest, tags, inc.billed_nanos, inc.effective_nanos, inc.list_nanos, inc.records))
        return rows

    def _service_rows(self, increments: dict[RollupKey, RollupIncrement]) -> list[Any]:
        """The per-resource increments summed per service-level key, sorted (the upsert's lock order)."""
        summed: dict[tuple[Any, ...], list[int]] = {}
        for key, inc in increments.items():
            service_key = tuple(key[i] for i in _SERVICE_FIELDS)
            amounts = summed.get(service_key)
            if amounts is None:
                summed[service_key] = [inc.billed_nanos, inc.effective_nanos, inc.list_nanos, inc.records]
            else:
                amounts[0] += inc.billed_nanos
                amounts[1] += inc.effective_nanos
                amounts[2] += inc.list_nanos
                amounts[3] += inc.records
        rows = [(*key, *amounts) for key, amounts in sorted(summed.items())]
        if self._copy:
            return rows
        return [dict(zip(SERVICE_ROLLUP_COLUMNS, row, strict=True)) for row in rows]


# --- portable path: SQLAlchemy's dialect INSERT ... ON CONFLICT (SQLite, and PostgreSQL without COPY)


async def _insert_usage_portable(conn: AsyncConnection, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    table = UsageRow.__table__
    stmt = (
        dialect_insert(conn, table)
        .on_conflict_do_nothing(index_elements=["tenant_id", "record_id"])
        .returning(table.c.tenant_id, table.c.record_id)
    )
    # Sorted by id so concurrent writers lock rows in the same order (no deadlocks).
    result = await conn.execute(stmt, sorted(rows, key=lambda row: (row["tenant_id"], row["record_id"])))
    return {(tenant, rid) for (tenant, rid) in result.all()}


async def _upsert_rollups_portable(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    table = CostRollup.__table__
    ins = dialect_insert(conn, table)
    stmt = ins.on_conflict_do_update(
        index_elements=["key_hash"],
        set_={col: table.c[col] + ins.excluded[col] for col in ROLLUP_AMOUNTS},
    )
    await conn.execute(stmt, rows)


async def _upsert_service_rollups_portable(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    table = ServiceRollup.__table__
    ins = dialect_insert(conn, table)
    stmt = ins.on_conflict_do_update(
        index_elements=list(SERVICE_ROLLUP_KEY),
        set_={col: table.c[col] + ins.excluded[col] for col in ROLLUP_AMOUNTS},
    )
    await conn.execute(stmt, rows)


# --- PostgreSQL fast path: COPY into ON COMMIT DROP temp tables, then one set-based statement each

_USAGE_STAGE = "_ledger_usage_stage"
_ROLLUP_STAGE = "_ledger_rollup_stage"
_SERVICE_STAGE = "_ledger_service_rollup_stage"


async def _driver(conn: AsyncConnection) -> Any:
    raw = await conn.get_raw_connection()
    return raw.driver_connection


def _stage_sql(stage: str, table: str, columns: Sequence[str]) -> str:
    # Column types are copied from the real table, without constraints or defaults.
    return f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {', '.join(columns)} FROM {table} WITH NO DATA"


Rows = list[tuple[Any, ...]] | bytes  # tuples (binary COPY) or PostgreSQL CSV (column-wise batches)


async def _copy_rows(driver: Any, table: str, rows: Rows, columns: Sequence[str]) -> None:
    if isinstance(rows, bytes):
        await driver.copy_to_table(table, source=_one_chunk(rows), columns=list(columns), format="csv")
    else:
        await driver.copy_records_to_table(table, records=rows, columns=list(columns))


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    # asyncpg reads bytes as a file name; an async iterable is sent as is, with no executor thread.
    yield data


@overload
async def _insert_usage_copy(conn: AsyncConnection, rows: list[tuple[Any, ...]]) -> set[tuple[str, str]]: ...
@overload
async def _insert_usage_copy(conn: AsyncConnection, rows: bytes) -> set[tuple[str, str]] | None: ...
async def _insert_usage_copy(conn: AsyncConnection, rows: Rows) -> set[tuple[str, str]] | None:
    """Insert the rows whose (tenant, id) are new; returns those (None for CSV rows all inserted).

    Optimistic: a batch of new records (every batch but a replay's) is COPied straight into the table
    inside a savepoint, which costs PostgreSQL about half of staging it first. A duplicate id rolls
    the savepoint back and the batch takes the staged path, which skips what is already stored. The
    rows arrive sorted by id (`LedgerWriter.prepare`), so concurrent writers lock ids in one order.
    """
    driver = await _driver(conn)
    try:
        async with conn.begin_nested():  # SAVEPOINT, through SQLAlchemy: it also opens the transaction
            await _copy_rows(driver, "usage_records", rows, USAGE_COLUMNS)
        return None if isinstance(rows, bytes) else {(row[0], row[1]) for row in rows}
    except asyncpg.exceptions.UniqueViolationError:
        pass  # rolled back to the savepoint: some ids are stored already
    await conn.execute(text(_stage_sql(_USAGE_STAGE, "usage_records", USAGE_COLUMNS)))
    await _copy_rows(driver, _USAGE_STAGE, rows, USAGE_COLUMNS)
    cols = ", ".join(USAGE_COLUMNS)
    inserted = await driver.fetch(
        f"INSERT INTO usage_records ({cols}) SELECT {cols} FROM {_USAGE_STAGE} ORDER BY tenant_id, record_id "
        "ON CONFLICT (tenant_id, record_id) DO NOTHING RETURNING tenant_id, record_id"
    )
    return {(row[0], row[1]) for row in inserted}


async def _upsert_rollups_copy(conn: AsyncConnection, rows: Rows) -> None:
    await conn.execute(text(_stage_sql(_ROLLUP_STAGE, "cost_rollups", ROLLUP_COLUMNS)))
    driver = await _driver(conn)
    await _copy_rows(driver, _ROLLUP_STAGE, rows, ROLLUP_COLUMNS)
    cols = ", ".join(ROLLUP_COLUMNS)
    updates = ", ".join(f"{c} = cost_rollups.{c} + EXCLUDED.{c}" for c in ROLLUP_AMOUNTS)
    # ORDER BY the digest: concurrent ledger workers take row locks in the same order (no deadlocks).
    await driver.execute(
        f"INSERT INTO cost_rollups ({cols}) SELECT {cols} FROM {_ROLLUP_STAGE} ORDER BY key_hash "
        f"ON CONFLICT (key_hash) DO UPDATE SET {updates}"
    )


async def _upsert_service_rollups_copy(conn: AsyncConnection, rows: Rows) -> None:
    await conn.execute(text(_stage_sql(_SERVICE_STAGE, "cost_rollups_service", SERVICE_ROLLUP_COLUMNS)))
    driver = await _driver(conn)
    await _copy_rows(driver, _SERVICE_STAGE, rows, SERVICE_ROLLUP_COLUMNS)
    cols, keys = ", ".join(SERVICE_ROLLUP_COLUMNS), ", ".join(SERVICE_ROLLUP_KEY)
    updates = ", ".join(f"{c} = cost_rollups_service.{c} + EXCLUDED.{c}" for c in ROLLUP_AMOUNTS)
    # Rows arrive sorted by key: concurrent ledger workers lock them in one order.
    await driver.execute(
        f"INSERT INTO cost_rollups_service ({cols}) SELECT {cols} FROM {_SERVICE_STAGE} ORDER BY {keys} "
        f"ON CONFLICT ({keys}) DO UPDATE SET {updates}"
    )
