"""The allocation engine's store adapter: versioned rule sets, and the cost lines a report allocates.

Rules: every change inserts version N+1 of the tenant's rule set, with who and when, and appends the change to the
tenant's audit trail in the same transaction. Concurrent changes of one tenant queue on a lock (a transaction-level
advisory lock on PostgreSQL, the write lock on SQLite), so two writers never both make version N+1. Nothing is
edited or deleted: any old version can be read back.

Lines: a report reads the ledger's rollup buckets (`cost_rollups`, per resource and tag set) when its rules need
only their key. Usage type and charge category are not part of that key: when a rule names charge categories, the
records of those categories are read too, spread over the report's buckets with the ledger's own minute split
(`outlay.spread.spread`) and taken out of their buckets as lines of their own; when a rule matches usage types, every
record of the period is read and spread. All three give the same totals, to the nano-unit.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from outlay.allocation.engine import CostLine, LineKey
from outlay.allocation.periods import ReportGrain
from outlay.allocation.report import AllocationReport, build_report
from outlay.allocation.rules import AllocationRules
from outlay.events.usage import MAX_CHARGE_PERIOD
from outlay.spread import spread
from outlay.store.audit import AuditEvent, append_entries
from outlay.store.models import AllocationRulesRow, CostRollup, UsageRow
from outlay.store.tenant_scope import TenantScoped

AUDIT_SUBJECT = "allocation_rules"
_LOCK_KIND = 0x0A110C  # first key of the advisory lock that orders one tenant's rule changes
METRIC_COLUMNS = {"billed": "billed_nanos", "effective": "effective_nanos", "list": "list_nanos"}


@dataclass(frozen=True)
class RulesVersion:
    version: int
    rules: AllocationRules
    created_by: str
    created_at: datetime  # aware UTC


def _version(row: Mapping[Any, Any]) -> RulesVersion:
    return RulesVersion(
        row["version"], AllocationRules.model_validate(row["rules"]), row["created_by"],
        row["created_at"].replace(tzinfo=UTC),
    )  # fmt: skip


def rules_json(rules: AllocationRules) -> dict[str, Any]:
    """The stored form: every field spelt out, defaults included, so a later change of a default (the placeholder
    values, the rule order) cannot change what an old version allocates when a period is re-run under it."""
    return rules.model_dump(mode="json")


class AllocationRulesStore(TenantScoped):
    """One tenant's allocation rules, versioned."""

    async def current(self) -> RulesVersion | None:
        return await self._one(None)

    async def version(self, version: int) -> RulesVersion | None:
        return await self._one(version)

    async def _one(self, version: int | None) -> RulesVersion | None:
        table = AllocationRulesRow.__table__
        stmt = select(table).where(self._mine(AllocationRulesRow))
        if version is not None:
            stmt = stmt.where(AllocationRulesRow.version == version)
        stmt = stmt.order_by(AllocationRulesRow.version.desc()).limit(1)
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _version(row._mapping)

    async def versions(self, limit: int = 100) -> list[RulesVersion]:
        """The newest `limit` versions, newest first."""
        stmt = (
            select(AllocationRulesRow.__table__)
            .where(self._mine(AllocationRulesRow))
            .order_by(AllocationRulesRow.version.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [_version(r._mapping) for r in await conn.execute(stmt)]

    async def put(self, rules: AllocationRules, actor: str, now: datetime | None = None) -> RulesVersion:
        """Store `rules` as the next version, audited in the same transaction."""
        at = now or datetime.now(UTC)
        body = rules_json(rules)
        async with self._engine.begin() as conn:
            await self._lock(conn)  # concurrent writers queue here, so each reads the version the last one wrote
            latest = (
                await conn.execute(select(func.max(AllocationRulesRow.version)).where(self._mine(AllocationRulesRow)))
            ).scalar() or 0
            values = {
                "tenant_id": self.tenant_id, "version": latest + 1, "rules": body, "created_by": actor[:200],
                "created_at": at.astimezone(UTC).replace(tzinfo=None, microsecond=0),
            }  # fmt: skip
            await conn.execute(insert(AllocationRulesRow).values(**values))
            detail = f"v{latest} → v{latest + 1} {json.dumps(body, sort_keys=True, ensure_ascii=False)}"
            event = AuditEvent(at, actor, AUDIT_SUBJECT, "allocation_rules_changed", detail)
            await append_entries(conn, self.tenant_id, [event])
        return _version(values)

    async def _lock(self, conn: AsyncConnection) -> None:
        if conn.dialect.name == "postgresql":  # one lock per tenant, released with the transaction
            tenant_key = zlib.crc32(self.tenant_id.encode()) - 2**31  # into int4's range
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:kind, :tenant)"), {"kind": _LOCK_KIND, "tenant": tenant_key}
            )
        else:  # SQLite: a write takes the database's one write lock now, before the version is read
            table = AllocationRulesRow
            await conn.execute(update(table).where(table.version < 0).values(version=table.version))


