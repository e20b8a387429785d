"""WS /v1/stream end to end: uvicorn in-process, a real broker, a real PostgreSQL ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi import FastAPI

from outlay.events import CostKind, LedgerProgress
from outlay.kafka.producer import EventProducer
from tests.integration.gateway_fixtures import client, receive_until, wait_for


def progress(start: str, end: str, kinds: list[str]) -> LedgerProgress:
    return LedgerProgress(
        written=3,
        duplicates=0,
        period_start=datetime.fromisoformat(start).replace(tzinfo=UTC),
        period_end=datetime.fromisoformat(end).replace(tzinfo=UTC),
        cost_kinds=kinds,
        committed_at=datetime.now(UTC),
    )


async def publish(broker: str, event: LedgerProgress) -> None:
    async with EventProducer(broker, client_id="test-ledger") as producer:
        await producer.send_many([event])


async def test_cost_ticks_follow_ledger_progress(gateway: tuple[str, FastAPI], broker: str) -> None:
    url, app = gateway
    async with client(url) as ws, client(url) as other:
        hello, _ = await receive_until(ws, lambda m: m["type"] == "hello")
        assert hello["topics"] == ["costs", "anomalies", "budget_alerts", "plans", "forecasts"]
        await ws.send(json.dumps({"subscribe": "costs", "filters": {"service": "AmazonEC2"}}))
        ack, _ = await receive_until(ws, lambda m: m["type"] == "subscribed")
        assert ack["filters"] == {"service": ["AmazonEC2"]}
        await receive_until(other, lambda m: m["type"] == "hello")
        await wait_for(lambda: len(app.state.hub.clients) == 2, "both clients registered")

        await publish(broker, progress("2024-05-01T10:00", "2024-05-01T10:03", [CostKind.ESTIMATED.value]))

        tick, before = await receive_until(ws, lambda m: m["type"] == "cost_tick")
        assert tick == {
            "type": "cost_tick",
            "minute": "2024-05-01T10:00:00Z",
            "cost": "0.330000000",
            "by_service": {"AmazonEC2": "0.330000000"},
            "cost_kind": "estimated",
            "currency": "USD",
        }
        ticks = [tick] + [(await receive_until(ws, lambda m: m["type"] == "cost_tick"))[0] for _ in range(2)]
        assert [t["minute"][11:16] for t in ticks] == ["10:00", "10:01", "10:02"]
        # The unfiltered client gets the same ticks; heartbeats keep both connections warm meanwhile.
        other_tick, _ = await receive_until(other, lambda m: m["type"] == "cost_tick")
        assert other_tick["by_service"] == {"AmazonEC2": "0.330000000"}
        await receive_until(ws, lambda m: m["type"] == "heartbeat", within=5)


async def test_service_filter_and_bad_messages(gateway: tuple[str, FastAPI], broker: str) -> None:
    url, _ = gateway
    async with client(url) as ws:
        await ws.send("not json")
        error, _ = await receive_until(ws, lambda m: m["type"] == "error")
        assert "JSON" in error["detail"]
        await ws.send(json.dumps({"subscribe": "costs", "filters": {"region": "x"}}))
        error, _ = await receive_until(ws, lambda m: m["type"] == "error")
        assert "region" in error["detail"]
        await ws.send(json.dumps({"subscribe": "costs", "filters": {"service": ["AmazonS3"]}}))
        await receive_until(ws, lambda m: m["type"] == "subscribed")

        # Billed data for 10:00-11:00: EC2's hourly line and S3's daily line both touch these minutes.
        await publish(broker, progress("2024-05-01T10:00", "2024-05-01T11:00", [CostKind.BILLED.value]))
        tick, _ = await receive_until(ws, lambda m: m["type"] == "cost_tick")
        assert tick["minute"] == "2024-05-01T10:00:00Z" and tick["cost_kind"] == "billed"
        assert tick["by_service"] == {"AmazonS3": "0.001666667"}  # EC2 filtered out for this client


async def test_slow_client_does_not_block_others(gateway: tuple[str, FastAPI]) -> None:
    url, app = gateway
    hub = app.state.hub
    async with client(url) as fast:
        await receive_until(fast, lambda m: m["type"] == "hello")
        await wait_for(lambda: len(hub.clients) == 1, "fast client registered")
        (fast_client,) = hub.clients
        hub.queue_size = 8
        slow_client = hub.register()  # registered but never read: its queue of 8 only fills
        for _ in range(hub.queue_size + 1):
            hub.heartbeat()
            await receive_until(fast, lambda m: m["type"] == "heartbeat", within=5)  # the fast one keeps up
        assert slow_client.dropped and slow_client not in hub.clients
        assert fast_client in hub.clients and not fast_client.dropped
