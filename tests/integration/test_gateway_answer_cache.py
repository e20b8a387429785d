"""The answer cache in a running gateway: a real broker carries the ledger's progress, a real PostgreSQL the ledger.

An answer is served again until the ledger announces a commit of its tenant, and then reflects the commit."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from outlay.events import LedgerProgress
from outlay.kafka.producer import EventProducer
from outlay.store.engine import make_engine
from tests.integration.gateway_fixtures import record, wait_for, write_ledger

QUERY = {"start": "2024-05-01", "end": "2024-05-03", "granularity": "day", "group_by": "service"}


def committed(tenant: str) -> LedgerProgress:
    now = datetime.now(UTC)
    return LedgerProgress(written=1, duplicates=0, period_start=now, period_end=now, cost_kinds=["billed"],
                          committed_at=now, tenant_ids=[tenant])  # fmt: skip


async def announce(broker: str, event: LedgerProgress) -> None:
    async with EventProducer(broker, client_id="test-ledger") as producer:
        await producer.send_many([event])


def services(body: dict) -> set[str]:  # type: ignore[type-arg]
    return {row["group"]["service"] for row in body["rows"]}


async def test_answers_are_served_again_until_the_ledger_announces_a_commit(
    gateway: tuple[str, FastAPI], broker: str, store_url: str
) -> None:
    ws_url, app = gateway
    answers = app.state.answers
    assert answers.enabled  # the progress follower is positioned
    base = ws_url.replace("ws://", "http://").removesuffix("/v1/stream")
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        first = (await http.get("/v1/costs", params=QUERY)).json()
        assert "AmazonDynamoDB" not in services(first)

        engine = make_engine(store_url)
        try:
            await write_ledger(engine, [record("ddb-1", "AmazonDynamoDB", "2024-05-01T09:00", "2024-05-01T10:00", "4")])
        finally:
            await engine.dispose()
        # Not announced yet: the kept answer is served (this is what the cache saves: the query).
        assert (await http.get("/v1/costs", params=QUERY)).json() == first
        assert answers.stats.hits == 1

        # Another tenant's commit ends none of this tenant's answers.
        seen = answers.stats.invalidations
        await announce(broker, committed("globex"))
        await wait_for(lambda: answers.stats.invalidations > seen, "the other tenant's commit seen")
        assert (await http.get("/v1/costs", params=QUERY)).json() == first

        seen = answers.stats.invalidations
        await announce(broker, committed("default"))
        await wait_for(lambda: answers.stats.invalidations > seen, "the commit seen")
        after = (await http.get("/v1/costs", params=QUERY)).json()
        assert "AmazonDynamoDB" in services(after)

        # While the follower is away from the broker nothing is served from the cache.
        app.state.follower.ready.clear()
        assert not answers.enabled
        hits = answers.stats.hits
        assert (await http.get("/v1/costs", params=QUERY)).json() == after
        assert answers.stats.hits == hits
