"""Anomalies in the gateway: stored from the topic, listed, pushed over WebSocket, and judged through the API.

Real broker and PostgreSQL; the anomaly events are published here as the anomaly worker would publish them
(the worker itself, end to end, is in test_anomaly_feedback_e2e.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI

from outlay.events import AnomalyFeedback, FeedbackVerdict, Severity
from outlay.settings import Settings
from services.gateway.anomalies.store import AnomalyStore
from services.gateway.app import create_app
from tests.integration.anomaly_support import EC2, TOTAL, incident, publish
from tests.integration.gateway_fixtures import api_client, client, receive_until


async def get_json(api: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await api.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def eventually(api: httpx.AsyncClient, ident: str, condition: Any, within: float = 60) -> dict[str, Any]:
    """GET /v1/anomalies/{id} until `condition(body)` holds (404 while the sink has not stored it yet)."""
    async with asyncio.timeout(within):
        while True:
            response = await api.get(f"/v1/anomalies/{ident}")
            assert response.status_code in (200, 404), response.text
            if response.status_code == 200 and condition(response.json()):
                return response.json()  # type: ignore[no-any-return]
            await asyncio.sleep(0.05)


@pytest.fixture
async def rest(gateway: tuple[str, FastAPI]) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    url, _ = gateway
    base = url.replace("ws://", "http://").removesuffix("/v1/stream")
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        yield http, url


async def test_updates_are_stored_latest_first_listed_and_pushed_to_subscribers(
    rest: tuple[httpx.AsyncClient, str], broker: str
) -> None:
    api, url = rest
    opened, grown, closed = incident(EC2, 0, 3), incident(EC2, 0, 8, impact="30"), incident(EC2, 0, 10, closed=True)
    quiet = incident(TOTAL, 5, 6, severity=Severity.LOW, alerted=False, impact="0.4")
    async with client(url) as ws:
        await receive_until(ws, lambda m: m["type"] == "hello")
        await ws.send(json.dumps({"subscribe": "anomalies", "filters": {"min_severity": "medium"}}))
        ack, _ = await receive_until(ws, lambda m: m["type"] == "subscribed")
        assert ack == {
            "type": "subscribed",
            "topic": "anomalies",
            "filters": {"min_severity": "medium", "include_unalerted": False},
        }
        await publish(broker, opened, quiet, grown, closed)
        last, before = await receive_until(ws, lambda m: m["type"] == "anomaly" and m["anomaly"]["status"] == "closed")
    pushed = [m["anomaly"] for m in before if m["type"] == "anomaly"] + [last["anomaly"]]
    # The unalerted, low-severity incident is filtered out; the alerted one arrives as it opens, grows, ends.
    assert [(a["series"], a["last_seen"][11:16]) for a in pushed] == [(EC2, "06:03"), (EC2, "06:08"), (EC2, "06:10")]
    assert last["anomaly"]["impact"] == "12.500000000" and last["anomaly"]["end"] == "2026-11-01T06:11:00Z"

    final = await eventually(api, closed.anomaly_id, lambda a: a["status"] == "closed")
    assert final["expected_cost"] == "10.000000000" and final["root_cause"] == ["service=AmazonEC2"]
    await eventually(api, quiet.anomaly_id, lambda a: True)
    listed = await get_json(api, "/v1/anomalies")
    assert [a["anomaly_id"] for a in listed["items"]] == [quiet.anomaly_id, closed.anomaly_id]  # newest start first
    assert listed["next_cursor"] is None
    only = {
        "status=open": {"status": "open"},
        "alerted": {"alerted": "true"},
        "series": {"series": EC2},
        "min_severity": {"min_severity": "high"},
        "since": {"since": "2026-11-01T06:05:00Z"},
    }
    found = {
        name: [a["series"] for a in (await get_json(api, "/v1/anomalies", **p))["items"]] for name, p in only.items()
    }
    assert found == {"status=open": [TOTAL], "alerted": [EC2], "series": [EC2], "min_severity": [EC2], "since": [TOTAL]}

    # A replayed old update must not move the incident back in time. The barrier is a new incident of the
    # same series: same key, same partition, so once it is stored the replay has been handled.
    barrier = incident(EC2, 30, 31)
    await publish(broker, opened, barrier)
    await eventually(api, barrier.anomaly_id, lambda a: True)
    assert (await get_json(api, f"/v1/anomalies/{closed.anomaly_id}"))["last_seen"] == "2026-11-01T06:10:00Z"

    first = await get_json(api, "/v1/anomalies", limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = await get_json(api, "/v1/anomalies", limit=2, cursor=first["next_cursor"])
    assert second["next_cursor"] is None
    assert [a["anomaly_id"] for a in first["items"] + second["items"]] == [
        barrier.anomaly_id,
        quiet.anomaly_id,
        closed.anomaly_id,
    ]


async def test_feedback_reaches_the_detector_topic_and_later_updates_keep_it(
    rest: tuple[httpx.AsyncClient, str], broker: str
) -> None:
    api, _ = rest
    opened = incident(EC2, 0, 3)
    await publish(broker, opened)
    await eventually(api, opened.anomaly_id, lambda a: True)

    response = await api.post(f"/v1/anomalies/{opened.anomaly_id}/feedback", json={"verdict": "planned"})
    assert response.status_code == 200, response.text
    assert response.json()["feedback"] == "planned" and response.json()["feedback_at"]

    consumer = AIOKafkaConsumer("outlay.anomaly_feedback.v1", bootstrap_servers=broker, auto_offset_reset="earliest")
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            message = await consumer.getone()
    finally:
        await consumer.stop()
    sent = AnomalyFeedback.model_validate_json(message.value or b"")
    assert (sent.anomaly_id, sent.series, sent.verdict) == (opened.anomaly_id, EC2, FeedbackVerdict.PLANNED)
    assert message.key == EC2.encode()  # the series key: it reaches the detector of that series

    # The detector's next update may not carry the verdict yet; the stored verdict stays.
    await publish(broker, incident(EC2, 0, 6))
    later = await eventually(api, opened.anomaly_id, lambda a: a["last_seen"] == "2026-11-01T06:06:00Z")
    assert later["feedback"] == "planned"
    trail = (await api.get("/v1/audit", params={"subject": f"anomaly:{opened.anomaly_id}"})).json()["entries"]
    assert [(e["event"], e["detail"]) for e in trail] == [("verdict_given", "none -> planned")]

    missing = await api.post("/v1/anomalies/nope/feedback", json={"verdict": "planned"})
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]
    bad = await api.post(f"/v1/anomalies/{opened.anomaly_id}/feedback", json={"verdict": "maybe"})
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["verdict"]
    extra = await api.post(f"/v1/anomalies/{opened.anomaly_id}/feedback", json={"verdict": "planned", "note": 1})
    assert extra.status_code == 422 and [e["field"] for e in extra.json()["errors"]] == ["note"]


@pytest.fixture
async def offline_api(store_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, AnomalyStore]]:
    """The gateway with a store and no broker (KAFKA_BOOTSTRAP_SERVERS unset)."""
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY="k" * 24))
    async with api_client(app) as http:
        http.headers["Authorization"] = "Bearer " + "k" * 24
        yield http, app.state.tenant_stores.anomalies


async def test_bad_parameters_are_named_and_an_undeliverable_verdict_is_not_recorded(
    offline_api: tuple[httpx.AsyncClient, AnomalyStore],
) -> None:
    api, store = offline_api
    cases = {
        "status=sometimes&limit=0": ["status", "limit"],
        "limit=ten": ["limit"],
        "cursor=not-a-cursor": ["cursor"],
        "since=yesterday": ["since"],
        "since=2026-11-02&until=2026-11-01": ["until"],
        "min_severity=huge&direction=sideways&alerted=maybe": ["direction", "min_severity", "alerted"],
        "servce=AmazonEC2": ["servce"],
    }
    for query, fields in cases.items():
        response = await api.get(f"/v1/anomalies?{query}")
        assert response.status_code == 422, query
        assert response.headers["content-type"].startswith("application/problem+json")
        assert sorted(e["field"] for e in response.json()["errors"]) == sorted(fields), query
    assert (await api.get("/v1/anomalies/unknown")).status_code == 404
    assert (await api.get("/v1/anomalies", headers={"Authorization": "Bearer wrong-key-wrong-key"})).status_code == 401

    opened = incident(EC2, 0, 3)
    await store.upsert([opened])
    refused = await api.post(f"/v1/anomalies/{opened.anomaly_id}/feedback", json={"verdict": "false_positive"})
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
    assert "not recorded" in refused.json()["detail"]
    assert (await get_json(api, f"/v1/anomalies/{opened.anomaly_id}"))["feedback"] is None
