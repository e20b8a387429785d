"""The store adapter of the forecast service: one tenant's daily (or hourly) cost per combination of the scope
dimensions, from the ledger's rollups (PostgreSQL or SQLite, the same statement).

`CostHistory(engine)` reads the `default` tenant's rollups, `CostHistory(engine).for_tenant(t)` tenant t's: every
statement is filtered on the bound tenant (`TenantScoped`), so no forecast learns from another tenant's cost."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from outlay.money import from_nanos
from outlay.spread import Grain
from outlay.store.models import CostRollup
from outlay.store.tenant_scope import TenantScoped
from services.forecast.scopes import MAX_HISTORY_DAYS, DailyCost, ScopeHistory


class CostHistory(TenantScoped):
    """One tenant's cost history."""

    async def daily(self, as_of: date, tag_keys: tuple[str, ...]) -> ScopeHistory:
        """The last MAX_HISTORY_DAYS days before `as_of`, and `as_of` itself: billed cost per day, cost kind,
        currency, account, service and series tag value."""
        since = datetime.combine(as_of - timedelta(days=MAX_HISTORY_DAYS), datetime.min.time())
        return await self._history(Grain.DAY, since, tag_keys, day_keys=True)

    async def hourly(self, since: datetime, tag_keys: tuple[str, ...]) -> ScopeHistory:
        """The same per hour (keys are UTC hour starts) from `since` (naive UTC) on."""
        return await self._history(Grain.HOUR, since, tag_keys, day_keys=False)

    async def _history(self, grain: Grain, since: datetime, tag_keys: tuple[str, ...], day_keys: bool) -> ScopeHistory:
        tags = [CostRollup.tags[key].as_string().label(f"t{i}") for i, key in enumerate(tag_keys)]
        inner = (
            select(
                CostRollup.period_start.label("day"),
                CostRollup.cost_kind.label("kind"),
                CostRollup.currency.label("currency"),
                CostRollup.billing_account_id.label("account"),
                CostRollup.service.label("service"),
                *tags,
                CostRollup.billed_nanos.label("nanos"),
            )
            .where(self._mine(CostRollup), CostRollup.grain == grain.value, CostRollup.period_start >= since)
            .subquery()
        )
        # Grouped outside, over labelled columns: PostgreSQL would not match `tags ->> $1` in SELECT with the
        # `tags ->> $2` of a GROUP BY (each bound key is its own parameter).
        keys = [inner.c.day, inner.c.kind, inner.c.currency, inner.c.account, inner.c.service]
        keys += [inner.c[f"t{i}"] for i in range(len(tag_keys))]
        stmt = select(*keys, func.sum(inner.c.nanos)).group_by(*keys)
        history = ScopeHistory()
        async with self._engine.connect() as conn:
            result = await conn.stream(stmt)
            async for row in result:
                day, kind, currency, account, service, *tag_values, nanos = row
                history.add(
                    DailyCost(
                        day=day.date() if day_keys else day.replace(tzinfo=UTC),
                        cost_kind=kind,
                        currency=currency,
                        account=account,
                        service=service,
                        tags=dict(zip(tag_keys, tag_values, strict=True)),
                        amount=from_nanos(int(nanos)) if nanos is not None else Decimal(0),
                    )
                )
        return history
