"""Ingest checkpoints on both store dialects: done+same fingerprint skips, anything else processes."""

from __future__ import annotations

import pytest

from outlay.store.engine import make_engine
from services.ingest.checkpoints import DONE, STARTED, CheckpointStore, CheckpointTotals


@pytest.fixture(params=["store_url", "sqlite_url"])
def any_store_url(request: pytest.FixtureRequest) -> str:
    """PostgreSQL and SQLite in turn (resolved from a sync fixture: async tests cannot do it)."""
    url: str = request.getfixturevalue(request.param)
    return url


async def test_checkpoint_lifecycle(any_store_url: str) -> None:
    engine = make_engine(any_store_url)
    try:
        store = CheckpointStore(engine)
        uri = "s3://bucket/exports/2024-09/part-1.csv.gz"
        assert await store.get(uri) is None
        assert await store.should_process(uri, "etag=a;size=10")

        await store.mark_started(uri, "etag=a;size=10", "cur2")
        started = await store.get(uri)
        assert started is not None and (started.status, started.source) == (STARTED, "cur2")
        assert await store.should_process(uri, "etag=a;size=10")  # died mid-file: send it again

        await store.mark_done(uri, "etag=a;size=10", CheckpointTotals("cur2", accepted=7, rejected=2))
        done = await store.get(uri)
        assert done is not None
        assert (done.status, done.rows_accepted, done.rows_rejected) == (DONE, 7, 2)
        assert done.updated_at >= started.updated_at
        assert not await store.should_process(uri, "etag=a;size=10")
        assert await store.should_process(uri, "etag=b;size=12")  # the object was rewritten
        assert await store.should_process("s3://bucket/exports/other.csv", "etag=a;size=10")

        await store.mark_started(uri, "etag=b;size=12", "cur2")  # a rerun resets the counts
        again = await store.get(uri)
        assert again is not None
        assert (again.status, again.fingerprint, again.rows_accepted) == (STARTED, "etag=b;size=12", 0)
    finally:
        await engine.dispose()
