"""Webhooks end to end on the real broker and PostgreSQL: events published on their topics reach a local receiver
as signed POSTs (filters honoured, each update once), a flaky receiver gets retries, a dead one ends on the
dead-letter list until redelivered, and internal addresses are refused unless the operator allows them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
from prometheus_client import REGISTRY

from outlay.events import Severity
from outlay.kafka.embedded_broker import free_port
from outlay.settings import Settings
from services.gateway.app import create_app
from services.gateway.main import serving
from services.gateway.webhooks.signing import verify
from tests.integration.anomaly_support import EC2, TOTAL, incident, publish
from tests.integration.gateway_fixtures import api_client

WITHIN = 30.0


class Receiver:
    """A local HTTP endpoint: records every request; paths fail as told (`fail[path]` times, or always)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.fail: dict[str, int] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append((path, headers, body))
        failing = self.fail.get(path, 0)
        if failing:
            self.fail[path] = failing - 1
        code = 500 if failing else 204
        await send({"type": "http.response.start", "status": code, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(receiver, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(WITHIN):
            while not server.started:
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, WITHIN)


def delivery_outcomes(outcome: str) -> float:
    return REGISTRY.get_sample_value("outlay_webhook_deliveries_total", {"outcome": outcome}) or 0.0


async def until(check: Any, what: str, within: float = WITHIN) -> Any:
    async with asyncio.timeout(within):
        while True:
            found = await check()
            if found:
                return found
            await asyncio.sleep(0.05)


async def test_signed_deliveries_filters_retries_dead_letters_and_redelivery(store_url: str, broker: str) -> None:
    settings = Settings(
        DATABASE_URL=store_url, KAFKA_BOOTSTRAP_SERVERS=broker, OUTLAY_WEBHOOK_ALLOW_PRIVATE=True,
        OUTLAY_WEBHOOK_MAX_ATTEMPTS=3, OUTLAY_WEBHOOK_BACKOFF_S=0.05,
    )  # fmt: skip
    receiver = Receiver()
    receiver.fail = {"/flaky": 2, "/down": 10**6}
    outcomes_before = {o: delivery_outcomes(o) for o in ("delivered", "failed")}
    app = create_app(settings)
    port = free_port()
    async with (
        receiving(receiver) as base,
        serving(app, port, within=WITHIN),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        made = {}
        for path in ("/hook", "/flaky", "/down"):
            reply = await http.post("/v1/webhooks", json={"url": f"{base}{path}", "events": ["anomaly"],
                                                           "filters": {"min_severity": "high"}})  # fmt: skip
            assert reply.status_code == 201, reply.text
            made[path] = reply.json()
        chat = await http.post("/v1/webhooks", json={"url": f"{base}/slack", "events": ["anomaly"], "format": "slack",
                                                      "filters": {"min_severity": "high"}})  # fmt: skip
        assert chat.status_code == 201 and chat.json()["format"] == "slack"
        high, low = incident(EC2, 10, 12, severity=Severity.HIGH), incident(TOTAL, 10, 12, severity=Severity.LOW)
        quiet = incident(EC2, 30, 31, alerted=False)  # recorded, not alerted: never delivered
        await publish(broker, high, low, quiet)

        def got(path: str) -> list[tuple[dict[str, str], bytes]]:
            return [(h, b) for p, h, b in receiver.received if p == path]

        async def hook_done() -> bool:
            return len(got("/hook")) >= 1 and len(got("/flaky")) >= 3 and len(got("/slack")) >= 1

        await until(hook_done, "deliveries")

        async def counted() -> bool:  # an attempt is counted once its outcome is stored, just after the request
            return (
                delivery_outcomes("delivered") - outcomes_before["delivered"] >= 3
                and delivery_outcomes("failed") - outcomes_before["failed"] >= 2
            )

        # Counted by outcome (/hook, /slack and /flaky's third try delivered; its first two failed).
        await until(counted, "delivery outcomes counted")
        [(headers, body)] = got("/hook")  # the low-severity and the unalerted anomaly were filtered out
        assert verify(made["/hook"]["secret"], headers["x-outlay-timestamp"], body, headers["x-outlay-signature"])
        assert not verify(made["/flaky"]["secret"], headers["x-outlay-timestamp"], body, headers["x-outlay-signature"])
        sent = json.loads(body)
        assert (sent["type"], sent["id"], headers["x-outlay-event"]) == ("anomaly", high.anomaly_id, "anomaly")
        assert sent["data"]["severity"] == "high"
        [(slack_headers, slack_body)] = got("/slack")
        message = json.loads(slack_body)
        assert message["text"].startswith("High cost spike") and message["blocks"][0]["type"] == "header"
        assert verify(chat.json()["secret"], slack_headers["x-outlay-timestamp"], slack_body,
                      slack_headers["x-outlay-signature"])  # fmt: skip

        flaky = (await http.get(f"/v1/webhooks/{made['/flaky']['webhook_id']}/deliveries")).json()["deliveries"]
        assert [(d["status"], d["attempts"]) for d in flaky] == [("delivered", 3)]
        down_id = made["/down"]["webhook_id"]

        async def dead() -> list[dict[str, Any]]:
            return (await http.get(f"/v1/webhooks/{down_id}/deliveries?status=dead")).json()["deliveries"]

        [letter] = await until(dead, "the dead letter")
        assert letter["attempts"] == 3 and letter["last_status_code"] == 500 and len(got("/down")) == 3

        # The receiver is back: redelivered on demand, with fresh tries.
        receiver.fail["/down"] = 0
        assert (
            await http.post(f"/v1/webhooks/{down_id}/deliveries/{letter['delivery_id']}/redeliver")
        ).status_code == 202

        async def redelivered() -> bool:
            log = (await http.get(f"/v1/webhooks/{down_id}/deliveries")).json()["deliveries"]
            return log[0]["status"] == "delivered"

        await until(redelivered, "the redelivery")
        assert len(got("/down")) == 4
        assert (
            await http.post(f"/v1/webhooks/{down_id}/deliveries/{letter['delivery_id']}/redeliver")
        ).status_code == 202

        # The same update published again is not delivered twice.
        await publish(broker, high)
        await http.post(f"/v1/webhooks/{made['/hook']['webhook_id']}/ping")

        async def pinged() -> bool:
            return any(json.loads(b)["type"] == "ping" for _, b in got("/hook"))

        await until(pinged, "the ping")
        assert [json.loads(b)["type"] for _, b in got("/hook")] == ["anomaly", "ping"]


async def test_internal_addresses_and_bad_subscriptions_are_refused(store_url: str) -> None:
    app = create_app(Settings(DATABASE_URL=store_url))
    async with api_client(app) as http:
        for body, field in (
            ({"url": "http://127.0.0.1:9/hook", "events": ["plan"]}, "url"),
            ({"url": "http://169.254.169.254/", "events": ["plan"]}, "url"),
            ({"url": "https://93.184.215.14/hook", "events": ["plan"], "filters": {"min_severity": "high"}},
             "filters.min_severity"),
            ({"url": "https://93.184.215.14/hook", "events": ["plan"], "filters": {"status": ["done"]}},
             "filters.status"),
        ):  # fmt: skip
            reply = await http.post("/v1/webhooks", json=body)
            assert reply.status_code == 422 and reply.json()["detail"].startswith(f"{field}:"), reply.text
        bad = await http.post("/v1/webhooks", json={"url": "https://93.184.215.14/x", "events": ["everything"]})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("events")
        ok = await http.post("/v1/webhooks", json={"url": "https://93.184.215.14/x", "events": ["plan"]})
        assert ok.status_code == 201 and "secret" not in (await http.get("/v1/webhooks")).json()["webhooks"][0]
        assert (await http.delete(f"/v1/webhooks/{ok.json()['webhook_id']}")).status_code == 204
        assert (await http.get("/v1/webhooks/nope/deliveries")).status_code == 404


async def test_a_webhooks_deliveries_arrive_in_the_order_of_their_events(store_url: str, broker: str) -> None:
    """Five updates of one series' anomalies, published in order: the receiver gets them in that order (one
    delivery in flight per webhook), each with a larger delivery id."""
    settings = Settings(DATABASE_URL=store_url, KAFKA_BOOTSTRAP_SERVERS=broker, OUTLAY_WEBHOOK_ALLOW_PRIVATE=True)
    receiver = Receiver()
    app = create_app(settings)
    port = free_port()
    async with (
        receiving(receiver) as base,
        serving(app, port, within=WITHIN),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        reply = await http.post("/v1/webhooks", json={"url": f"{base}/ordered", "events": ["anomaly"]})
        assert reply.status_code == 201, reply.text
        updates = [incident(EC2, 10 * i, 10 * i + 2, severity=Severity.HIGH) for i in range(1, 6)]
        await publish(broker, *updates)

        async def all_in() -> bool:
            return len(receiver.received) >= len(updates)

        await until(all_in, "the five deliveries")
        ids = [json.loads(body)["id"] for _, _, body in receiver.received]
        assert ids == [u.anomaly_id for u in updates]
        numbers = [int(headers["x-outlay-delivery"]) for _, headers, _ in receiver.received]
        assert numbers == sorted(numbers)

        # The delivery log in pages, newest first; another tenant's view of the webhook holds nothing.
        hook_id = reply.json()["webhook_id"]
        pages, cursor = [], None
        while True:
            params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            page = (await http.get(f"/v1/webhooks/{hook_id}/deliveries", params=params)).json()
            pages.append([d["delivery_id"] for d in page["deliveries"]])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert [len(p) for p in pages] == [2, 2, 1] and sum(pages, []) == sorted(numbers, reverse=True)
        bad = await http.get(f"/v1/webhooks/{hook_id}/deliveries", params={"cursor": "bm9wZQ=="})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
        store = app.state.webhooks
        assert await store.deliveries(hook_id, "globex") == []
        assert not await store.redeliver(hook_id, "globex", numbers[0], datetime.now(UTC))
