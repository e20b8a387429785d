"""OpenTelemetry tracing: one trace follows a batch of usage from the producer through every consumer.

Off unless configured (then nothing is injected or recorded, so the hot paths pay nothing): a process traces
when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (spans go to the collector over OTLP/HTTP) or `OUTLAY_TRACES_DIR`
is (each process appends its spans as JSON lines to a file of its own there: tests and a quick look without
a collector).

Context travels in W3C `traceparent` headers: on Kafka messages, HTTP requests and gRPC metadata. Services
handle messages in batches, and a batch holds messages of many traces: its span continues the first
message's trace and links the others (OpenTelemetry's model for batch consumers), so every trace reaches the
batch that handled its message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Link, Span, SpanKind

TRACES_DIR_ENV = "OUTLAY_TRACES_DIR"
OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACEPARENT = "traceparent"
# aiokafka gives a sequence of pairs; faust a list, a mapping or None.
KafkaHeaders = Sequence[tuple[str, bytes]] | Mapping[str, bytes] | None
# Any header form a trace arrives in: Kafka's (bytes values), ASGI's (bytes names and values), HTTP's and
# gRPC metadata's (text).
Headers = Mapping[str, str | bytes] | Iterable[tuple[str | bytes, str | bytes]] | None

_enabled = False


def enabled() -> bool:
    return _enabled


class JsonLinesExporter(SpanExporter):
    """Appends each finished span as one JSON line (ids in hex, as in `traceparent`)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._out: IO[str] = path.open("a", encoding="utf-8")

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            self._out.write(json.dumps(span_record(span)) + "\n")
        self._out.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._out.close()


def span_record(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None
    return {
        "name": span.name,
        "service": span.resource.attributes.get("service.name"),
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_id": None if span.parent is None else f"{span.parent.span_id:016x}",
        "links": [f"{link.context.trace_id:032x}/{link.context.span_id:016x}" for link in span.links],
        "kind": span.kind.name,
        "attributes": dict(span.attributes or {}),
    }


def setup_tracing(service: str, environ: dict[str, str] | None = None) -> bool:
    """Trace this process as `service` if the environment asks for it; whether it does."""
    global _enabled
    env = os.environ if environ is None else environ
    traces_dir, endpoint = env.get(TRACES_DIR_ENV), env.get(OTLP_ENDPOINT_ENV)
    if not traces_dir and not endpoint:
        return False
    provider = TracerProvider(resource=Resource.create({"service.name": f"outlay-{service}"}))
    if traces_dir:
        # Simple (synchronous) export: a test reads the file while the service still runs.
        exporter = JsonLinesExporter(Path(traces_dir) / f"{service}-{os.getpid()}.jsonl")
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # reads the OTEL_* variables
    trace.set_tracer_provider(provider)
    _enabled = True
    return True


def shutdown_tracing() -> None:
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.shutdown()


def tracer() -> trace.Tracer:
    return trace.get_tracer("outlay")


def kafka_headers() -> list[tuple[str, bytes]]:
    """The current context as Kafka headers (none when tracing is off)."""
    return [(key, value.encode()) for key, value in http_headers().items()]


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _carrier(headers: Headers) -> dict[str, str]:
    """The `traceparent` among `headers`, in whichever form they come, as a carrier `extract` reads."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    for key, value in pairs:
        if _text(key).lower() == TRACEPARENT:
            return {TRACEPARENT: _text(value)}
    return {}


def _context_of(headers: Headers) -> otel_context.Context | None:
    carrier = _carrier(headers)
    return extract(carrier) if carrier else None


@contextmanager
def batch_span(name: str, message_headers: Iterable[Headers], **attributes: Any) -> Iterator[Span | None]:
    """A span for handling a batch of messages: a child of the first traced message's context, with links to
    the other traces in the batch. Yields None (and does nothing) when tracing is off."""
    if not _enabled:
        yield None
        return
    parent: otel_context.Context | None = None
    links: list[Link] = []
    seen: set[tuple[int, int]] = set()
    for headers in message_headers:
        context = _context_of(headers)
        if context is None:
            continue
        span_context = trace.get_current_span(context).get_span_context()
        key = (span_context.trace_id, span_context.span_id)
        if key in seen:
            continue
        seen.add(key)
        if parent is None:
            parent = context
        else:
            links.append(Link(span_context))
    with tracer().start_as_current_span(
        name, context=parent, kind=SpanKind.CONSUMER, links=links, attributes=attributes
    ) as span:
        yield span


@contextmanager
def span(name: str, kind: SpanKind = SpanKind.INTERNAL, **attributes: Any) -> Iterator[Span | None]:
    """A span in the current context (nothing when tracing is off)."""
    if not _enabled:
        yield None
        return
    with tracer().start_as_current_span(name, kind=kind, attributes=attributes) as current:
        yield current


def http_headers() -> dict[str, str]:
    """The current context as HTTP (or gRPC metadata) headers."""
    if not _enabled:
        return {}
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier


@contextmanager
def server_span(name: str, headers: Headers, **attributes: Any) -> Iterator[None]:
    """A server span continuing the caller's trace from its `traceparent` header, if any."""
    with _continued(name, headers, SpanKind.SERVER, attributes):
        yield


@contextmanager
def client_span(name: str, headers: Headers, **attributes: Any) -> Iterator[None]:
    """A client span continuing a trace saved earlier (a `traceparent` kept with queued work), if any."""
    with _continued(name, headers, SpanKind.CLIENT, attributes):
        yield


@contextmanager
def _continued(name: str, headers: Headers, kind: SpanKind, attributes: dict[str, Any]) -> Iterator[None]:
    if not _enabled:
        yield
        return
    with tracer().start_as_current_span(name, context=_context_of(headers), kind=kind, attributes=attributes):
        yield


def use_provider(provider: TracerProvider) -> None:
    """Trace this process into `provider` (a test's in-memory exporter; a process keeps its first provider)."""
    global _enabled
    trace.set_tracer_provider(provider)
    _enabled = True


def stop_tracing() -> None:
    """Stop tracing in this process (the provider stays; nothing more is recorded or injected)."""
    global _enabled
    _enabled = False
