"""WS /v1/stream: live cost ticks per minute, cost anomalies as they open, grow and end, and heartbeats.

Client -> server:
  {"subscribe": "costs", "filters": {"service": "AmazonEC2" | ["AmazonEC2", ...]}}   (on by default, all services)
  {"subscribe": "anomalies", "filters": {"series": "..." | [...], "min_severity": "high",
                                         "include_unalerted": false}}                 (off until subscribed)
  {"subscribe": "budget_alerts", "filters": {"budget_id": "..." | [...]}}             (off until subscribed)
  {"subscribe": "plans", "filters": {"status": "proposed" | [...], "region": "..." | [...]}}  (off until subscribed)
  {"subscribe": "forecasts", "filters": {"scope": "total" | [...]}}                    (off until subscribed)
  {"unsubscribe": "costs" | "anomalies" | "budget_alerts" | "plans" | "forecasts"}
Server -> client: {"type": "hello" | "subscribed" | "unsubscribed" | "cost_tick" | "anomaly" | "budget_alert"
                   | "plan" | "forecast" | "heartbeat" | "error", ...}
Each topic needs its read scope; a client receives its own tenant's events only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from outlay.events.plan import PlanStatus
from services.gateway.anomalies.listing import SEVERITY_ORDER
from services.gateway.auth import WS_POLICY_VIOLATION, WS_TRY_AGAIN_LATER, ApiKeyAuth, presented_key, principal_of
from services.gateway.permissions import Scope
from services.gateway.stream import (
    DROP_SIGNAL,
    AnomalyFilter,
    BudgetAlertFilter,
    ForecastFilter,
    PlanFilter,
    StreamClient,
    StreamHub,
)

router = APIRouter(tags=["stream"])

TOPICS = ("costs", "anomalies", "budget_alerts", "plans", "forecasts")
CLOSE_TOO_SLOW = 1013  # "try again later": the client fell too far behind
FILTERS = {
    "costs": ("service",),
    "anomalies": ("series", "min_severity", "include_unalerted"),
    "budget_alerts": ("budget_id",),
    "plans": ("status", "region"),
    "forecasts": ("scope",),
}
PLAN_STATUSES = frozenset(s.value for s in PlanStatus)
TOPIC_SCOPES = {
    "costs": Scope.READ_COSTS,
    "anomalies": Scope.READ_ANOMALIES,
    "budget_alerts": Scope.READ_BUDGETS,
    "plans": Scope.READ_PLANS,
    "forecasts": Scope.READ_FORECASTS,
}
SEVERITIES = tuple(s.value for s in SEVERITY_ORDER)


def parse_message(text: str) -> tuple[str, str, dict[str, Any]]:
    """(action, topic, filters) of a client message; ValueError says what is wrong."""
    try:
        message = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError("message is not JSON") from None
    if isinstance(message, dict) and message.get("unsubscribe") in TOPICS and len(message) == 1:
        return "unsubscribe", str(message["unsubscribe"]), {}
    if not isinstance(message, dict) or message.get("subscribe") not in TOPICS:
        raise ValueError(
            f'expected {{"subscribe": TOPIC, "filters": {{...}}}} or {{"unsubscribe": TOPIC}}; topics: {", ".join(TOPICS)}'
        )
    topic = str(message["subscribe"])
    filters = message.get("filters") or {}
    if not isinstance(filters, dict):
        raise ValueError("filters must be an object")
    unknown = sorted(set(filters) - set(FILTERS[topic]))
    if unknown:
        raise ValueError(
            f"unsupported filter(s) for {topic}: {', '.join(unknown)} (supported: {', '.join(FILTERS[topic])})"
        )
    return "subscribe", topic, filters


def _names(filters: dict[str, Any], name: str, what: str) -> frozenset[str] | None:
    value = filters.get(name)
    if value is None:
        return None
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise ValueError(f"filters.{name} must be a {what} or a non-empty list of them")
    return frozenset(values)


def cost_filter(filters: dict[str, Any]) -> frozenset[str] | None:
    """The service filter of a costs subscription (None = all services)."""
    return _names(filters, "service", "service name")


def anomaly_filter(filters: dict[str, Any]) -> AnomalyFilter:
    series = _names(filters, "series", "series id")
    floor = filters.get("min_severity", "low")
    if floor not in SEVERITIES:
        raise ValueError(f"filters.min_severity must be one of {', '.join(SEVERITIES)}")
    unalerted = filters.get("include_unalerted", False)
    if not isinstance(unalerted, bool):
        raise ValueError("filters.include_unalerted must be true or false")
    severities = frozenset(SEVERITY_ORDER[SEVERITIES.index(floor) :])
    return AnomalyFilter(series=series, severities=severities, include_unalerted=unalerted)


def plan_filter(filters: dict[str, Any]) -> PlanFilter:
    statuses = _names(filters, "status", "plan status")
    if statuses is not None and not statuses <= PLAN_STATUSES:
        raise ValueError(f"filters.status must be among {', '.join(sorted(PLAN_STATUSES))}")
    return PlanFilter(statuses=statuses, regions=_names(filters, "region", "region name"))


def _describe_plans(wanted: PlanFilter) -> dict[str, Any]:
    described: dict[str, Any] = {}
    if wanted.statuses is not None:
        described["status"] = sorted(wanted.statuses)
    if wanted.regions is not None:
        described["region"] = sorted(wanted.regions)
    return described


def _describe_costs(services: frozenset[str] | None) -> dict[str, Any]:
    return {"service": sorted(services)} if services is not None else {}


def _describe_anomalies(wanted: AnomalyFilter) -> dict[str, Any]:
    described: dict[str, Any] = {
        "min_severity": next(s.value for s in SEVERITY_ORDER if s in wanted.severities),
        "include_unalerted": wanted.include_unalerted,
    }
    if wanted.series is not None:
        described["series"] = sorted(wanted.series)
    return described


def apply_message(client: StreamClient, text: str) -> dict[str, Any]:
    """Change the client's subscriptions as `text` asks; the reply to send (an error names the problem)."""
    try:
        action, topic, filters = parse_message(text)
        if action == "subscribe" and not client.may(TOPIC_SCOPES[topic]):
            return {"type": "error", "detail": f"this key lacks the scope {TOPIC_SCOPES[topic].value} for {topic}"}
        if action == "unsubscribe":
            if topic == "costs":
                client.services = frozenset()
            elif topic == "budget_alerts":
                client.budget_alerts = None
            elif topic == "plans":
                client.plans = None
            elif topic == "forecasts":
                client.forecasts = None
            else:
                client.anomalies = None
            return {"type": "unsubscribed", "topic": topic}
        if topic == "costs":
            client.services = cost_filter(filters)
            return {"type": "subscribed", "topic": topic, "filters": _describe_costs(client.services)}
        if topic == "budget_alerts":
            client.budget_alerts = BudgetAlertFilter(_names(filters, "budget_id", "budget id"))
            wanted = client.budget_alerts.budget_ids
            return {"type": "subscribed", "topic": topic, "filters": {"budget_id": sorted(wanted)} if wanted else {}}
        if topic == "forecasts":
            client.forecasts = ForecastFilter(_names(filters, "scope", "scope"))
            scopes = client.forecasts.scopes
            return {"type": "subscribed", "topic": topic, "filters": {"scope": sorted(scopes)} if scopes else {}}
        if topic == "plans":
            client.plans = plan_filter(filters)
            return {"type": "subscribed", "topic": topic, "filters": _describe_plans(client.plans)}
        client.anomalies = anomaly_filter(filters)
        return {"type": "subscribed", "topic": topic, "filters": _describe_anomalies(client.anomalies)}
    except ValueError as exc:
        return {"type": "error", "detail": str(exc)}


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
        client.offer(apply_message(client, text))


