"""API keys with scopes: made by an admin and shown once, stored as a digest, refused beyond their scopes (REST and
WebSocket), refused at once when revoked or expired, and held to a request rate (429 with Retry-After)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from outlay.kafka.embedded_broker import free_port
from outlay.settings import Settings
from services.gateway.app import create_app
from services.gateway.auth import RateLimiter
from services.gateway.main import serving
from tests.integration.gateway_fixtures import api_client

ADMIN = "operator-key-0123456789abcdef"
COSTS = "/v1/costs?start=2024-01-01&end=2024-01-02&granularity=day"
BUDGET = {"name": "web", "scope": "total", "amount": "100"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_scoped_keys_are_shown_once_stored_hashed_limited_to_their_scopes_and_revoked_at_once(
    store_url: str,
) -> None:
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=ADMIN))
    async with api_client(app) as http:
        made = await http.post("/v1/keys", headers=bearer(ADMIN), json={"name": "finance bot", "role": "finance"})
        assert made.status_code == 201, made.text
        finance = made.json()
        assert finance["key"].startswith(f"olk_{finance['key_id']}_") and "write:budgets" in finance["scopes"]
        listed = (await http.get("/v1/keys", headers=bearer(ADMIN))).json()["keys"]
        assert [k["key_id"] for k in listed] == [finance["key_id"]] and "key" not in listed[0]
        assert listed[0]["created_by"] == "operator (key operator)"
        conn = await asyncpg.connect(store_url.replace("+asyncpg", ""))
        try:
            stored = await conn.fetchval("SELECT secret_sha256 FROM api_keys WHERE key_id = $1", finance["key_id"])
        finally:
            await conn.close()
        secret = finance["key"].split("_", 2)[2]
        assert len(stored) == 64 and secret not in stored  # only the digest is kept

        key = finance["key"]
        assert (await http.get(COSTS, headers=bearer(key))).status_code == 200
        assert (await http.post("/v1/budgets", headers=bearer(key), json=BUDGET)).status_code == 201
        refused = await http.post("/v1/plans/abc/approve", headers=bearer(key))
        assert refused.status_code == 403 and "approve:plans" in refused.json()["detail"]
        assert (await http.get("/v1/keys", headers=bearer(key))).status_code == 403  # admin only

        viewer = (
            await http.post("/v1/keys", headers=bearer(ADMIN), json={"name": "v", "scopes": ["read:costs"]})
        ).json()
        assert (await http.get(COSTS, headers=bearer(viewer["key"]))).status_code == 200
        assert (await http.get("/v1/budgets", headers=bearer(viewer["key"]))).status_code == 403
        assert (await http.post("/v1/budgets", headers=bearer(viewer["key"]), json=BUDGET)).status_code == 403

        assert (await http.delete(f"/v1/keys/{finance['key_id']}", headers=bearer(ADMIN))).status_code == 204
        assert (await http.get(COSTS, headers=bearer(key))).status_code == 401  # at once
        assert (await http.delete(f"/v1/keys/{finance['key_id']}", headers=bearer(ADMIN))).status_code == 404
        forged = f"olk_{viewer['key_id']}_{'x' * 43}"
        assert (await http.get(COSTS, headers=bearer(forged))).status_code == 401

        bad = await http.post("/v1/keys", headers=bearer(ADMIN), json={"name": "x", "scopes": ["read:everything"]})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("scopes")
        empty = await http.post("/v1/keys", headers=bearer(ADMIN), json={"name": "x"})
        assert empty.status_code == 422 and "scopes" in empty.json()["detail"]
        assert empty.json()["errors"] == [{"field": "scopes", "message": "give at least one scope, or a role"}]
        far = await http.post("/v1/keys", headers=bearer(ADMIN),
                              json={"name": "x", "role": "viewer", "expires_at": "9999-12-31T23:00:00-05:00"})  # fmt: skip
        assert far.status_code == 422 and far.json()["errors"][0]["field"].startswith("expires_at")
        long_name = await http.post("/v1/keys", headers=bearer(ADMIN), json={"name": "n" * 151, "role": "viewer"})
        assert long_name.status_code == 422
        assert (await http.get(COSTS, headers=bearer("olk_zz\x00_" + "y" * 30))).status_code == 401
        past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        stale = await http.post(
            "/v1/keys", headers=bearer(ADMIN), json={"name": "x", "role": "viewer", "expires_at": past}
        )
        assert stale.status_code == 422 and stale.json()["errors"][0]["field"] == "expires_at"
        assert stale.json()["type"] == "urn:outlay:problem:invalid-parameters"


async def test_an_expired_key_is_refused(store_url: str) -> None:
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=ADMIN))
    async with api_client(app) as http:
        soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
        made = await http.post(
            "/v1/keys", headers=bearer(ADMIN), json={"name": "t", "role": "viewer", "expires_at": soon}
        )
        key = made.json()["key"]
        assert (await http.get(COSTS, headers=bearer(key))).status_code == 200
        async with asyncio.timeout(10):
            while (await http.get(COSTS, headers=bearer(key))).status_code != 401:
                await asyncio.sleep(0.2)


async def test_each_key_has_a_request_rate_beyond_which_it_gets_429_with_retry_after(store_url: str) -> None:
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=ADMIN, OUTLAY_RATE_LIMIT_PER_MINUTE=3))
    async with api_client(app) as http:
        codes = [(await http.get(COSTS, headers=bearer(ADMIN))).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = await http.get(COSTS, headers=bearer(ADMIN))
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_the_bucket_refills_at_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    assert all(limiter.take("k") == 0 for _ in range(60)) and limiter.take("k") == pytest.approx(1.0)
    now[0] = 0.5
    assert limiter.take("k") == pytest.approx(0.5) and limiter.take("other") == 0
    now[0] = 1.5
    assert limiter.take("k") == 0


async def _next_reply(ws: Any) -> dict[str, Any]:
    """The next message that is not a heartbeat (they come every 0.3 s here, between any two replies)."""
    async with asyncio.timeout(10):
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if message["type"] != "heartbeat":
                return message


async def test_websocket_topics_need_their_scope(store_url: str) -> None:
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=ADMIN), heartbeat_seconds=0.3)
    port = free_port()
    async with serving(app, port, within=20), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        made = await http.post("/v1/keys", headers=bearer(ADMIN), json={"name": "p", "scopes": ["read:plans"]})
        async with connect(f"ws://127.0.0.1:{port}/v1/stream?api_key={made.json()['key']}") as ws:
            assert (await _next_reply(ws))["type"] == "hello"
            await ws.send(json.dumps({"subscribe": "anomalies"}))
            refused = await _next_reply(ws)
            assert refused == {"type": "error", "detail": "this key lacks the scope read:anomalies for anomalies"}
            await ws.send(json.dumps({"subscribe": "plans"}))
            assert (await _next_reply(ws))["type"] == "subscribed"
            # Revoked while the stream is open: the stream closes at the next check (every heartbeat).
            assert (await http.delete(f"/v1/keys/{made.json()['key_id']}", headers=bearer(ADMIN))).status_code == 204
            async with asyncio.timeout(10):
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_a_stream_whose_key_cannot_be_checked_for_long_is_closed(store_url: str, monkeypatch: Any) -> None:
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=ADMIN), heartbeat_seconds=0.3)
    port = free_port()
    async with serving(app, port, within=20), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        made = await http.post("/v1/keys", headers=bearer(ADMIN), json={"name": "p", "scopes": ["read:plans"]})
        async with connect(f"ws://127.0.0.1:{port}/v1/stream?api_key={made.json()['key']}") as ws:
            assert (await _next_reply(ws))["type"] == "hello"

            async def store_away(*_: object) -> None:
                raise ConnectionRefusedError("store down")

            monkeypatch.setattr(app.state.auth, "principal", store_away)  # every later check fails
            async with asyncio.timeout(10):
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
