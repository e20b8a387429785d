"""The `anomalies` table: idempotent upserts from the stream, pages for the API, and people's verdicts.

An update replaces the stored state only when it is at least as recent (a later `last_seen`, or the
same with the incident now closed), so a replay after a crash never moves an anomaly back in time. The
verdict columns belong to the gateway: an update fills them only while they are empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, and_, func, or_, select, update

from outlay.events import CostAnomaly, FeedbackVerdict
from outlay.money import from_nanos, to_nanos
from outlay.spread import to_naive_utc
from outlay.store.audit import Audit, append_entries
from outlay.store.models import AnomalyRow
from outlay.store.tenant_scope import TenantScoped
from outlay.store.upsert import dialect_insert
from services.gateway.anomalies.listing import AnomalyQuery, AnomalyStatus
from services.gateway.anomalies.render import anomaly_json
from services.gateway.query import Cursor

_TABLE: Table = AnomalyRow.__table__  # type: ignore[assignment]
_GATEWAY_OWNED = ("anomaly_id", "feedback", "feedback_at")


@dataclass(frozen=True)
class StoredAnomaly:
    anomaly: CostAnomaly
    feedback_at: datetime | None
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return anomaly_json(self.anomaly, feedback_at=self.feedback_at, updated_at=self.updated_at)


@dataclass(frozen=True)
class AnomalyPage:
    items: list[StoredAnomaly]
    next_cursor: str | None

    def to_json(self) -> dict[str, Any]:
        return {"items": [item.to_json() for item in self.items], "next_cursor": self.next_cursor}


def row_values(anomaly: CostAnomaly, now: datetime) -> dict[str, Any]:
    return {
        "anomaly_id": anomaly.anomaly_id,
        "tenant_id": anomaly.tenant_id,
        "series": anomaly.series,
        "dimensions": dict(anomaly.dimensions),
        "direction": anomaly.direction.value,
        "start": to_naive_utc(anomaly.start),
        "end": None if anomaly.end is None else to_naive_utc(anomaly.end),
        "last_seen": to_naive_utc(anomaly.last_seen),
        "expected_nanos": to_nanos(anomaly.expected_cost),
        "actual_nanos": to_nanos(anomaly.actual_cost),
        "impact_nanos": to_nanos(anomaly.impact),
        "currency": anomaly.currency,
        "score": anomaly.score,
        "severity": anomaly.severity.value,
        "root_cause": list(anomaly.root_cause),
        "alerted": anomaly.alerted,
        "feedback": None if anomaly.feedback is None else anomaly.feedback.value,
        "feedback_at": None,
        "updated_at": now,
    }


def _stored(row: Any) -> StoredAnomaly:
    anomaly = CostAnomaly(
        anomaly_id=row.anomaly_id,
        tenant_id=row.tenant_id,
        series=row.series,
        dimensions=row.dimensions or {},
        direction=row.direction,
        start=row.start,
        end=row.end,
        last_seen=row.last_seen,
        expected_cost=from_nanos(row.expected_nanos),
        actual_cost=from_nanos(row.actual_nanos),
        impact=from_nanos(row.impact_nanos),
        currency=row.currency,
        score=row.score,
        severity=row.severity,
        root_cause=row.root_cause or [],
        alerted=row.alerted,
        feedback=row.feedback,
    )
    return StoredAnomaly(anomaly, row.feedback_at, row.updated_at)


def latest_per_id(anomalies: Sequence[CostAnomaly]) -> list[CostAnomaly]:
    """One update per incident: a batch holds a series' updates in order, so the last is the newest."""
    return list({a.anomaly_id: a for a in anomalies}.values())


class AnomalyStore(TenantScoped):
    """One tenant's anomalies."""

    async def upsert(self, anomalies: Sequence[CostAnomaly]) -> None:
        if not anomalies:
            return
        if any(a.tenant_id != self.tenant_id for a in anomalies):
            raise ValueError(f"anomalies of another tenant given to the store of tenant {self.tenant_id!r}")
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = sorted((row_values(a, now) for a in latest_per_id(anomalies)), key=lambda r: r["anomaly_id"])
        async with self._engine.begin() as conn:
            ins = dialect_insert(conn, _TABLE)
            new, old = ins.excluded, _TABLE.c
            stmt = ins.on_conflict_do_update(
                index_elements=["tenant_id", "anomaly_id"],
                set_={
                    **{c.name: new[c.name] for c in _TABLE.columns if c.name not in _GATEWAY_OWNED},
                    "feedback": func.coalesce(old.feedback, new.feedback),
                },
                where=or_(
                    new.last_seen > old.last_seen,
                    and_(new.last_seen == old.last_seen, or_(new.end.is_not(None), old.end.is_(None))),
                ),
            )
            await conn.execute(stmt, rows)

    async def get(self, anomaly_id: str) -> StoredAnomaly | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(_TABLE).where(self._mine(_TABLE.c), _TABLE.c.anomaly_id == anomaly_id))
            ).first()
        return None if row is None else _stored(row)

    async def page(self, query: AnomalyQuery) -> AnomalyPage:
        c = _TABLE.c
        stmt = select(_TABLE).where(self._mine(c)).order_by(c.start.desc(), c.anomaly_id.desc()).limit(query.limit + 1)
        if query.status is AnomalyStatus.OPEN:
            stmt = stmt.where(c.end.is_(None))
        elif query.status is AnomalyStatus.CLOSED:
            stmt = stmt.where(c.end.is_not(None))
        if query.series:
            stmt = stmt.where(c.series.in_(query.series))
        if query.direction is not None:
            stmt = stmt.where(c.direction == query.direction.value)
        if len(query.severities) < 4:
            stmt = stmt.where(c.severity.in_([s.value for s in query.severities]))
        if query.alerted is not None:
            stmt = stmt.where(c.alerted == query.alerted)
        if query.since is not None:
            stmt = stmt.where(c.start >= query.since)
        if query.until is not None:
            stmt = stmt.where(c.start < query.until)
        if query.after is not None:
            after = query.after
            stmt = stmt.where(or_(c.start < after.at, and_(c.start == after.at, c.anomaly_id < after.key)))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        items = [_stored(row) for row in rows[: query.limit]]
        more = len(rows) > query.limit
        last = items[-1] if items else None
        cursor = Cursor(to_naive_utc(last.anomaly.start), last.anomaly.anomaly_id).encode() if more and last else None
        return AnomalyPage(items, cursor)

    async def record_feedback(
        self, anomaly_id: str, verdict: FeedbackVerdict, at: datetime, audit: Audit[StoredAnomaly] | None = None
    ) -> StoredAnomaly | None:
        """Store a person's verdict (the latest one wins); None when there is no such anomaly. `audit`'s entries
        for the updated anomaly are written in the same transaction."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    update(_TABLE)
                    .where(self._mine(_TABLE.c), _TABLE.c.anomaly_id == anomaly_id)
                    .values(feedback=verdict.value, feedback_at=to_naive_utc(at))
                    .returning(*_TABLE.c)
                )
            ).first()
            stored = None if row is None else _stored(row)
            if stored is not None and audit is not None:
                await append_entries(conn, self.tenant_id, audit(stored))
        return stored
