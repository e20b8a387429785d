"""The LLM path against a local HTTP server speaking each provider's API (a real socket server, not a mock).

The server records what it was sent and answers what the test scripts: a valid tool call (used), an invalid one
or an error (the offline parser answers instead), and the key only ever travels in the auth header.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from outlay.ask.adapters.llm_http import HttpLlm, llm_from_settings
from outlay.ask.api import ApiRequest
from outlay.ask.llm import TOOL_NAME
from outlay.ask.service import ask
from outlay.ask.vocabulary import Vocabulary
from outlay.settings import Settings

KEY = "sk-test-secret-key-0123456789"
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
VOCAB = Vocabulary.of(
    {"service": ["Amazon Elastic Compute Cloud", "AmazonEC2", "AmazonS3"]},
    {"team": ["checkout"], "customer": ["acme"]},
    {"requests": {"customer": ["acme"]}, "revenue": {}},
    ["team"],
)
QUERY = {
    "intent": "costs",
    "period": {"start": "2026-11-23", "end": "2026-11-30"},
    "filters": [{"dimension": "service", "values": ["AmazonEC2", "Amazon Elastic Compute Cloud"]}],
}


@dataclass
class FakeProvider:
    """What the server answers next, and every request it got."""

    status: int = 200
    reply: Any = None
    seen: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def provider() -> Iterator[tuple[str, FakeProvider]]:
    state = FakeProvider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
            length = int(self.headers.get("content-length", "0"))
            state.seen.append(
                {"path": self.path, "headers": dict(self.headers), "body": json.loads(self.rfile.read(length))}
            )
            payload = json.dumps(state.reply).encode()
            self.send_response(state.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # bound (listening) before any client connects
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Ledger:
    """The ask service's ports over fixed API bodies (the route's real ports are tested on PostgreSQL)."""

    def __init__(self) -> None:
        self.requests: list[ApiRequest] = []
        self.business_requests: list[ApiRequest] = []

    async def vocabulary(self) -> Vocabulary:
        return VOCAB

    async def costs(self, request: ApiRequest) -> dict[str, Any]:
        self.requests.append(request)
        totals = [{"currency": "USD", "cost_kind": "billed", "cost": "12.500000000"}]
        return {"rows": [], "totals": totals}

    async def anomalies(self, request: ApiRequest) -> list[dict[str, Any]] | None:
        return []

    async def business(self, request: ApiRequest) -> dict[str, Any]:
        self.business_requests.append(request)
        line = {
            "kind": "group", "group": "acme", "currency": "USD", "cost": "30.000000000", "driver": "20000",
            "unit_cost": "1.500000000", "revenue": None, "gross_margin": None, "gross_margin_pct": None,
            "shared_cost": None, "periods": [],
        }  # fmt: skip
        return {"metric": "requests", "per": "1000", "lines": [line], "notes": []}


def anthropic_reply(tool_input: Any) -> dict[str, Any]:
    return {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test", "stop_reason": "tool_use",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": TOOL_NAME, "input": tool_input}],
    }  # fmt: skip


def openai_reply(arguments: str) -> dict[str, Any]:
    call = {"id": "call_1", "type": "function", "function": {"name": TOOL_NAME, "arguments": arguments}}
    return {"id": "c1", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": [call]}}]}  # fmt: skip


async def test_anthropic_tool_call_becomes_the_query(
    provider: tuple[str, FakeProvider], caplog: pytest.LogCaptureFixture
) -> None:
    url, state = provider
    state.reply = anthropic_reply({"answerable": True, "query": QUERY})
    llm = HttpLlm("anthropic", KEY, base_url=url, model="claude-test")
    ledger = Ledger()
    with caplog.at_level(logging.DEBUG):
        answer = await ask("what did EC2 cost last week", NOW, ledger, llm)
    assert answer.answered and answer.source == "llm"
    assert answer.query is not None and answer.query.filters[0].values == ("Amazon Elastic Compute Cloud", "AmazonEC2")
    assert answer.totals[0].cost == "12.500000000"
    assert ledger.requests[0].values("service") == ["Amazon Elastic Compute Cloud", "AmazonEC2"]
    sent = state.seen[0]
    assert sent["path"] == "/v1/messages"
    assert sent["headers"]["x-api-key"] == KEY and sent["headers"]["anthropic-version"] == "2023-06-01"
    body = sent["body"]
    assert body["model"] == "claude-test" and body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    schema = body["tools"][0]["input_schema"]
    assert "$ref" not in json.dumps(schema) and "query" in schema["properties"]
    assert "2026-11-30" in body["messages"][0]["content"] and "AmazonEC2" in body["messages"][0]["content"]
    assert KEY not in caplog.text and KEY not in answer.model_dump_json() and KEY not in repr(llm)


async def test_openai_compatible_tool_call(provider: tuple[str, FakeProvider]) -> None:
    url, state = provider
    state.reply = openai_reply(json.dumps({"answerable": True, "query": QUERY}))
    answer = await ask("what did EC2 cost last week", NOW, Ledger(), HttpLlm("openai", KEY, base_url=url))
    assert answer.answered and answer.source == "llm"
    sent = state.seen[0]
    assert sent["path"] == "/chat/completions"
    assert sent["headers"]["Authorization"] == f"Bearer {KEY}"
    assert sent["body"]["tools"][0]["function"]["name"] == TOOL_NAME
    assert sent["body"]["tool_choice"]["function"]["name"] == TOOL_NAME


@pytest.mark.parametrize(
    ("status", "reply", "why"),
    [
        (200, "not-a-tool-call", "no call"),
        (
            200,
            {"answerable": True, "query": {**QUERY, "period": {"start": "2026-11-30", "end": "2026-11-01"}}},
            "schema",
        ),
        (
            200,
            {"answerable": True, "query": {**QUERY, "filters": [{"dimension": "service", "values": ["AmazonRDS"]}]}},
            "does not have",
        ),
        (200, {"answerable": True, "query": {**QUERY, "sql": "DROP TABLE usage_records"}}, "schema"),
        (500, {"error": {"message": f"bad key {KEY}"}}, "HTTP 500"),
    ],
)
async def test_unusable_replies_fall_back_to_the_offline_parser(
    provider: tuple[str, FakeProvider], status: int, reply: Any, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    url, state = provider
    state.status = status
    state.reply = reply if reply == "not-a-tool-call" or status != 200 else anthropic_reply(reply)
    if reply == "not-a-tool-call":
        state.reply = {"content": [{"type": "text", "text": "The answer is 42 dollars."}]}
    with caplog.at_level(logging.DEBUG):
        answer = await ask("what did EC2 cost last week", NOW, Ledger(), HttpLlm("anthropic", KEY, base_url=url))
    assert answer.source == "offline" and answer.answered
    assert answer.query is not None and answer.query.period.start.isoformat() == "2026-11-23"
    assert any(why in note for note in answer.notes), answer.notes
    assert "42" not in answer.explanation  # the model's own number is never shown
    assert KEY not in caplog.text and KEY not in answer.model_dump_json()


async def test_the_model_may_decline(provider: tuple[str, FakeProvider]) -> None:
    url, state = provider
    state.reply = anthropic_reply({"answerable": False, "reason": "that is about revenue"})
    answer = await ask("what is our revenue", NOW, Ledger(), HttpLlm("anthropic", KEY, base_url=url))
    assert not answer.answered and answer.explanation.startswith("I can't answer that")
    assert "revenue" in answer.explanation and answer.totals == [] and answer.query is None


async def test_an_unreachable_provider_falls_back() -> None:
    llm = HttpLlm("openai", KEY, base_url="http://127.0.0.1:9", timeout=2)  # nothing listens on the discard port
    answer = await ask("what did EC2 cost last week", NOW, Ledger(), llm)
    assert answer.source == "offline" and answer.answered
    assert any("not reachable" in note for note in answer.notes)


def test_settings_make_a_client_only_with_a_provider_and_a_key() -> None:
    assert llm_from_settings(Settings()) is None
    assert llm_from_settings(Settings(OUTLAY_LLM_PROVIDER="openai")) is None
    made = llm_from_settings(Settings(OUTLAY_LLM_PROVIDER="anthropic", OUTLAY_LLM_API_KEY=KEY))
    assert made is not None and made.base_url == "https://api.anthropic.com"
    assert KEY not in repr(Settings(OUTLAY_LLM_API_KEY=KEY)) and KEY not in str(
        Settings(OUTLAY_LLM_API_KEY=KEY).redacted()
    )


@pytest.mark.parametrize("reply", [{"choices": [{"message": "hi"}]}, {"choices": [{"message": {"tool_calls": ["x"]}}]}])
async def test_an_odd_chat_completion_falls_back_and_names_no_address(
    provider: tuple[str, FakeProvider], reply: Any
) -> None:
    url, state = provider
    state.reply = reply
    answer = await ask("what did EC2 cost last week", NOW, Ledger(), HttpLlm("openai", KEY, base_url=url))
    assert answer.source == "offline" and answer.answered
    assert any("not a chat completion" in note for note in answer.notes), answer.notes


async def test_the_provider_address_is_never_in_an_answer() -> None:
    secret_url = "http://user:pw@127.0.0.1:9/v1?api-key=zzz"  # nothing listens on the discard port
    answer = await ask(
        "what did EC2 cost last week", NOW, Ledger(), HttpLlm("openai", KEY, base_url=secret_url, timeout=2)
    )
    assert "zzz" not in answer.model_dump_json() and "pw@" not in answer.model_dump_json()


UNIT_QUERY = {
    "kind": "unit_cost",
    "period": {"start": "2026-10-01", "end": "2026-11-01"},
    "business_metric": "requests",
    "per": 1000,
    "group_by": ["tag:customer"],
    "filters": [{"dimension": "tag:customer", "values": ["acme"]}],
}


async def test_the_schema_offers_every_kind_and_a_unit_query_runs_get_unit_costs(
    provider: tuple[str, FakeProvider],
) -> None:
    url, state = provider
    state.reply = anthropic_reply({"answerable": True, "query": UNIT_QUERY})
    ledger = Ledger()
    answer = await ask(
        "cost per 1,000 requests for acme in October", NOW, ledger, HttpLlm("anthropic", KEY, base_url=url)
    )
    assert answer.answered and answer.source == "llm", answer.explanation
    assert answer.query is not None and answer.query.kind.value == "unit_cost"
    (request,) = ledger.business_requests
    assert request.path == "/v1/unit-costs" and request.value("by") == "customer" and request.value("per") == "1000"
    assert [(line.group, line.unit_cost) for line in answer.unit_lines] == [("acme", "1.500000000")]
    assert ledger.requests == []  # no GET /v1/costs for a unit question
    sent = state.seen[0]["body"]
    schema = sent["tools"][0]["input_schema"]
    kinds = schema["properties"]["query"]["anyOf"][0]["properties"]["kind"]["enum"]
    assert set(kinds) == {"cost", "unit_cost", "gross_margin", "correlation", "allocation"}
    content = sent["messages"][0]["content"]
    assert '"requests"' in content and '"allocation_dimensions": ["team"]' in content


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ({**UNIT_QUERY, "business_metric": "signups"}, "'signups' is not a business metric you have posted"),
        ({"kind": "correlation", "period": UNIT_QUERY["period"], "business_metric": "orders"}, "'orders'"),
        ({**UNIT_QUERY, "filters": [{"dimension": "tag:customer", "values": ["globex"]}]}, "'globex' not among"),
        ({"kind": "allocation", "period": UNIT_QUERY["period"], "allocate_by": "product"}, "no dimension 'product'"),
        ({**UNIT_QUERY, "group_by": ["service"], "filters": []}, "schema"),
        ({"kind": "allocation", "period": UNIT_QUERY["period"]}, "schema"),
        ({**QUERY, "per": 1000}, "schema"),
    ],
)
async def test_an_invalid_business_query_from_the_model_is_not_run(
    provider: tuple[str, FakeProvider], query: dict[str, Any], why: str
) -> None:
    url, state = provider
    state.reply = anthropic_reply({"answerable": True, "query": query})
    ledger = Ledger()
    answer = await ask(
        "cost per 1,000 requests for acme in October", NOW, ledger, HttpLlm("anthropic", KEY, base_url=url)
    )
    # The offline parser answered instead, and said why the model's query was not used.
    assert answer.source == "offline" and any(why in note for note in answer.notes), answer.notes
    assert answer.query is not None and answer.query.filters[0].values == ("acme",)
    assert all(r.value("by") == "customer" for r in ledger.business_requests)
