"""Synced prices through the store (PostgreSQL and SQLite): saved, replaced on the next sync, and laid over the
bundled catalogue by `load_catalogue`, which is what the services price with."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from outlay.pricing.price_list import SyncedPrice
from outlay.store.engine import make_engine
from outlay.store.prices import SyncedPriceStore, load_catalogue


async def test_synced_prices_are_stored_replaced_and_used(dialect_url: str) -> None:
    engine = make_engine(dialect_url)
    try:
        store = SyncedPriceStore(engine)
        assert await store.last_synced() is None
        first = datetime(2026, 11, 1, tzinfo=UTC)
        m5 = SyncedPrice("AmazonEC2", "m5.large", "eu-west-1", Decimal("0.1070000000"), "Hrs", {"vcpu": "2"})
        assert await store.save([m5, m5], first) == 1
        later = datetime(2026, 11, 30, tzinfo=UTC)
        cheaper = SyncedPrice("AmazonEC2", "m5.large", "eu-west-1", Decimal("0.1010000000"), "Hrs", {"vcpu": "2"})
        await store.save([cheaper], later)
        assert await store.all() == [cheaper] and await store.last_synced() == later
        catalogue = await load_catalogue(engine)
        assert catalogue.ec2_price("m5.large", "eu-west-1").amount == Decimal("0.101")
    finally:
        await engine.dispose()
