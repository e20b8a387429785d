"""POST /v1/ask on PostgreSQL for unit economics and allocation: after business figures and allocation rules exist,
a question's numbers equal what GET /v1/unit-costs, GET /v1/unit-economics/correlation and GET /v1/allocation
return for the requests the answer lists; metrics, customers and rules are the caller's tenant's only."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from outlay.allocation.rules import AllocationRules
from outlay.ask.service import ask as ask_service
from outlay.cli.main import app as cli
from outlay.events import UsageRecord
from outlay.events.business_metric import BusinessMetric, business_metric_id
from outlay.settings import Settings, get_settings
from outlay.store.allocation import AllocationRulesStore
from outlay.store.business_metrics import BusinessMetricStore
from outlay.store.engine import make_engine
from outlay.tenancy import DEFAULT_TENANT
from services.gateway.app import create_app
from services.gateway.costs_query import CostStore
from services.gateway.routes.ask import StoreData
from tests.integration.gateway_fixtures import api_client, record, write_ledger

OPERATOR = "operator-key-0123456789abcdef"
TODAY = datetime.now(UTC).date()
LAST_MONTH = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=1)  # "last month" starts here
THIS_MONTH = TODAY.replace(day=1)
RULES: dict[str, Any] = {"dimensions": {
    "team": {"tags": {"keys": ["team"]}},
    "product": {"tags": {"keys": ["product"]}},
}}  # fmt: skip


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def usage(tenant: str, rid: str, day: int, cost: str, **tags: str) -> UsageRecord:
    start = datetime.combine(LAST_MONTH + timedelta(days=day), datetime.min.time())
    made = record(rid, "AmazonEC2", start.isoformat(), (start + timedelta(hours=1)).isoformat(), cost, tags=tags)
    return made.model_copy(update={"tenant_id": tenant})


def figure(tenant: str, name: str, day: int, value: str, customer: str | None = None) -> BusinessMetric:
    start = datetime.combine(LAST_MONTH + timedelta(days=day), datetime.min.time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    dim = "customer" if customer else None
    return BusinessMetric(
        metric_id=business_metric_id(tenant, name, start, end, dim, customer), tenant_id=tenant, name=name,
        period_start=start, period_end=end, value=Decimal(value), currency="USD" if name == "revenue" else None,
        dimension=dim, dimension_value=customer,
    )  # fmt: skip


# acme: customers initech and hooli over five days of last month, with shared (untagged) cost and its own figures;
# cost grows with revenue, so the correlation has something to measure. globex: a customer also named hooli.
ACME_USAGE = [
    *[
        usage("acme", f"i{d}", d, str(20 + 5 * d), customer="initech", team="checkout", product="shop")
        for d in range(5)
    ],
    *[usage("acme", f"h{d}", d, str(10 + d), customer="hooli", team="search") for d in range(5)],
    *[usage("acme", f"s{d}", d, "7.5") for d in range(5)],
]
ACME_FIGURES = [
    *[figure("acme", "requests", d, str(10_000 + 1_000 * d), "initech") for d in range(5)],
    *[figure("acme", "requests", d, "4000", "hooli") for d in range(5)],
    *[figure("acme", "revenue", d, str(100 + 20 * d), "initech") for d in range(5)],
    *[figure("acme", "revenue", d, "15", "hooli") for d in range(5)],
    *[figure("acme", "orders", d, str(50 + 3 * d)) for d in range(5)],
]
GLOBEX_USAGE = [usage("globex", "g0", 0, "999", customer="hooli", team="checkout")]
GLOBEX_FIGURES = [figure("globex", "requests", 0, "3000", "hooli")]


@dataclass
class Keys:
    acme: str
    globex: str


@pytest.fixture
async def gateway(store_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Keys]]:
    engine = make_engine(store_url)
    try:
        await write_ledger(engine, ACME_USAGE + GLOBEX_USAGE)
        await BusinessMetricStore(engine).for_tenant("acme").add(ACME_FIGURES)
        await BusinessMetricStore(engine).for_tenant("globex").add(GLOBEX_FIGURES)
    finally:
        await engine.dispose()
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


async def route_body(http: httpx.AsyncClient, key: str, answer: dict[str, Any]) -> dict[str, Any]:
    """The one request the answer lists, sent to the public API by the same caller."""
    (call,) = answer["api_calls"]
    direct = await http.get(call, headers=bearer(key))
    assert direct.status_code == 200, direct.text
    body: dict[str, Any] = direct.json()
    return body


FIELDS = ("kind", "group", "currency", "cost", "driver", "unit_cost", "revenue", "gross_margin", "gross_margin_pct")


def same_lines(answer: dict[str, Any], body: dict[str, Any], groups: list[str | None]) -> None:
    """The answer's lines are the route's lines for these groups, figure for figure (in the answer's own order)."""
    wanted = {(line["kind"], line["group"]): {k: line[k] for k in FIELDS} for line in body["lines"]}
    got = {(line["kind"], line["group"]): {k: line[k] for k in FIELDS} for line in answer["unit_lines"]}
    assert {group for _, group in got} == set(groups)
    assert got == {key: wanted[key] for key in got}


async def test_unit_costs_and_margins_equal_get_unit_costs(gateway: tuple[httpx.AsyncClient, Keys]) -> None:
    http, keys = gateway
    answer = await ask(http, keys.acme, "cost per 1,000 requests per customer last month")
    assert answer["answered"] and answer["query"]["kind"] == "unit_cost", answer["explanation"]
    body = await route_body(http, keys.acme, answer)
    assert answer["api_calls"][0].startswith("/v1/unit-costs?metric=requests&per=1000&by=customer")
    same_lines(answer, body, ["initech", "hooli", None])
    # Ranked by cost per 1,000 requests, largest first (hooli 3.00, initech 2.50), then unallocated and total.
    assert [u["group"] for u in answer["unit_lines"]] == ["hooli", "initech", None, None]
    initech = next(line for line in answer["unit_lines"] if line["group"] == "initech")
    # 150 USD over 60,000 requests: 2.50 per 1,000 (computed by hand from the seed).
    assert (initech["cost"], initech["driver"], initech["unit_cost"]) == ("150.000000000", "60000", "2.500000000")
    assert "initech: 150.00 USD, 2.50 USD per 1,000 requests (60,000 requests)" in answer["explanation"]

    one = await ask(http, keys.acme, "cost per customer for initech last month")
    assert [(u["group"], u["cost"]) for u in one["unit_lines"]] == [("initech", "150.000000000")]
    same_lines(one, await route_body(http, keys.acme, one), ["initech"])

    margin = await ask(http, keys.acme, "gross margin per customer last month")
    assert margin["query"]["kind"] == "gross_margin" and "metric=revenue" in margin["api_calls"][0]
    same_lines(margin, await route_body(http, keys.acme, margin), ["initech", "hooli", None])
    hooli = next(line for line in margin["unit_lines"] if line["group"] == "hooli")
    assert (hooli["revenue"], hooli["gross_margin"]) == ("75.000000000", "15.000000000")  # 75 revenue - 60 cost

    shared = await ask(
        http, keys.acme, "cost per 1,000 requests per customer including shared costs split by usage last month"
    )
    split = await route_body(http, keys.acme, shared)
    assert "shared=by_usage" in shared["api_calls"][0]
    same_lines(shared, split, ["initech", "hooli", None])
    assert sum(Decimal(u["shared_cost"]) for u in shared["unit_lines"] if u["kind"] == "group") == Decimal("37.5")


async def test_correlation_equals_get_correlation(gateway: tuple[httpx.AsyncClient, Keys]) -> None:
    http, keys = gateway
    answer = await ask(http, keys.acme, "how does cost move with revenue last month?")
    assert answer["answered"] and answer["query"]["business_metric"] == "revenue", answer["explanation"]
    body = await route_body(http, keys.acme, answer)
    figures = answer["correlation"]
    for name in ("driver", "currency", "days", "pearson", "elasticity", "fixed_share", "mean_daily_cost"):
        assert figures[name] == body[name], name
    assert figures["days"] == 5 and figures["pearson"] is not None and figures["pearson"] > 0.99
    orders = await ask(http, keys.acme, "elasticity of cost to orders last month")
    assert (
        orders["correlation"]["driver"] == "orders"
        and orders["correlation"]["elasticity"] == (await route_body(http, keys.acme, orders))["elasticity"]
    )


async def test_allocation_equals_get_allocation_after_the_rules_are_put(
    gateway: tuple[httpx.AsyncClient, Keys],
) -> None:
    http, keys = gateway
    before = await ask(http, keys.acme, "what share of cost is unallocated last month?")
    assert not before["answered"] and "no allocation rules yet" in before["explanation"]
    put = await http.put("/v1/allocation/rules", headers=bearer(keys.acme), json=RULES)
    assert put.status_code == 200, put.text

    share = await ask(http, keys.acme, "what share of cost is unallocated last month?")
    assert share["answered"] and share["query"]["allocate_by"] == "team", share["explanation"]
    body = await route_body(http, keys.acme, share)
    (total,) = share["allocation"]
    (expected,) = body["totals"]
    for name in ("currency", "cost_kind", "total", "allocated", "unallocated", "allocated_share"):
        assert total[name] == expected[name], name
    assert [(v["value"], v["total"]) for v in total["values"]] == [(v["value"], v["total"]) for v in expected["values"]]
    # 37.50 of 247.50 carries no team tag (the shared lines): 84.8% allocated, by hand.
    assert (total["unallocated"], total["total"]) == ("37.500000000", "247.500000000")
    assert "84.8% of gross cost allocated, 15.2% unallocated" in share["explanation"]

    product = await ask(http, keys.acme, "top 1 product by allocated cost last month")
    (by_product,) = product["allocation"]
    assert product["api_calls"][0].startswith("/v1/allocation?by=product")
    assert [(v["value"], v["total"]) for v in by_product["values"]] == [
        ("shop", "150.000000000"), ("(unallocated)", "97.500000000"),
    ]  # fmt: skip


async def test_questions_cannot_reach_another_tenants_figures_customers_or_rules(
    gateway: tuple[httpx.AsyncClient, Keys],
) -> None:
    http, keys = gateway
    assert (await http.put("/v1/allocation/rules", headers=bearer(keys.acme), json=RULES)).status_code == 200
    # globex's own hooli: its cost and its requests, not acme's.
    mine = await ask(http, keys.globex, "cost per 1,000 requests per customer last month")
    hooli = next(u for u in mine["unit_lines"] if u["group"] == "hooli")
    assert (hooli["cost"], hooli["driver"], hooli["unit_cost"]) == ("999.000000000", "3000", "333.000000000")
    assert {u["group"] for u in mine["unit_lines"]} == {"hooli", None}
    # acme's customer, acme's metric and acme's rules are not in globex's vocabulary: refused, no numbers.
    for question, named in (
        ("cost per customer for initech last month", "initech"),
        ("elasticity of cost to orders last month", "orders"),
        ("gross margin per customer last month", "revenue"),
        ("cost by team under the allocation rules last month", "no allocation rules yet"),
    ):
        refused = await ask(http, keys.globex, question)
        assert not refused["answered"] and refused["query"] is None, refused
        assert refused["unit_lines"] == [] and refused["allocation"] == [] and refused["correlation"] is None
        assert named in refused["explanation"], refused["explanation"]


async def test_an_unposted_metric_is_refused_by_name(gateway: tuple[httpx.AsyncClient, Keys]) -> None:
    http, keys = gateway
    refused = await ask(http, keys.acme, "cost per 1,000 signups last month")
    assert not refused["answered"] and refused["unit_lines"] == []
    assert "'signups' is not a business metric you have posted" in refused["explanation"]
    assert "orders, requests, revenue" in refused["explanation"]


async def test_the_local_store_ports_answer_for_one_tenant(
    store_url: str, gateway: tuple[httpx.AsyncClient, Keys]
) -> None:
    """`outlay ask` without an API builds StoreData on the cost store alone: the other stores follow its tenant."""
    engine = make_engine(store_url)
    try:
        now = datetime.now(UTC)
        data = StoreData(CostStore(engine).for_tenant("globex"), None, 100_000, now.replace(tzinfo=None))
        answer = await ask_service("cost per 1,000 requests per customer last month", now, data)
        assert answer.answered, answer.explanation
        assert [(u.group, u.cost) for u in answer.unit_lines if u.kind == "group"] == [("hooli", "999.000000000")]
        other = await ask_service("elasticity of cost to orders last month", now, data)
        assert not other.answered and "'orders'" in other.explanation
    finally:
        await engine.dispose()


def test_last_month_is_a_whole_calendar_month() -> None:
    assert LAST_MONTH.day == 1 and LAST_MONTH < THIS_MONTH and isinstance(LAST_MONTH, date)


async def test_outlay_ask_on_the_local_sqlite_store(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`outlay ask` without OUTLAY_API_URL: the default organisation's figures and rules in the SQLite file."""
    engine = make_engine(sqlite_url)
    try:
        await write_ledger(engine, [u.model_copy(update={"tenant_id": DEFAULT_TENANT}) for u in ACME_USAGE])
        figures = [f.model_copy(update={"tenant_id": DEFAULT_TENANT}) for f in ACME_FIGURES]
        await BusinessMetricStore(engine).add(figures)
        await AllocationRulesStore(engine).put(AllocationRules.model_validate(RULES), "test")
    finally:
        await engine.dispose()
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.delenv("OUTLAY_API_URL", raising=False)
    monkeypatch.delenv("OUTLAY_LLM_PROVIDER", raising=False)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        question = ["ask", "cost per 1,000 requests per customer last month", "--format", "json"]
        result = await asyncio.to_thread(runner.invoke, cli, question)
        assert result.exit_code == 0, result.output
        answer = json.loads(result.output)
        initech = next(u for u in answer["unit_lines"] if u["group"] == "initech")
        assert (initech["cost"], initech["unit_cost"]) == ("150.000000000", "2.500000000")
        share = await asyncio.to_thread(runner.invoke, cli, ["ask", "what share of cost is unallocated last month?"])
        assert share.exit_code == 0 and "84.8% of gross cost allocated" in share.output, share.output
        assert re.search(r"\(unallocated\)\s.*\d", share.output), share.output  # the owners' table, unallocated shown
        table = await asyncio.to_thread(runner.invoke, cli, question[:2])  # the same question, as tables
        assert table.exit_code == 0, table.output
        assert re.search(r"initech\s.*│\s*150\s*│.*│\s*2\.5\s*│", table.output), table.output
    finally:
        get_settings.cache_clear()


async def graphql(http: httpx.AsyncClient, key: str, query: str) -> dict[str, Any]:
    reply = await http.post("/graphql", headers=bearer(key), json={"query": query})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def test_graphql_answers_as_rest_does_for_the_callers_tenant(gateway: tuple[httpx.AsyncClient, Keys]) -> None:
    """allocation, unitCosts, correlation and ask in GraphQL: REST's bodies, the caller's tenant only, arguments
    named in errors."""
    http, keys = gateway
    assert (await http.put("/v1/allocation/rules", headers=bearer(keys.acme), json=RULES)).status_code == 200
    start, end = LAST_MONTH.isoformat(), THIS_MONTH.isoformat()
    window = f'start: "{start}", end: "{end}"'
    got = (
        await graphql(
            http, keys.acme,
            f"""{{ allocation(by: "team", {window}, grain: "month")
                   unitCosts(metric: "requests", per: "1000", by: "customer", {window})
                   correlation(driver: "revenue", {window})
                   ask(question: "what share of cost is unallocated last month?") }}""",
        )
    )["data"]  # fmt: skip
    params = {"start": start, "end": end}
    rest_allocation = await http.get(
        "/v1/allocation", params={**params, "by": "team", "grain": "month"}, headers=bearer(keys.acme)
    )
    assert got["allocation"] == rest_allocation.json()
    assert got["allocation"]["totals"][0]["unallocated"] == "37.500000000"
    rest_units = await http.get(
        "/v1/unit-costs", params={**params, "metric": "requests", "per": "1000", "by": "customer"},
        headers=bearer(keys.acme),
    )  # fmt: skip
    assert got["unitCosts"] == rest_units.json()
    assert {line["group"] for line in got["unitCosts"]["lines"]} == {"initech", "hooli", None}
    rest_correlation = await http.get(
        "/v1/unit-economics/correlation", params={**params, "driver": "revenue"}, headers=bearer(keys.acme)
    )
    assert got["correlation"] == rest_correlation.json() and got["correlation"]["days"] == 5
    assert got["ask"]["answered"] and got["ask"]["allocation"][0]["unallocated"] == "37.500000000"
    # globex sees its own hooli (999 over 3,000 requests) and none of acme's customers.
    theirs = (await graphql(http, keys.globex, f'{{ unitCosts(by: "customer", {window}) }}'))["data"]["unitCosts"]
    assert {line["group"] for line in theirs["lines"]} == {"hooli", None}
    assert next(line for line in theirs["lines"] if line["group"] == "hooli")["cost"] == "999.000000000"
    # A bad argument is an error naming it, never a crash; so is an empty question.
    for query, field in (
        ('{ allocation(by: "team", grain: "fortnight") }', "grain:"),
        ('{ allocation(by: "team", version: 0) }', "version:"),
        ('{ unitCosts(by: "planet") }', "by:"),
        ('{ correlation(start: "soon") }', "start:"),
        ('{ ask(question: "") }', "question:"),
    ):
        bad = await graphql(http, keys.acme, query)
        assert bad["data"] is None and bad["errors"][0]["message"].startswith(field), (query, bad)
