"""GET /metrics on the gateway: open like the probes, text format, counting requests by route template."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from outlay.settings import Settings
from services.gateway.app import create_app
from tests.integration.gateway_fixtures import api_client

KEY = "gateway-metrics-test-key-0123456789"


@pytest.fixture
async def api(sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(create_app(Settings(DATABASE_URL=sqlite_url, OUTLAY_API_KEY=KEY))) as client:
        yield client


def requests_counted(text: str, method: str, route: str, status: str) -> float:
    """outlay_http_requests_total for one label set, read from an exposition body."""
    for family in text_string_to_metric_families(text):
        if family.name == "outlay_http_requests":
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels == {
                    "method": method,
                    "route": route,
                    "status": status,
                }:
                    return sample.value
    return 0.0


def registry_count(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("outlay_http_requests_total", labels) or 0.0


async def test_metrics_count_the_request_made_just_before(api: httpx.AsyncClient) -> None:
    before = registry_count("GET", "/healthz", "200")
    assert (await api.get("/healthz")).status_code == 200
    resp = await api.get("/metrics")  # no API key: open like /healthz
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    assert requests_counted(resp.text, "GET", "/healthz", "200") == before + 1
    seconds = REGISTRY.get_sample_value("outlay_http_request_seconds_count", {"method": "GET", "route": "/healthz"})
    assert seconds is not None and seconds >= 1


async def test_bad_requests_are_counted_with_their_status_under_the_route_template(api: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    bad_before = registry_count("GET", "/v1/costs", "422")
    denied_before = registry_count("GET", "/v1/costs", "401")
    unknown_before = registry_count("GET", "unmatched", "404")
    resp = await api.get("/v1/costs", params={"start": "not-a-date", "granularity": "fortnight"}, headers=auth)
    assert resp.status_code == 422
    assert (await api.get("/v1/costs")).status_code == 401
    # Raw paths never become labels: two different unknown paths count under one series.
    assert (await api.get("/wp-admin/x1")).status_code == 404
    assert (await api.get("/v1/costs/does-not-exist-77")).status_code == 404
    body = (await api.get("/metrics")).text
    assert requests_counted(body, "GET", "/v1/costs", "422") == bad_before + 1
    assert requests_counted(body, "GET", "/v1/costs", "401") == denied_before + 1
    assert requests_counted(body, "GET", "unmatched", "404") == unknown_before + 2
    assert "/wp-admin" not in body and "does-not-exist-77" not in body


async def test_openapi_documents_metrics_as_text(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    operation = spec["paths"]["/metrics"]["get"]
    assert list(operation["responses"]["200"]["content"]) == ["text/plain"]


async def test_a_request_continues_the_callers_trace(api: httpx.AsyncClient, traced: InMemorySpanExporter) -> None:
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    reply = await api.get("/v1/costs", headers={"Authorization": f"Bearer {KEY}", "traceparent": caller})
    assert reply.status_code == 200
    servers = [s for s in traced.get_finished_spans() if s.kind is SpanKind.SERVER]
    [served] = [s for s in servers if (s.attributes or {}).get("http.target") == "/v1/costs"]
    assert served.name == "HTTP GET"
    assert f"{served.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert served.parent is not None and f"{served.parent.span_id:016x}" == "b7ad6b7169203331"
