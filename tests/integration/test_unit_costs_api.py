"""`GET /v1/unit-costs` and `GET /v1/unit-economics/correlation` on PostgreSQL: figures computed by hand from seeded
usage (written by the real ledger writer) and business figures, a known slope and intercept, an injected step in
cost per request, each tenant confined to its own cost and figures, and bad parameters named in a 422."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from outlay.events import CostKind, UsageRecord
from outlay.events.business_metric import BusinessMetric, business_metric_id
from outlay.settings import Settings
from outlay.store.business_metrics import BusinessMetricStore
from outlay.store.engine import make_engine
from services.gateway.app import create_app
from tests.integration.gateway_fixtures import api_client, record, write_ledger

OPERATOR = "operator-key-0123456789abcdef"
DAY0 = datetime(2026, 11, 1)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def day(d: int) -> str:
    return (DAY0 + timedelta(days=d)).isoformat(timespec="minutes")


def usage(tenant: str, rid: str, d: int, cost: str, customer: str | None = None, **kw: Any) -> UsageRecord:
    tags = {"customer": customer} if customer else {}
    return record(rid, "AmazonEC2", day(d), day(d + 1), cost, tags=tags, **kw).model_copy(update={"tenant_id": tenant})


def figure(
    tenant: str, name: str, d: int, value: str, customer: str | None = None, currency: str | None = None
) -> BusinessMetric:
    start = (DAY0 + timedelta(days=d)).replace(tzinfo=UTC)
    end = start + timedelta(days=1)
    dim = "customer" if customer else None
    return BusinessMetric(
        metric_id=business_metric_id(tenant, name, start, end, dim, customer), tenant_id=tenant, name=name,
        period_start=start, period_end=end, value=Decimal(value), currency=currency, dimension=dim,
        dimension_value=customer,
    )  # fmt: skip


@pytest.fixture
async def url(store_url: str) -> str:
    conn = await asyncpg.connect(store_url.replace("+asyncpg", ""))
    await conn.execute("TRUNCATE business_metrics")
    await conn.close()
    return store_url


async def seed(url: str, records: list[UsageRecord], figures: list[BusinessMetric]) -> None:
    engine = make_engine(url)
    try:
        await write_ledger(engine, records)
        for tenant in sorted({f.tenant_id for f in figures}):
            await BusinessMetricStore(engine).for_tenant(tenant).add([f for f in figures if f.tenant_id == tenant])
    finally:
        await engine.dispose()


async def _tenant(http: httpx.AsyncClient, tenant_id: str) -> str:
    made = await http.post("/v1/tenants", headers=bearer(OPERATOR), json={"tenant_id": tenant_id, "name": tenant_id})
    assert made.status_code == 201, made.text
    return str(made.json()["admin_key"])


def _line(body: dict[str, Any], kind: str, group: str | None = None) -> dict[str, Any]:
    return next(line for line in body["lines"] if line["kind"] == kind and line["group"] == group)


ACME_USAGE = [
    *[usage("acme", f"c1-{d}", d, str(30 + 10 * d), "c1") for d in range(3)],
    *[usage("acme", f"c2-{d}", d, "10", "c2") for d in range(3)],
    *[usage("acme", f"shared-{d}", d, "20") for d in range(3)],
    usage("acme", "c1-est-0", 0, "11", "c1", kind=CostKind.ESTIMATED),  # day 0 has its bill: the estimate is not used
]
ACME_FIGURES = [
    *[figure("acme", "requests", d, "100000", "c1") for d in range(3)],
    *[figure("acme", "requests", d, "50000", "c2") for d in range(3)],
    *[figure("acme", "revenue", d, "100", "c1", "USD") for d in range(3)],
    *[figure("acme", "revenue", d, "5", "c2", "USD") for d in range(3)],
    *[figure("acme", "customers", d, "2") for d in range(3)],
]
# Globex has a customer of the same name, with its own cost and figures.
GLOBEX_USAGE = [usage("globex", "g-c1-0", 0, "999", "c1")]
GLOBEX_FIGURES = [figure("globex", "requests", 0, "1000", "c1")]


async def test_unit_costs_match_hand_computed_figures_within_the_callers_tenant(url: str) -> None:
    await seed(url, ACME_USAGE + GLOBEX_USAGE, ACME_FIGURES + GLOBEX_FIGURES)
    app = create_app(Settings(DATABASE_URL=url, OUTLAY_API_KEY=OPERATOR))
    async with api_client(app) as http:
        acme, globex = await _tenant(http, "acme"), await _tenant(http, "globex")
        answer = await http.get(
            "/v1/unit-costs?metric=requests&by=customer&start=2026-11-01&end=2026-11-04", headers=bearer(acme)
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["per"], body["by"], body["grain"], body["cost_basis"]) == (
            "1000",
            "customer",
            "day",
            "billed_else_estimated",
        )
        assert [(line["kind"], line["group"]) for line in body["lines"]] == [
            ("group", "c1"), ("group", "c2"), ("unallocated", None), ("total", None)
        ]  # fmt: skip
        c1 = _line(body, "group", "c1")
        assert [p["unit_cost"] for p in c1["periods"]] == ["0.300000000", "0.400000000", "0.500000000"]
        assert (c1["cost"], c1["driver"], c1["unit_cost"]) == ("120.000000000", "300000", "0.400000000")
        assert (c1["revenue"], c1["gross_margin"], c1["gross_margin_pct"]) == (
            "300.000000000",
            "180.000000000",
            "60.00",
        )
        assert c1["trend"] is None  # three days: too few for a trend
        c2 = _line(body, "group", "c2")
        assert (c2["unit_cost"], c2["gross_margin"], c2["gross_margin_pct"]) == (
            "0.200000000",
            "-15.000000000",
            "-100.00",
        )
        shared = _line(body, "unallocated")
        assert (shared["cost"], shared["driver"], shared["unit_cost"]) == ("60.000000000", "450000", "0.133333333")
        assert shared["revenue"] is None and shared["gross_margin"] is None
        total = _line(body, "total")
        assert (total["cost"], total["unit_cost"], total["gross_margin"], total["gross_margin_pct"]) == (
            "210.000000000", "0.466666667", "105.000000000", "33.33"
        )  # fmt: skip
        # Shared cost split by each customer's requests: it moves onto c1 and c2, to the nano, and adds nothing.
        split = (
            await http.get(
                "/v1/unit-costs?metric=requests&by=customer&start=2026-11-01&end=2026-11-04&shared=by_usage",
                headers=bearer(acme),
            )
        ).json()
        c1_split, c2_split = _line(split, "group", "c1"), _line(split, "group", "c2")
        assert Decimal(c1_split["shared_cost"]) + Decimal(c2_split["shared_cost"]) == Decimal(shared["cost"])
        assert Decimal(c1_split["cost"]) == Decimal(c1["cost"]) + Decimal(c1_split["shared_cost"])
        assert Decimal(_line(split, "unallocated")["cost"]) == 0
        assert _line(split, "total")["cost"] == total["cost"]

        per_customer = (await http.get("/v1/unit-costs?metric=customers&start=2026-11-01&end=2026-11-04",
                                       headers=bearer(acme))).json()  # fmt: skip
        (line,) = per_customer["lines"]
        assert (per_customer["per"], line["unit_cost"]) == ("1", "105.000000000")  # 210 / 2 customers on average

        # Globex sees its own c1 alone; acme's cost and figures are nowhere in its answer.
        theirs = (
            await http.get("/v1/unit-costs?by=customer&start=2026-11-01&end=2026-11-04", headers=bearer(globex))
        ).json()
        assert [(line["kind"], line["group"], line["cost"]) for line in theirs["lines"]] == [
            ("group", "c1", "999.000000000"), ("unallocated", None, "0.000000000"), ("total", None, "999.000000000")
        ]  # fmt: skip
        assert _line(theirs, "group", "c1")["unit_cost"] == "999.000000000"  # 999 / 1,000 requests x 1,000
        mine = (await http.get("/v1/unit-economics/correlation?driver=requests&start=2026-11-01&end=2026-11-04",
                               headers=bearer(globex))).json()  # fmt: skip
        assert [p["cost"] for p in mine["points"]] == ["999.000000000"]

        hourly = (
            await http.get("/v1/unit-costs?start=2026-11-01&end=2026-11-02&grain=hour", headers=bearer(acme))
        ).json()
        (line,) = hourly["lines"]
        assert len(line["periods"]) == 24 and line["unit_cost"] is None
        assert any("daily figures are left out" in note for note in hourly["notes"])


async def test_correlation_recovers_a_known_slope_and_the_fixed_part(url: str) -> None:
    revenue = [1000 + 37 * d + (d % 5) * 13 for d in range(30)]
    records = [usage("default", f"day-{d}", d, str(Decimal(50) + Decimal(r) / 5)) for d, r in enumerate(revenue)]
    await seed(url, records, [figure("default", "revenue", d, str(r), currency="USD") for d, r in enumerate(revenue)])
    app = create_app(Settings(DATABASE_URL=url, OUTLAY_API_KEY=OPERATOR))
    async with api_client(app) as http:
        answer = await http.get(
            "/v1/unit-economics/correlation?start=2026-11-01&end=2026-12-01", headers=bearer(OPERATOR)
        )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["driver"] == "revenue" and body["days"] == 30 and len(body["points"]) == 30
    assert float(body["fit"]["intercept"]) == pytest.approx(50, abs=1e-6)
    assert body["fit"]["slope"] == pytest.approx(0.2) and body["pearson"] == pytest.approx(1.0)
    assert float(body["fixed_cost_per_day"]) == pytest.approx(50, abs=1e-6)
    mean_cost = sum(50 + r / 5 for r in revenue) / 30
    assert body["fixed_share"] == pytest.approx(50 / mean_cost, abs=1e-6)
    assert 0 < body["elasticity"] < 1 and "does not move with revenue" in body["explanation"]
    assert body["points"][0] == {"day": "2026-11-01", "cost": "250.000000000", "driver": "1000"}


async def test_a_step_in_cost_per_request_is_an_anomaly(url: str) -> None:
    days = 40
    requests = [100_000 + (d * 7919 % 11) * 500 for d in range(days)]  # ±3% of traffic, deterministic
    records = [
        usage("default", f"d{d}", d, str(Decimal(r) / 5000 * (2 if d >= 30 else 1) * (1 + Decimal(d % 3) / 100)))
        for d, r in enumerate(requests)
    ]  # cost follows traffic (±1%) until day 30, when it doubles while traffic stays as it was
    await seed(url, records, [figure("default", "requests", d, str(r)) for d, r in enumerate(requests)])
    app = create_app(Settings(DATABASE_URL=url, OUTLAY_API_KEY=OPERATOR))
    async with api_client(app) as http:
        answer = await http.get("/v1/unit-costs?start=2026-11-01&end=2026-12-11", headers=bearer(OPERATOR))
    assert answer.status_code == 200, answer.text
    (line,) = answer.json()["lines"]
    assert [(a["period_start"], a["direction"]) for a in line["anomalies"]] == [("2026-12-01T00:00:00Z", "spike")]
    assert line["trend"]["change_pct"] > 0 and line["periods"][30]["unit_cost"] == "0.400000000"


def _fields(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    return {e["field"] for e in response.json()["errors"]}


async def test_bad_parameters_are_named(url: str) -> None:
    app = create_app(Settings(DATABASE_URL=url, OUTLAY_API_KEY=OPERATOR))
    async with api_client(app) as http:

        async def get(path: str) -> httpx.Response:
            return await http.get(path, headers=bearer(OPERATOR))

        assert _fields(await get("/v1/unit-costs?metric=Bad!&per=-1&by=team&grain=minute&cost_metric=x&start=soon")) == {
            "metric", "per", "by", "grain", "cost_metric", "start"
        }  # fmt: skip
        assert _fields(await get("/v1/unit-costs?per=abc")) == {"per"}
        assert _fields(await get("/v1/unit-costs?by=customer&shared=evenly")) == {"shared"}
        assert _fields(await get("/v1/unit-costs?per=NaN")) == {"per"}
        assert _fields(await get("/v1/unit-costs?grain=hour&start=2026-11-01T00:30:00Z")) == {"start"}
        assert _fields(await get("/v1/unit-costs?start=2026-11-05&end=2026-11-01")) == {"end"}
        assert _fields(await get("/v1/unit-costs?start=2000-01-01&end=2026-01-01&grain=hour")) == {"end"}
        assert _fields(await get("/v1/unit-costs?group_by=service")) == {"group_by"}
        assert _fields(await get("/v1/unit-economics/correlation?driver=%00&start=x")) == {"driver", "start"}
        assert _fields(await get("/v1/unit-economics/correlation?cost_metric=gross")) == {"cost_metric"}
        empty = await get("/v1/unit-economics/correlation")
        assert empty.status_code == 200 and empty.json()["days"] == 0 and "at least 3" in empty.json()["explanation"]
        assert (await http.get("/v1/unit-costs")).status_code == 401
