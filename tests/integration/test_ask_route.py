"""POST /v1/ask on a real PostgreSQL ledger: the numbers equal GET /v1/costs for the same query, questions stay
within the caller's tenant, bad input is a 422 naming the field, and `outlay ask` asks the running API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from outlay.cli.main import app as cli
from outlay.events import UsageRecord
from outlay.kafka.embedded_broker import free_port
from outlay.settings import Settings
from outlay.store.engine import make_engine
from services.gateway.anomalies.store import AnomalyStore
from services.gateway.app import create_app
from services.gateway.main import serving
from tests.integration.anomaly_support import EC2, incident
from tests.integration.gateway_fixtures import api_client, record, write_ledger

OPERATOR = "operator-key-0123456789abcdef"
TODAY = datetime.now(UTC).date()
MONDAY = TODAY - timedelta(days=TODAY.weekday())
LAST_WEEK = MONDAY - timedelta(days=7)  # the Monday starting "last week"
WEEK_BEFORE = MONDAY - timedelta(days=14)
QUESTION = "what did team checkout spend on EC2 last week compared with the week before?"


def at(day: date, hour: int) -> str:
    return datetime(day.year, day.month, day.day, hour).isoformat()


def line(record_id: str, service: str, day: date, cost: str, tenant: str, **kw: Any) -> UsageRecord:
    made = record(record_id, service, at(day, 10), at(day, 11), cost, **kw)
    return made.model_copy(update={"tenant_id": tenant})


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def seed(store_url: str) -> None:
    """acme: EC2 under two stored names (FOCUS's and CUR's product code), S3, in two weeks; globex: its own EC2."""
    checkout = {"team": "checkout"}
    rows = [
        line("a1", "Amazon Elastic Compute Cloud", LAST_WEEK + timedelta(days=1), "7.25", "acme", tags=checkout),
        line("a2", "AmazonEC2", LAST_WEEK + timedelta(days=2), "2.000000003", "acme", tags=checkout),
        line("a3", "AmazonEC2", LAST_WEEK + timedelta(days=2), "1.50", "acme", tags={"team": "search"}),
        line("a4", "Amazon Simple Storage Service", LAST_WEEK + timedelta(days=3), "3.00", "acme", tags=checkout),
        line("a5", "Amazon Elastic Compute Cloud", WEEK_BEFORE + timedelta(days=1), "5.00", "acme", tags=checkout),
        line("a6", "Amazon Simple Storage Service", WEEK_BEFORE + timedelta(days=1), "4.00", "acme", tags=checkout),
        line("g1", "Amazon Elastic Compute Cloud", LAST_WEEK + timedelta(days=1), "100.00", "globex",
             tags={"team": "checkout"}),
    ]  # fmt: skip
    engine = make_engine(store_url)
    try:
        await write_ledger(engine, rows)
        start = datetime(LAST_WEEK.year, LAST_WEEK.month, LAST_WEEK.day, 6, tzinfo=UTC) + timedelta(days=2)
        spike = incident(EC2, 0, 30)
        await (
            AnomalyStore(engine)
            .for_tenant("acme")
            .upsert(
                [
                    spike.model_copy(
                        update={"tenant_id": "acme", "start": start, "last_seen": start + timedelta(minutes=30)}
                    )
                ]
            )
        )
    finally:
        await engine.dispose()


@dataclass
class Keys:
    acme: str
    globex: str


@pytest.fixture
async def gateway(store_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Keys]]:
    await seed(store_url)
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=OPERATOR))
    async with api_client(app) as http:
        keys = []
        for tenant in ("acme", "globex"):
            made = await http.post("/v1/tenants", headers=bearer(OPERATOR), json={"tenant_id": tenant, "name": tenant})
            assert made.status_code == 201, made.text
            keys.append(made.json()["admin_key"])
        yield http, Keys(*keys)


async def ask(http: httpx.AsyncClient, key: str, question: str) -> dict[str, Any]:
    reply = await http.post("/v1/ask", headers=bearer(key), json={"question": question})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def total(amounts: list[dict[str, Any]], field: str = "cost") -> Decimal:
    (usd,) = [a for a in amounts if a["currency"] == "USD" and a["cost_kind"] == "billed"]
    return Decimal(usd[field])


async def test_numbers_equal_get_costs_for_the_same_query(gateway: tuple[httpx.AsyncClient, Keys]) -> None:
    http, keys = gateway
    answer = await ask(http, keys.acme, QUESTION)
    assert answer["answered"] and answer["source"] == "offline"
    query = answer["query"]
    assert {f["dimension"]: f["values"] for f in query["filters"]} == {
        "service": ["Amazon Elastic Compute Cloud", "AmazonEC2"],  # both stored spellings of EC2
        "tag:team": ["checkout"],
    }
    assert query["period"] == {"start": LAST_WEEK.isoformat(), "end": MONDAY.isoformat()}
    assert query["compare_to"] == {"start": WEEK_BEFORE.isoformat(), "end": LAST_WEEK.isoformat()}
    assert total(answer["totals"]) == Decimal("9.250000003")
    assert total(answer["totals"], "previous") == Decimal("5") and total(answer["totals"], "change") == Decimal(
        "4.250000003"
    )
    # The same requests through the public API give the same numbers.
    now_call, before_call = answer["api_calls"]
    direct = await http.get(now_call, headers=bearer(keys.acme))
    earlier = await http.get(before_call, headers=bearer(keys.acme))
    assert direct.status_code == earlier.status_code == 200, direct.text
    assert total(direct.json()["totals"]) == total(answer["totals"])
    assert total(earlier.json()["totals"]) == total(answer["totals"], "previous")
    assert "9.25 USD" in answer["explanation"] and "5.00 USD" in answer["explanation"]


async def test_growth_ranking_and_explain_spike(gateway: tuple[httpx.AsyncClient, Keys]) -> None:
    http, keys = gateway
    top = await ask(http, keys.acme, "top 5 services by cost growth last week")
    ranked = [(r["group"]["service"], r["change"]) for r in top["rows"]]
    assert ranked == [
        ("AmazonEC2", "3.500000003"), ("Amazon Elastic Compute Cloud", "2.250000000"),
        ("Amazon Simple Storage Service", "-1.000000000"),
    ]  # fmt: skip
    spike = await ask(http, keys.acme, "why did costs spike last week?")
    assert spike["query"]["intent"] == "explain_spike"
    assert [a["series"] for a in spike["anomalies"]] == [EC2]
    assert "1 cost spike(s)" in spike["explanation"] and "AmazonEC2 +3.50 USD" in spike["explanation"]
    assert any(call.startswith("/v1/anomalies?direction=spike") for call in spike["api_calls"])


async def test_questions_cannot_reach_another_tenants_data(gateway: tuple[httpx.AsyncClient, Keys]) -> None:
    http, keys = gateway
    mine = await ask(http, keys.globex, QUESTION)
    assert total(mine["totals"]) == Decimal("100") and total(mine["totals"], "previous") == Decimal("0")
    # acme's team "search" and its S3 are not in globex's vocabulary: refused, not answered with acme's numbers.
    for question in ("what did team search spend last week", "S3 spend last week"):
        refused = await ask(http, keys.globex, question)
        assert not refused["answered"] and refused["totals"] == [] and refused["query"] is None, refused
        assert refused["explanation"].startswith("I can't answer that")
    # acme's anomaly is not globex's to explain.
    spike = await ask(http, keys.globex, "why did costs spike last week?")
    assert spike["anomalies"] == [] and "No cost spike was detected" in spike["explanation"]
    whole = await ask(http, keys.globex, "how much did we spend last week")
    assert total(whole["totals"]) == Decimal("100")
    acme_total = await ask(http, keys.acme, "how much did we spend last week")
    assert total(acme_total["totals"]) == Decimal("13.750000003")


async def test_cannot_answer_is_200_without_numbers(gateway: tuple[httpx.AsyncClient, Keys]) -> None:
    http, keys = gateway
    answer = await ask(http, keys.acme, "what is our gross margin per customer last month?")
    assert answer["answered"] is False and answer["totals"] == [] and answer["rows"] == []
    assert "I can't answer that" in answer["explanation"]
    unknown = await ask(http, keys.acme, "what did we spend on Redshift last week?")
    assert not unknown["answered"] and "redshift" in unknown["explanation"].lower()
    assert unknown["understood"]["period"] == {"start": LAST_WEEK.isoformat(), "end": MONDAY.isoformat()}


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "question"), ({"question": ""}, "question"), ({"question": "   "}, "question"),
     ({"question": "x" * 501}, "question"), ({"question": 5}, "question"), ({"question": "a\x00b"}, "question"),
     ({"question": "cost", "tenant": "globex"}, "tenant")],
)  # fmt: skip
async def test_bad_input_is_422_naming_the_field(
    gateway: tuple[httpx.AsyncClient, Keys], payload: dict[str, Any], field: str
) -> None:
    http, keys = gateway
    reply = await http.post("/v1/ask", headers=bearer(keys.acme), json=payload)
    assert reply.status_code == 422, reply.text
    assert field in [e["field"] for e in reply.json()["errors"]]


async def test_not_json_and_no_key(gateway: tuple[httpx.AsyncClient, Keys]) -> None:
    http, keys = gateway
    garbled = await http.post(
        "/v1/ask", headers={**bearer(keys.acme), "content-type": "application/json"}, content=b"{"
    )
    assert garbled.status_code == 422
    assert (await http.post("/v1/ask", json={"question": QUESTION})).status_code == 401


async def test_the_cli_asks_the_running_api(store_url: str) -> None:
    await seed(store_url)
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=OPERATOR))
    port = free_port()
    async with serving(app, port, within=30):
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url) as http:
            made = await http.post("/v1/tenants", headers=bearer(OPERATOR), json={"tenant_id": "acme", "name": "acme"})
            key = made.json()["admin_key"]
        env = {"OUTLAY_API_URL": url, "OUTLAY_API_KEY": key}
        runner = CliRunner()
        result = await asyncio.to_thread(runner.invoke, cli, ["ask", QUESTION, "--format", "json"], env=env)
        assert result.exit_code == 0, result.output
        assert '"answered": true' in result.output and '"9.250000003"' in result.output
        refused = await asyncio.to_thread(runner.invoke, cli, ["ask", "tell me a joke"], env=env)
        assert refused.exit_code == 1 and "I can't answer that" in refused.output
