"""Synced prices through the store (PostgreSQL and SQLite): saved, replaced on the next sync, and laid over the
bundled catalogue by `load_catalogue`, which is what the services price with."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from outlay.pricing.price_list import SyncedPrice
from outlay.store.engine import make_engine
from outlay.store.prices import SyncedPriceStore, load_catalogue


@pytest.fixture(params=["postgresql", "sqlite"])
def url(request: pytest.FixtureRequest, store_url: str, sqlite_url: str) -> str:
    return store_url if request.param == "postgresql" else sqlite_url


async def test_synced_prices_are_stored_replaced_and_used(url: str) -> None:
    engine = make_engine(url)
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
