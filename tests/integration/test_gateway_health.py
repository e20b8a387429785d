"""/healthz and /readyz against the real store and broker, and with a broker that is not there."""

from __future__ import annotations

import httpx

from outlay.kafka.embedded_broker import free_port
from outlay.settings import Settings
from services.gateway.app import create_app
from tests.integration.gateway_fixtures import api_client


async def _get(settings: Settings, path: str) -> httpx.Response:
    async with api_client(create_app(settings, probe_timeout=1.5)) as client:
        return await client.get(path)


async def test_healthz_needs_nothing(store_url: str) -> None:
    # A broker address where nothing listens: liveness must not depend on it.
    settings = Settings(DATABASE_URL=store_url, KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}")
    resp = await _get(settings, "/healthz")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}


async def test_ready_with_store_and_broker(store_url: str, broker: str) -> None:
    resp = await _get(Settings(DATABASE_URL=store_url, KAFKA_BOOTSTRAP_SERVERS=broker), "/readyz")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "ready" and body["failed"] == []
    assert body["checks"]["store"]["ok"] and body["checks"]["broker"]["ok"]


async def test_not_ready_names_the_broker(store_url: str) -> None:
    settings = Settings(DATABASE_URL=store_url, KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}")
    resp = await _get(settings, "/readyz")
    assert resp.status_code == 503
    body = resp.json()
    assert body["failed"] == ["broker"]
    assert body["checks"]["store"]["ok"] is True


async def test_not_ready_names_the_store(broker: str) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/outlay_missing_{free_port()}"  # no such database
    resp = await _get(Settings(DATABASE_URL=url, KAFKA_BOOTSTRAP_SERVERS=broker), "/readyz")
    assert resp.status_code == 503
    assert resp.json()["failed"] == ["store"]


async def test_store_down_is_503_problem_not_500() -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/outlay_missing_{free_port()}"
    resp = await _get(Settings(DATABASE_URL=url), "/v1/costs")
    assert resp.status_code == 503
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["type"].endswith("store-unavailable") and resp.headers["retry-after"] == "5"
