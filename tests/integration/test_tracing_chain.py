"""One trace follows a batch of usage from its producer (as `outlay ingest` sends a chunk) through the ledger and
the anomaly worker (separate processes: their spans read back from the JSON-lines files they write), the
anomalies topic, the gateway's webhook queue and the webhook's delivery to a local receiver, which gets the
trace's `traceparent`."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from outlay.kafka.embedded_broker import free_port
from outlay.kafka.producer import EventProducer
from outlay.settings import Settings
from outlay.telemetry import tracing
from services.gateway.app import create_app
from services.gateway.main import serving
from tests.integration.test_anomaly_worker import anomaly_worker, ec2
from tests.integration.test_graceful_stop import ledger
from tests.integration.test_webhooks import WITHIN, Receiver, receiving, until
from tests.unit.test_anomaly_series import usage

pytestmark = pytest.mark.e2e


@contextmanager
def running_ledger(broker: str, store_url: str, log: Path) -> Iterator[None]:
    process = ledger(broker, store_url, log)
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def worker_spans(traces_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for f in traces_dir.glob("*.jsonl") for line in f.read_text().splitlines() if line]


async def test_a_usage_batch_is_one_trace_from_producer_to_webhook_delivery(
    traced: InMemorySpanExporter, store_url: str, broker: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    traces_dir = tmp_path / "traces"
    monkeypatch.setenv(tracing.TRACES_DIR_ENV, str(traces_dir))  # the worker subprocess inherits it
    settings = Settings(DATABASE_URL=store_url, KAFKA_BOOTSTRAP_SERVERS=broker, OUTLAY_WEBHOOK_ALLOW_PRIVATE=True)
    receiver = Receiver()
    port = free_port()
    async with (
        receiving(receiver) as base,
        serving(create_app(settings), port, within=WITHIN),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        reply = await http.post("/v1/webhooks", json={"url": f"{base}/hook", "events": ["anomaly"]})
        assert reply.status_code == 201, reply.text
        with (
            anomaly_worker(broker, tmp_path / "anomaly.log"),
            running_ledger(broker, store_url, tmp_path / "ledger.log"),
        ):
            lines = ec2(range(320)) + [usage(m, "60", n=1) for m in range(320, 324)] + ec2(range(320, 330), seed=4)
            with tracing.span("ingest export") as root:
                assert root is not None
                async with EventProducer(broker) as producer:
                    await asyncio.gather(*await producer.send_batch(lines))

            async def delivered() -> list[dict[str, str]]:
                return [h for p, h, _ in receiver.received if p == "/hook" and "traceparent" in h]

            # Two worker processes start first (the anomaly worker imports River and faust): far more than
            # WITHIN on a loaded two-core machine.
            [headers, *_] = await until(delivered, "a traced delivery", within=180)
    trace_id = f"{root.get_span_context().trace_id:032x}"
    assert headers["traceparent"].split("-")[1] == trace_id
    mine = [s for s in traced.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id]
    [publish] = [s for s in mine if s.name == "publish batch"]
    queues = {s.context.span_id: s for s in mine if s.name == "webhook queue (anomaly)"}
    delivers = {f"{s.context.span_id:016x}": s for s in mine if s.name == "webhook deliver"}
    worker = [s for s in worker_spans(traces_dir) if s["trace_id"] == trace_id]
    split_ids = {s["span_id"] for s in worker if s["name"] == "anomaly split"}
    # The anomaly is published by the monitor handling the series' contributions, or (a total, tag or resource
    # series, closed on the usage partitions' watermark) by the sweep the batch's read marks trigger.
    monitor_ids = {s["span_id"]: s for s in worker if s["name"] in ("anomaly monitor", "anomaly sweep")}
    # producer → split (a child of the publishing span) → monitor or sweep → the gateway's queue → the delivery → POST
    assert all(s["parent_id"] == f"{publish.context.span_id:016x}" for s in worker if s["name"] == "anomaly split")
    assert split_ids and all(s["parent_id"] in split_ids for s in monitor_ids.values())
    assert queues and all(q.parent is not None and f"{q.parent.span_id:016x}" in monitor_ids for q in queues.values())
    deliver = delivers[headers["traceparent"].split("-")[2]]  # the POST was sent within its delivery's span
    assert deliver.parent is not None and deliver.parent.span_id in queues
    writes = [s for s in worker if s["name"] == "ledger write"]
    assert writes and all(s["parent_id"] == f"{publish.context.span_id:016x}" for s in writes)
    assert {s["service"] for s in worker} == {"outlay-anomaly", "outlay-ledger"}
