"""The budgets repository: `Budget` in and out of the `budgets` table (PostgreSQL or SQLite)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select, update

from outlay.budgets import Budget, BudgetIn, Threshold
from outlay.money import from_nanos, to_nanos
from outlay.spread import stored_now
from outlay.store.audit import Audit, append_entries
from outlay.store.models import BudgetRow
from outlay.store.tenant_scope import TenantScoped

MAX_BUDGETS = 10_000  # one listing returns them all; a tenant with more needs paging first


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day)


def _settable(budget: BudgetIn) -> dict[str, Any]:
    """The columns a caller sets (create and replace): all but the id, the tenant and the creation time."""
    return {
        "name": budget.name,
        "scope": budget.scope,
        "amount_nanos": to_nanos(budget.amount),
        "currency": budget.currency,
        "period": budget.period.value,
        "start": _midnight(budget.start),
        "end": _midnight(budget.end),
        "thresholds": [{"basis": t.basis.value, "percent": format(t.percent, "f")} for t in budget.thresholds],
    }


def _budget(row: Mapping[Any, Any]) -> Budget:
    """A budget from its table row's columns."""
    return Budget(
        budget_id=row["budget_id"],
        name=row["name"],
        scope=row["scope"],
        amount=from_nanos(row["amount_nanos"]),
        currency=row["currency"],
        period=row["period"],
        start=row["start"].date() if row["start"] else None,
        end=row["end"].date() if row["end"] else None,
        thresholds=[Threshold(basis=t["basis"], percent=Decimal(t["percent"])) for t in row["thresholds"]],
        created_at=row["created_at"].replace(tzinfo=UTC),
    )


class BudgetStore(TenantScoped):
    """One tenant's budgets."""

    async def create(self, budget: BudgetIn, audit: Audit[Budget] | None = None) -> Budget:
        """Store `budget`; `audit`'s entries for the stored budget are written in the same transaction."""
        columns = {
            "budget_id": uuid.uuid4().hex,
            "tenant_id": self.tenant_id,
            **_settable(budget),
            "created_at": stored_now(),
        }
        made = _budget(columns)  # tenant_id is not part of the Budget: the store is bound to it
        async with self._engine.begin() as conn:
            await conn.execute(insert(BudgetRow).values(**columns))
            if audit is not None:
                await append_entries(conn, self.tenant_id, audit(made))
        return made

    async def get(self, budget_id: str) -> Budget | None:
        async with self._engine.connect() as conn:
            found = (
                await conn.execute(
                    select(BudgetRow.__table__).where(self._mine(BudgetRow), BudgetRow.budget_id == budget_id)
                )
            ).first()
        return None if found is None else _budget(found._mapping)

    async def all(self) -> list[Budget]:
        stmt = (
            select(BudgetRow.__table__)
            .where(self._mine(BudgetRow))
            .order_by(BudgetRow.created_at, BudgetRow.budget_id)
            .limit(MAX_BUDGETS)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_budget(r._mapping) for r in rows]

    async def replace(self, budget_id: str, budget: BudgetIn, audit: Audit[Budget] | None = None) -> Budget | None:
        """Give budget `budget_id` everything `budget` says, keeping its id and creation time; returns it as stored
        (None: no such budget). `audit`'s entries share the transaction."""
        stmt = (
            update(BudgetRow)
            .where(self._mine(BudgetRow), BudgetRow.budget_id == budget_id)
            .values(**_settable(budget))
            .returning(*BudgetRow.__table__.c)
        )
        async with self._engine.begin() as conn:
            found = (await conn.execute(stmt)).first()
            if found is None:
                return None
            now = _budget(found._mapping)
            if audit is not None:
                await append_entries(conn, self.tenant_id, audit(now))
        return now

    async def delete(self, budget_id: str, audit: Audit[Budget] | None = None) -> Budget | None:
        """Delete a budget; returns what it was (None: no such budget). `audit`'s entries share the transaction."""
        stmt = (
            delete(BudgetRow)
            .where(self._mine(BudgetRow), BudgetRow.budget_id == budget_id)
            .returning(*BudgetRow.__table__.c)
        )
        async with self._engine.begin() as conn:
            found = (await conn.execute(stmt)).first()
            if found is None:
                return None
            gone = _budget(found._mapping)
            if audit is not None:
                await append_entries(conn, self.tenant_id, audit(gone))
        return gone
