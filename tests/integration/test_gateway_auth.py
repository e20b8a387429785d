"""Every /v1 call needs the API key (REST and WebSocket); probes stay open; no key means loopback only."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from outlay.kafka.embedded_broker import free_port
from outlay.settings import Settings
from services.gateway.app import create_app
from services.gateway.main import InsecureBinding, check_binding
from tests.integration.gateway_fixtures import api_client

KEY = "test-key-0123456789abcdef"
COSTS = "/v1/costs?start=2024-01-01&end=2024-01-02&granularity=day"


@pytest.fixture
async def api(store_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=KEY))) as client:
        yield client


async def test_costs_refused_without_or_with_a_wrong_key(api: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": f"Bearer {KEY}x"}, {"X-API-Key": "nope"}, {"Authorization": KEY}):
        response = await api.get(COSTS, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"] == "Bearer"
        assert KEY not in response.text


async def test_costs_served_with_the_key(api: httpx.AsyncClient) -> None:
    for headers in ({"Authorization": f"Bearer {KEY}"}, {"X-API-Key": KEY}):
        response = await api.get(COSTS, headers=headers)
        assert response.status_code == 200, response.text


async def test_probes_and_openapi_need_no_key(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).status_code == 200
    spec = (await api.get("/openapi.json")).json()
    assert "401" in spec["paths"]["/v1/costs"]["get"]["responses"]


async def test_websocket_needs_the_key(store_url: str) -> None:
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=KEY))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(20):
            while not server.started:
                assert not task.done(), "uvicorn stopped during startup"
                await asyncio.sleep(0.02)
        url = f"ws://127.0.0.1:{port}/v1/stream"
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url):
                pass
        assert refused.value.response.status_code == 403
        async with connect(f"{url}?api_key={KEY}") as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert hello["type"] == "hello"
        async with connect(url, additional_headers={"Authorization": f"Bearer {KEY}"}) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "hello"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


def test_no_key_means_loopback_only() -> None:
    check_binding(Settings(OUTLAY_API_HOST="127.0.0.1"))
    check_binding(Settings(OUTLAY_API_HOST="::1"))
    check_binding(Settings(OUTLAY_API_HOST="0.0.0.0", OUTLAY_API_KEY=KEY))
    with pytest.raises(InsecureBinding, match="OUTLAY_API_KEY"):
        check_binding(Settings(OUTLAY_API_HOST="0.0.0.0"))


def test_the_key_is_never_in_logs_or_redacted_settings() -> None:
    settings = Settings(OUTLAY_API_KEY=KEY, DATABASE_URL="postgresql://u:secretpw@db/x")
    shown = json.dumps(settings.redacted(), default=str)
    assert KEY not in shown and "secretpw" not in shown
