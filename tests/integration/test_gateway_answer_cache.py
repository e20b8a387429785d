"""The answer cache in a running gateway: a real broker carries the ledger's progress, a real PostgreSQL the ledger.

An answer is served again until the ledger announces a commit of its tenant, and then reflects the commit."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from outlay.events import LedgerProgress
from outlay.kafka.embedded_broker import EmbeddedBroker, free_port
from outlay.kafka.producer import EventProducer
from outlay.kafka.topics_admin import ensure_topics
from outlay.settings import Settings
from outlay.store.engine import make_engine
from services.gateway.app import create_app
from services.gateway.main import serving
from services.gateway.stream import SILENCE_LIMIT
from tests.integration.gateway_fixtures import TIMEOUT, record, seed_scenario, wait_for, write_ledger

QUERY = {"start": "2024-05-01", "end": "2024-05-03", "granularity": "day", "group_by": "service"}


def committed(tenant: str, start: str = "2024-05-01T09:00", end: str = "2024-05-01T10:00") -> LedgerProgress:
    return LedgerProgress(written=1, duplicates=0, period_start=datetime.fromisoformat(start).replace(tzinfo=UTC),
                          period_end=datetime.fromisoformat(end).replace(tzinfo=UTC), cost_kinds=["billed"],
                          committed_at=datetime.now(UTC), tenant_ids=[tenant])  # fmt: skip


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

        # Another tenant's commit, and this tenant's commit of other days, end none of this tenant's answers.
        seen = answers.stats.commits
        await announce(broker, committed("globex"))
        await announce(broker, committed("default", "2024-06-01T00:00", "2024-06-02T00:00"))
        await wait_for(lambda: answers.stats.commits >= seen + 2, "the other commits seen")
        assert (await http.get("/v1/costs", params=QUERY)).json() == first
        assert answers.stats.invalidations == 0

        await announce(broker, committed("default"))
        await wait_for(lambda: answers.stats.invalidations == 1, "the commit seen")
        after = (await http.get("/v1/costs", params=QUERY)).json()
        assert "AmazonDynamoDB" in services(after)


async def test_nothing_is_served_from_the_cache_once_the_broker_is_gone(store_url: str) -> None:
    """A broker of its own, stopped under the running gateway: the follower's consumer retries quietly, so only
    its probes tell; the cache stops serving within the silence limit."""
    await seed_scenario(store_url)
    with EmbeddedBroker() as own:
        await ensure_topics(own.bootstrap_servers)
        app = create_app(Settings(DATABASE_URL=store_url, KAFKA_BOOTSTRAP_SERVERS=own.bootstrap_servers))
        port = free_port()
        async with serving(app, port, within=TIMEOUT), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            answers = app.state.answers
            for _ in range(2):
                assert (await http.get("/v1/costs", params=QUERY)).status_code == 200
            assert answers.stats.hits == 1
            own.stop()
            await wait_for(
                lambda: not answers.enabled, "the cache off once the broker is silent", within=SILENCE_LIMIT + 10
            )
            hits = answers.stats.hits
            assert (await http.get("/v1/costs", params=QUERY)).status_code == 200  # answered from the store
            assert answers.stats.hits == hits