# Checks in a row a stream survives when the store cannot answer (a revoked key's stream must not outlive an outage).
UNCHECKED_LIMIT = 3


async def _key_check_loop(ws: WebSocket, every: float) -> None:
    """A stream lives long: its key is checked again every `every` seconds, so a revoked or expired key's
    stream closes too, not only its next request."""
    auth: ApiKeyAuth = ws.app.state.auth
    key = presented_key(ws)
    unchecked = 0
    while True:
        await asyncio.sleep(every)
        try:
            principal = await auth.principal(ws, key)
        except Exception:  # the store is away: keep the stream a while, but not unchecked for long
            unchecked += 1
            if unchecked >= UNCHECKED_LIMIT:
                await ws.close(code=WS_TRY_AGAIN_LATER, reason="the API key cannot be checked now; reconnect later")
                return
            continue
        unchecked = 0
        if principal is None:
            await ws.close(code=WS_POLICY_VIOLATION, reason="the API key was revoked or has expired")
            return


@router.websocket("/v1/stream")
async def stream(ws: WebSocket) -> None:
    hub: StreamHub = ws.app.state.hub
    await ws.accept()
    client = hub.register(principal_of(ws))
    if not client.may(Scope.READ_COSTS):
        client.services = frozenset()  # the default costs subscription needs read:costs
    client.offer({"type": "hello", "topics": list(TOPICS), "heartbeat_seconds": hub.heartbeat_seconds})
    tasks = [
        asyncio.create_task(_send_loop(ws, client)),
        asyncio.create_task(_receive_loop(ws, client)),
        asyncio.create_task(_key_check_loop(ws, hub.heartbeat_seconds)),
    ]
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
