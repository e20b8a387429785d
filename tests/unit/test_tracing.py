"""Tracing's pieces: off by default (nothing injected), a batch's span continues its first message's trace and
links the others, a saved `traceparent` is continued, JSON log lines carry the trace they were written in,
and the JSON-lines exporter writes what the chain test reads."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from outlay.telemetry import tracing
from outlay.telemetry.logs import LineFormatter


def test_tracing_is_off_unless_configured_and_then_injects_nothing() -> None:
    assert not tracing.setup_tracing("ledger", environ={})
    assert tracing.kafka_headers() == [] and tracing.http_headers() == {}
    with tracing.batch_span("x", [[("traceparent", b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01")]]) as span:
        assert span is None


def test_a_batch_continues_the_first_trace_and_links_the_others(traced: InMemorySpanExporter) -> None:
    headers = []
    for name in ("a", "b", "a-again"):
        with tracing.span(name):
            headers.append(tracing.kafka_headers())
    headers[2] = headers[0]  # two messages of one trace: one parent, not a link to itself
    with tracing.batch_span("ledger write", [None, *headers, {"other": b"x"}], messages=5):
        pass
    spans = {s.name: s for s in traced.get_finished_spans()}
    batch, a, b = spans["ledger write"], spans["a"], spans["b"]
    assert batch.parent is not None and batch.parent.span_id == a.context.span_id
    assert batch.context.trace_id == a.context.trace_id
    assert [link.context.span_id for link in batch.links] == [b.context.span_id]
    assert batch.attributes is not None and batch.attributes["messages"] == 5


def test_a_saved_traceparent_is_continued_and_json_logs_carry_the_trace(traced: InMemorySpanExporter) -> None:
    with tracing.span("queue"):
        saved = tracing.http_headers()
    formatter = LineFormatter("gateway", json_lines=True)
    with tracing.client_span("webhook deliver", saved):
        line = json.loads(formatter.format(logging.LogRecord("x", logging.INFO, __file__, 1, "sent", None, None)))
    deliver = next(s for s in traced.get_finished_spans() if s.name == "webhook deliver")
    assert (
        line["trace_id"] == f"{deliver.context.trace_id:032x}" and line["span_id"] == f"{deliver.context.span_id:016x}"
    )
    assert deliver.parent is not None and f"{deliver.parent.span_id:016x}" == saved["traceparent"].split("-")[2]
    outside = json.loads(formatter.format(logging.LogRecord("x", logging.INFO, __file__, 1, "idle", None, None)))
    assert "trace_id" not in outside


def test_the_json_lines_exporter_writes_one_record_per_span(traced: InMemorySpanExporter, tmp_path: Path) -> None:
    exporter = tracing.JsonLinesExporter(tmp_path / "t" / "worker.jsonl")
    with tracing.span("parent"), tracing.span("child", kind=tracing.SpanKind.CONSUMER):
        pass
    exporter.export(traced.get_finished_spans())
    exporter.shutdown()
    records = [json.loads(line) for line in (tmp_path / "t" / "worker.jsonl").read_text().splitlines()]
    child, parent = records
    assert (child["name"], child["kind"], child["parent_id"]) == ("child", "CONSUMER", parent["span_id"])
    assert child["trace_id"] == parent["trace_id"] and parent["parent_id"] is None
