"""WS /v1/stream: live cost ticks per minute, heartbeats, and per-client service filters.

Client -> server: {"subscribe": "costs", "filters": {"service": "AmazonEC2" | ["AmazonEC2", ...]}}
Server -> client: {"type": "hello" | "subscribed" | "cost_tick" | "heartbeat" | "error", ...}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from services.gateway.stream import DROP_SIGNAL, StreamClient, TickHub

router = APIRouter(tags=["stream"])

TOPICS = ("costs",)
CLOSE_TOO_SLOW = 1013  # "try again later": the client fell too far behind


def parse_subscription(text: str) -> frozenset[str] | None:
    """The service filter of a subscribe message (None = all services); ValueError says what is wrong."""
    try:
        message = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError("message is not JSON") from None
    if not isinstance(message, dict) or message.get("subscribe") not in TOPICS:
        raise ValueError(f'expected {{"subscribe": "costs", "filters": {{...}}}}; topics: {", ".join(TOPICS)}')
    filters = message.get("filters") or {}
    if not isinstance(filters, dict):
        raise ValueError("filters must be an object")
    unknown = sorted(set(filters) - {"service"})
    if unknown:
        raise ValueError(f"unsupported filter(s): {', '.join(unknown)} (supported: service)")
    service = filters.get("service")
    if service is None:
        return None
    values = [service] if isinstance(service, str) else service
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise ValueError("filters.service must be a service name or a non-empty list of names")
    return frozenset(values)


def _describe(services: frozenset[str] | None) -> dict[str, Any]:
    return {"service": sorted(services)} if services is not None else {}


async def _send_loop(ws: WebSocket, client: StreamClient) -> None:
    while True:
        message = await client.queue.get()
        if message is DROP_SIGNAL:
            await ws.close(code=CLOSE_TOO_SLOW, reason="too slow: message queue full")
            return
        await ws.send_json(message)


async def _receive_loop(ws: WebSocket, client: StreamClient) -> None:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:  # a binary frame: answer instead of failing the connection
            client.offer({"type": "error", "detail": "send subscriptions as JSON text frames"})
            continue
        try:
            client.services = parse_subscription(text)
        except ValueError as exc:
            client.offer({"type": "error", "detail": str(exc)})
            continue
        client.offer({"type": "subscribed", "topic": "costs", "filters": _describe(client.services)})


@router.websocket("/v1/stream")
async def stream(ws: WebSocket) -> None:
    hub: TickHub = ws.app.state.hub
    await ws.accept()
    client = hub.register()
    client.offer({"type": "hello", "topics": list(TOPICS), "heartbeat_seconds": hub.heartbeat_seconds})
    tasks = [asyncio.create_task(_send_loop(ws, client)), asyncio.create_task(_receive_loop(ws, client))]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, WebSocketDisconnect | RuntimeError):
                raise exc
    finally:
        hub.unregister(client)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if ws.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await ws.close()
