"""Synced prices (`outlay pricing sync`) in and out of the `synced_prices` table, and the catalogue with them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.pricing.catalogue import PriceCatalogue
from outlay.pricing.price_list import SyncedPrice
from outlay.spread import to_naive_utc
from outlay.store.models import SyncedPriceRow
from outlay.store.upsert import upsert

_CHUNK = 1000  # rows per INSERT statement (bind-parameter limits)


class SyncedPriceStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def save(self, prices: Sequence[SyncedPrice], at: datetime) -> int:
        """Insert or replace each (service, item, region) price; returns how many were written."""
        rows = {
            (p.service, p.item, p.region): {
                "service": p.service,
                "item": p.item,
                "region": p.region,
                "usd": format(p.usd, "f"),
                "unit": p.unit,
                "attributes": dict(p.attributes),
                "synced_at": to_naive_utc(at),
            }
            for p in prices
        }
        values = list(rows.values())
        async with self._engine.begin() as conn:
            await upsert(conn, SyncedPriceRow.__table__, values, ("service", "item", "region"),
                         ("usd", "unit", "attributes", "synced_at"), _CHUNK)  # fmt: skip
        return len(values)

    async def all(self) -> list[SyncedPrice]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(SyncedPriceRow.__table__))).all()
        return [SyncedPrice(r.service, r.item, r.region, Decimal(r.usd), r.unit, dict(r.attributes)) for r in rows]

    async def last_synced(self) -> datetime | None:
        async with self._engine.connect() as conn:
            at = (await conn.execute(select(func.max(SyncedPriceRow.synced_at)))).scalar()
        return None if at is None else at.replace(tzinfo=UTC)


async def load_catalogue(engine: AsyncEngine) -> PriceCatalogue:
    """The bundled catalogue with every synced price laid over it."""
    synced = await SyncedPriceStore(engine).all()
    bundled = PriceCatalogue.load()
    return bundled.with_synced(synced) if synced else bundled
