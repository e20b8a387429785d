"""The optimizer's repositories: action plans and the latest scan's recommendations (the audit trail both
services append to is `outlay.store.audit`).

The optimizer writes plans (it alone changes their status) and findings; the gateway reads them. Rows go in and
out as `ActionPlan` events, so what is stored is what was published.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from outlay.events.plan import ActionPlan, PlannedChange, PlanStatus
from outlay.events.usage import stable_record_id
from outlay.money import from_nanos, to_nanos
from outlay.spread import to_naive_utc
from outlay.store.models import PlanRow, RecommendationRow
from outlay.store.pages import newest_first
from outlay.store.tenant_scope import TenantScoped


def _aware(when: datetime | None) -> datetime | None:
    return None if when is None else when.replace(tzinfo=UTC)


def _columns(plan: ActionPlan) -> dict[str, Any]:
    return {
        "plan_id": plan.plan_id,
        "status": plan.status.value,
        "region": plan.region,
        "title": plan.title,
        "changes": [c.model_dump(mode="json") for c in plan.changes],
        "monthly_saving_nanos": to_nanos(plan.monthly_saving),
        "currency": plan.currency,
        "risk": plan.risk.value,
        "requires_approval": plan.requires_approval,
        "approval_reasons": list(plan.approval_reasons),
        "reason": plan.reason,
        "decided_by": plan.decided_by,
        "decided_at": None if plan.decided_at is None else to_naive_utc(plan.decided_at),
        "requested_by": plan.requested_by,
        "created_at": to_naive_utc(plan.created_at),
        "updated_at": to_naive_utc(plan.updated_at),
    }


def _comparable(plan: ActionPlan) -> dict[str, Any]:
    """What a rescan may change in a proposed plan (not its times), as values: a stored 210.240000000 is 210.24."""
    return plan.model_dump(include={"title", "changes", "monthly_saving", "risk", "requires_approval",
                                    "approval_reasons"})  # fmt: skip


def _plan(row: Mapping[Any, Any]) -> ActionPlan:
    return ActionPlan(
        plan_id=row["plan_id"],
        status=PlanStatus(row["status"]),
        region=row["region"],
        title=row["title"],
        changes=[PlannedChange.model_validate(c) for c in row["changes"]],
        monthly_saving=from_nanos(row["monthly_saving_nanos"]),
        currency=row["currency"],
        risk=row["risk"],
        requires_approval=row["requires_approval"],
        approval_reasons=row["approval_reasons"],
        reason=row["reason"],
        decided_by=row["decided_by"],
        decided_at=_aware(row["decided_at"]),
        requested_by=row["requested_by"],
        tenant_id=row["tenant_id"],
        created_at=row["created_at"].replace(tzinfo=UTC),
        updated_at=row["updated_at"].replace(tzinfo=UTC),
    )


@dataclass(frozen=True)
class PlanPage:
    plans: list[ActionPlan]
    next_cursor: tuple[datetime, str] | None  # (updated_at, plan_id) of the last plan when more may follow


@dataclass(frozen=True)
class Savings:
    """Monthly savings by plan status: achieved (applied) and available (proposed or approved)."""

    applied: Decimal
    applied_plans: int
    available: Decimal
    available_plans: int


class PlanStore(TenantScoped):
    """One tenant's action plans."""

    async def propose(self, plans: Sequence[ActionPlan], region: str, now: datetime) -> list[ActionPlan]:
        """Store a scan's plans for `region`: new ones are inserted; ones already proposed are refreshed when the scan
        changed them (saving, evidence, policy); superseded ones found again are proposed again; proposed plans the
        scan no longer finds become superseded. Plans already decided keep their state. Returns the plans whose
        stored state changed (to publish)."""
        if any(p.tenant_id != self.tenant_id for p in plans):
            raise ValueError(f"plans of another tenant given to the store of tenant {self.tenant_id!r}")
        changed: list[ActionPlan] = []
        wanted = {p.plan_id: p for p in plans}
        reopenable = (PlanStatus.PROPOSED.value, PlanStatus.SUPERSEDED.value, PlanStatus.EXPIRED.value)
        async with self._engine.begin() as conn:
            existing = {
                r.plan_id: r
                for r in await conn.execute(
                    # The scan's plans, and the region's open ones (to supersede): not its whole decided history.
                    select(PlanRow.__table__).where(
                        self._mine(PlanRow),
                        or_(
                            PlanRow.plan_id.in_(list(wanted)),
                            and_(PlanRow.region == region, PlanRow.status == PlanStatus.PROPOSED.value),
                        ),
                    )
                )
            }
            for plan in plans:
                row = existing.get(plan.plan_id)
                if row is None:
                    await conn.execute(insert(PlanRow).values(**_columns(plan), tenant_id=self.tenant_id))
                    changed.append(plan)
                    continue
                if row.status not in reopenable:
                    continue  # decided: a person or the executor owns its state now
                stored = _plan(row._mapping)
                # Still open: the same proposal, refreshed. Superseded or expired: a new proposal from now.
                reopened = row.status != PlanStatus.PROPOSED.value
                fresh = plan if reopened else plan.model_copy(update={"created_at": stored.created_at})
                same = _comparable(stored) == _comparable(fresh) and row.status == PlanStatus.PROPOSED.value
                if same:
                    continue  # found again unchanged: nothing to store or publish
                columns = _columns(fresh) | {"reason": "", "decided_by": None, "decided_at": None}
                # A refreshed proposal keeps its pending approval request (not written: a request made meanwhile on
                # another connection must not be undone); a reopened one starts without one.
                if reopened:
                    columns["requested_by"] = None
                else:
                    del columns["requested_by"]
                # Only while still open: a decision taken meanwhile (another connection) wins over the scan.
                result = await conn.execute(
                    update(PlanRow)
                    .where(self._mine(PlanRow), PlanRow.plan_id == plan.plan_id, PlanRow.status.in_(reopenable))
                    .values(**columns)
                )
                if result.rowcount:  # type: ignore[attr-defined]
                    changed.append(fresh)
            gone = [pid for pid, row in existing.items() if row.status == PlanStatus.PROPOSED and pid not in wanted]
            for plan_id in gone:
                superseded = await self._set(
                    conn,
                    plan_id,
                    PlanStatus.SUPERSEDED,
                    now,
                    only_from=frozenset({PlanStatus.PROPOSED}),
                    reason="a later scan no longer proposes it",
                )
                if superseded is not None:
                    changed.append(superseded)
        return changed

    async def transition(
        self,
        plan_id: str,
        status: PlanStatus,
        now: datetime,
        *,
        only_from: frozenset[PlanStatus] | None = None,
        reason: str | None = None,
        decided_by: str | None = None,
        requested_by: str | None = None,
    ) -> ActionPlan | None:
        """Move a plan to `status` (only from one of `only_from`, when given); None when it is not there or
        not in such a state, so two deciders cannot both win."""
        async with self._engine.begin() as conn:
            return await self._set(conn, plan_id, status, now, only_from, reason, decided_by, requested_by)

    async def _set(
        self,
        conn: AsyncConnection,
        plan_id: str,
        status: PlanStatus,
        now: datetime,
        only_from: frozenset[PlanStatus] | None = None,
        reason: str | None = None,
        decided_by: str | None = None,
        requested_by: str | None = None,
    ) -> ActionPlan | None:
        values: dict[str, Any] = {"status": status.value, "updated_at": to_naive_utc(now)}
        if reason is not None:
            values["reason"] = reason[:4000]
        if decided_by is not None:
            values["decided_by"], values["decided_at"] = decided_by[:200], to_naive_utc(now)
        if requested_by is not None:
            values["requested_by"] = requested_by[:200]
        where = and_(self._mine(PlanRow), PlanRow.plan_id == plan_id)
        if only_from is not None:
            where = and_(where, PlanRow.status.in_([s.value for s in only_from]))
        result = await conn.execute(update(PlanRow).where(where).values(**values))
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
        row = (
            await conn.execute(select(PlanRow.__table__).where(self._mine(PlanRow), PlanRow.plan_id == plan_id))
        ).one()
        return _plan(row._mapping)

    async def request_approval(self, plan_id: str, requested_by: str, now: datetime) -> ActionPlan | None:
        """Record who asks for a proposed plan's approval (the first asker); None unless it is proposed and not yet
        asked for. The gateway alone writes `requested_by`; the optimizer keeps it while the plan stays open."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(PlanRow)
                .where(
                    self._mine(PlanRow),
                    PlanRow.plan_id == plan_id,
                    PlanRow.status == PlanStatus.PROPOSED.value,
                    PlanRow.requested_by.is_(None),
                )  # fmt: skip
                .values(requested_by=requested_by[:200], updated_at=to_naive_utc(now))
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return None
            row = (
                await conn.execute(select(PlanRow.__table__).where(self._mine(PlanRow), PlanRow.plan_id == plan_id))
            ).one()
        return _plan(row._mapping)

    async def expire(self, proposed_before: datetime, now: datetime) -> list[ActionPlan]:
        """Proposed plans nobody decided on since before `proposed_before` become expired; returns them."""
        stmt = select(PlanRow.plan_id).where(
            self._mine(PlanRow),
            PlanRow.status == PlanStatus.PROPOSED.value,
            PlanRow.created_at < to_naive_utc(proposed_before),
        )
        expired = []
        async with self._engine.begin() as conn:
            for (plan_id,) in (await conn.execute(stmt)).all():
                done = await self._set(
                    conn, plan_id, PlanStatus.EXPIRED, now, only_from=frozenset({PlanStatus.PROPOSED}),
                    reason=f"not decided since it was proposed on {proposed_before:%Y-%m-%d}; a later scan proposes it anew",
                )  # fmt: skip
                if done is not None:
                    expired.append(done)
        return expired

    async def get(self, plan_id: str) -> ActionPlan | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(PlanRow.__table__).where(self._mine(PlanRow), PlanRow.plan_id == plan_id))
            ).first()
        return None if row is None else _plan(row._mapping)

    async def get_many(self, plan_ids: Sequence[str]) -> dict[str, ActionPlan]:
        """The plans of these ids that exist, in one query: what a batch loader needs."""
        if not plan_ids:
            return {}
        stmt = select(PlanRow.__table__).where(self._mine(PlanRow), PlanRow.plan_id.in_(list(set(plan_ids))))
        async with self._engine.connect() as conn:
            return {r.plan_id: _plan(r._mapping) for r in await conn.execute(stmt)}

    async def page(
        self, status: PlanStatus | None = None, limit: int = 50, after: tuple[datetime, str] | None = None
    ) -> PlanPage:
        """Plans newest first (by last update), `limit` at a time after the cursor."""
        stmt = select(PlanRow.__table__).where(self._mine(PlanRow))
        if status is not None:
            stmt = stmt.where(PlanRow.status == status.value)
        plans, next_key = await newest_first(
            self._engine, stmt, PlanRow.updated_at, PlanRow.plan_id, limit, after, _plan
        )
        return PlanPage(plans, next_key)

    async def savings(self) -> Savings:
        stmt = (
            select(PlanRow.status, func.count(), func.coalesce(func.sum(PlanRow.monthly_saving_nanos), 0))
            .where(self._mine(PlanRow))
            .group_by(PlanRow.status)
        )
        async with self._engine.connect() as conn:
            by_status = {r[0]: (int(r[1]), int(r[2])) for r in await conn.execute(stmt)}
        available = [by_status.get(s, (0, 0)) for s in (PlanStatus.PROPOSED, PlanStatus.APPROVED, PlanStatus.APPLYING)]
        applied = by_status.get(PlanStatus.APPLIED, (0, 0))
        return Savings(
            applied=from_nanos(applied[1]),
            applied_plans=applied[0],
            available=from_nanos(sum(a[1] for a in available)),
            available_plans=sum(a[0] for a in available),
        )


@dataclass(frozen=True)
class StoredRecommendation:
    recommendation_id: str
    region: str
    kind: str
    resource_id: str
    summary: str
    monthly_saving: Decimal
    confidence: float
    risk: str
    current: str | None
    proposed: str | None
    evidence: dict[str, Any]
    plan_id: str | None
    found_at: datetime


def recommendation_id(region: str, kind: str, resource_id: str) -> str:
    return stable_record_id("recommendation", region, kind, resource_id)


class RecommendationStore(TenantScoped):
    """One tenant's latest scan findings per region: a scan replaces its region's findings as a whole."""

    async def replace(self, region: str, found: Sequence[StoredRecommendation]) -> None:
        rows = [
            {
                "recommendation_id": r.recommendation_id,
                "tenant_id": self.tenant_id,
                "region": r.region,
                "kind": r.kind,
                "resource_id": r.resource_id,
                "summary": r.summary[:1000],
                "monthly_saving_nanos": to_nanos(r.monthly_saving),
                "confidence": r.confidence,
                "risk": r.risk,
                "current": r.current,
                "proposed": r.proposed,
                "evidence": r.evidence,
                "plan_id": r.plan_id,
                "found_at": to_naive_utc(r.found_at),
            }
            for r in found
        ]
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(RecommendationRow).where(self._mine(RecommendationRow), RecommendationRow.region == region)
            )
            if rows:
                await conn.execute(insert(RecommendationRow), rows)

    async def all(self, kind: str | None = None, region: str | None = None) -> list[StoredRecommendation]:
        """Every current finding, largest saving first."""
        stmt = select(RecommendationRow.__table__).where(self._mine(RecommendationRow))
        if kind is not None:
            stmt = stmt.where(RecommendationRow.kind == kind)
        if region is not None:
            stmt = stmt.where(RecommendationRow.region == region)
        stmt = stmt.order_by(RecommendationRow.monthly_saving_nanos.desc(), RecommendationRow.recommendation_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            StoredRecommendation(
                **{k: v for k, v in r._mapping.items() if k not in ("monthly_saving_nanos", "found_at", "tenant_id")},
                monthly_saving=from_nanos(r.monthly_saving_nanos),
                found_at=r.found_at.replace(tzinfo=UTC),
            )
            for r in rows
        ]