class AllocationLinesStore(TenantScoped):
    """The cost lines of one tenant's period, as the allocation engine takes them."""

    async def lines(
        self,
        start: datetime,
        end: datetime,
        grain: ReportGrain,
        metric: str = "billed",
        *,
        records: bool = False,
        charge_categories: frozenset[str] = frozenset(),
    ) -> list[CostLine]:
        """Lines per report bucket in [start, end) (naive UTC).

        By default the rollup buckets (no usage type, no charge category). `records`: every usage record, spread.
        `charge_categories` (case-folded): the rollup buckets, with the records of those categories taken out of
        them as lines of their own that carry their charge category — exact, since a bucket is the sum of its
        records' spread shares, and cheap, since such records (fees, credits, tax) are few.
        """
        if metric not in METRIC_COLUMNS:
            raise ValueError(f"unknown metric {metric!r}")
        column = METRIC_COLUMNS[metric]
        if records:
            return _as_lines(await self._record_sums(start, end, grain, column, None))
        rollups = await self._rollup_sums(start, end, grain, column)
        if not charge_categories:
            return _as_lines(rollups)
        apart = await self._record_sums(start, end, grain, column, charge_categories)
        for (bucket, key), nanos in apart.items():
            bucket_key = (bucket, replace(key, usage_type="", charge_category=""))
            rollups[bucket_key] = rollups.get(bucket_key, 0) - nanos
        return _as_lines(rollups) + _as_lines(apart)

    async def _rollup_sums(self, start: datetime, end: datetime, grain: ReportGrain, column: str) -> _Sums:
        model = CostRollup
        stmt = select(
            model.period_start, model.billing_account_id, model.sub_account_id, model.region, model.service,
            model.resource_id, model.tags, model.currency, model.cost_kind, getattr(model, column),
        ).where(
            self._mine(model), model.grain == grain.source.value, model.period_start >= start, model.period_start < end
        )  # fmt: skip
        sums: _Sums = {}
        keys: dict[tuple[Any, ...], LineKey] = {}  # one LineKey per distinct bucket key: equal keys memoise once
        async with self._engine.connect() as conn:
            for row in await conn.execute(stmt):
                period, *rest, nanos = row
                raw = (*rest[:5], _tag_items(rest[5]), *rest[6:])
                key = keys.get(raw)
                if key is None:
                    key = keys[raw] = LineKey(*raw)
                at = (grain.bucket(period), key)
                sums[at] = sums.get(at, 0) + int(nanos)
        return sums

    async def _record_sums(
        self, start: datetime, end: datetime, grain: ReportGrain, column: str, charges: frozenset[str] | None
    ) -> _Sums:
        u = UsageRow
        stmt = select(
            u.charge_period_start, u.charge_period_end, u.billing_account_id, u.sub_account_id, u.region, u.service,
            u.resource_id, u.tags, u.currency, u.cost_kind, u.usage_type, u.charge_category, getattr(u, column),
        ).where(
            self._mine(u),
            # The lower bound on the start keeps the period index usable: no record is longer than that.
            u.charge_period_start >= start - MAX_CHARGE_PERIOD - timedelta(days=1),
            u.charge_period_start < end,
            u.charge_period_end > start,
        )  # fmt: skip
        if charges is not None:
            stmt = stmt.where(func.lower(u.charge_category).in_(sorted(charges)))
        sums: _Sums = {}
        keys: dict[tuple[Any, ...], LineKey] = {}
        async with self._engine.connect() as conn:
            for row in await conn.execute(stmt):
                period_start, period_end, *rest, nanos = row
                raw = (*rest[:5], _tag_items(rest[5]), *rest[6:])
                key = keys.get(raw)
                if key is None:
                    key = keys[raw] = LineKey(*raw)
                # The ledger's own split (outlay.spread), so these shares are exactly what its buckets hold.
                for bucket, share in spread(int(nanos), period_start, period_end, grain.source):
                    if start <= bucket < end:
                        at = (grain.bucket(bucket), key)
                        sums[at] = sums.get(at, 0) + share
        return sums


_Sums = dict[tuple[datetime, LineKey], int]


def _as_lines(sums: _Sums) -> list[CostLine]:
    return [CostLine(bucket, key, nanos) for (bucket, key), nanos in sums.items() if nanos]


def _tag_items(tags: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in (tags or {}).items()))


class UnknownDimension(ValueError):
    """The rules define no such dimension (the message lists those they do), or there is no such version; `field`
    names the request parameter at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


async def allocation_report(
    rules: AllocationRulesStore,
    lines: AllocationLinesStore,
    dimension: str,
    start: datetime,
    end: datetime,
    grain: ReportGrain,
    metric: str = "billed",
    version: int | None = None,
) -> AllocationReport:
    """One tenant's allocation of [start, end) on `dimension` under its current rules (or `version`)."""
    if rules.tenant_id != lines.tenant_id:
        raise ValueError("the rules and the lines must be the same tenant's")
    found = await (rules.current() if version is None else rules.version(version))
    if found is None:
        raise UnknownDimension(
            "by" if version is None else "version",
            "no allocation rules yet (PUT /v1/allocation/rules)" if version is None else f"no version {version}",
        )
    if dimension not in found.rules.dimensions:
        known = ", ".join(sorted(found.rules.dimensions)) or "none"
        raise UnknownDimension(
            "by", f"the rules (version {found.version}) define no dimension {dimension!r}; known: {known}"
        )
    chosen = found.rules
    # Usage-type patterns cannot be matched in SQL on both dialects: they take every record. Charge categories are
    # matched in SQL: the rollups with those categories' records apart. Otherwise the rollups alone.
    cost_lines = await lines.lines(
        start, end, grain, metric, records=chosen.needs_usage_types, charge_categories=chosen.charge_categories
    )
    # In a worker thread: a long period is a few hundred thousand lines of Python, which would stall every other
    # request this process serves.
    return await asyncio.to_thread(
        build_report, cost_lines, found.rules, found.version, dimension, start, end, grain, metric
    )
