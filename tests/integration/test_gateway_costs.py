"""GET /v1/costs and /v1/costs/reconciliation against a real PostgreSQL ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from outlay.settings import Settings
from services.gateway.app import create_app
from services.gateway.schemas import CostsOut
from tests.integration.gateway_fixtures import api_client, seed_scenario

Params = list[tuple[str, str | int | float | bool | None]]


@pytest.fixture
async def ledger(store_url: str) -> str:
    return await seed_scenario(store_url)


@pytest.fixture
async def api(ledger: str) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(create_app(Settings(DATABASE_URL=ledger))) as client:
        yield client


@pytest.fixture
async def small_api(ledger: str) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(create_app(Settings(DATABASE_URL=ledger), max_cells=5)) as client:
        yield client


def by_group(body: dict[str, Any], *labels: str) -> dict[tuple[Any, ...], str]:
    return {(row["period_start"], *(row["group"][k] for k in labels)): row["cost"] for row in body["rows"]}


async def test_group_by_service_per_day(api: httpx.AsyncClient) -> None:
    resp = await api.get(
        "/v1/costs",
        params={"start": "2024-05-01", "end": "2024-05-03", "granularity": "day", "group_by": "service"},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert resp.headers["content-type"] == "application/json"
    CostsOut.model_validate(body)  # the answer is returned as rendered: it must still match the documented model
    assert body["group_by"] == ["service", "currency", "cost_kind"]
    assert by_group(body, "service", "currency", "cost_kind") == {
        ("2024-05-01T00:00:00Z", "AmazonEC2", "USD", "billed"): "1.000000007",
        ("2024-05-01T00:00:00Z", "AmazonEC2", "USD", "estimated"): "0.990000000",
        ("2024-05-01T00:00:00Z", "AmazonS3", "USD", "billed"): "2.400000000",
        ("2024-05-01T00:00:00Z", "AmazonRDS", "EUR", "billed"): "3.000000000",
        ("2024-05-02T00:00:00Z", "AmazonEC2", "USD", "billed"): "0.500000000",
    }
    # Euros, dollars, bills and estimates are never added together.
    assert body["total"] is None and body["currency"] is None
    assert body["totals"] == [
        {"currency": "EUR", "cost_kind": "billed", "cost": "3.000000000"},
        {"currency": "USD", "cost_kind": "billed", "cost": "3.900000007"},
        {"currency": "USD", "cost_kind": "estimated", "cost": "0.990000000"},
    ]


async def test_single_currency_and_kind_gives_one_total(api: httpx.AsyncClient) -> None:
    resp = await api.get(
        "/v1/costs",
        params={"start": "2024-05-01", "end": "2024-05-03", "currency": "USD", "cost_kind": "billed"},
    )
    body = resp.json()
    assert resp.status_code == 200
    assert (body["currency"], body["cost_kind"], body["total"]) == ("USD", "billed", "3.900000007")


async def test_group_by_tag_and_metric(api: httpx.AsyncClient) -> None:
    params: Params = [
        ("start", "2024-05-01"),
        ("end", "2024-05-03"),
        ("group_by", "tag:team,region"),
        ("cost_kind", "billed"),
        ("currency", "USD"),
        ("metric", "effective"),
    ]
    body = (await api.get("/v1/costs", params=params)).json()
    assert by_group(body, "tag:team", "region") == {
        ("2024-05-01T00:00:00Z", "checkout", "us-east-1"): "0.900000006",  # 0.9 x 1.000000007, rounded
        ("2024-05-01T00:00:00Z", "search", "us-west-2"): "2.160000000",
        ("2024-05-02T00:00:00Z", None, "us-east-1"): "0.450000000",  # no team tag
    }


async def test_filters_or_within_and_across(api: httpx.AsyncClient) -> None:
    params: Params = [
        ("start", "2024-05-01"),
        ("end", "2024-05-03"),
        ("service", "AmazonEC2"),
        ("service", "AmazonS3"),
        ("cost_kind", "billed"),
    ]
    body = (await api.get("/v1/costs", params=params)).json()
    assert body["total"] == "3.900000007"
    body = (await api.get("/v1/costs", params=[*params, ("tag", "team:checkout"), ("tag", "team:search")])).json()
    assert body["total"] == "3.400000007"
    body = (await api.get("/v1/costs", params=[*params, ("tag", "team:checkout"), ("region", "us-west-2")])).json()
    assert body["rows"] == [] and body["total"] == "0.000000000"
    body = (await api.get("/v1/costs", params=[*params, ("resource_id", "i-0abc")])).json()
    assert body["total"] == "0.500000000"


async def test_minute_spread_reconciles_with_hour_and_day(api: httpx.AsyncClient) -> None:
    hour = {
        "service": "AmazonEC2",
        "cost_kind": "billed",
        "start": "2024-05-01T10:00:00Z",
        "end": "2024-05-01T11:00Z",
    }
    minutes = (await api.get("/v1/costs", params={**hour, "granularity": "minute"})).json()
    hourly = (await api.get("/v1/costs", params={**hour, "granularity": "hour"})).json()
    assert len(minutes["rows"]) == 60
    costs = [Decimal(r["cost"]) for r in minutes["rows"]]
    # 1_000_000_007 nanos / 60 = 16_666_666 rem 47: the first 47 minutes carry the extra nano-unit.
    assert costs[:47] == [Decimal("0.016666667")] * 47 and costs[47:] == [Decimal("0.016666666")] * 13
    assert minutes["rows"][0]["period_start"] == "2024-05-01T10:00:00Z"
    assert minutes["total"] == hourly["total"] == "1.000000007"

    # A whole day at every grain: the daily S3 line, the hourly EC2 line and the estimates all reconcile.
    day = {"start": "2024-05-01", "end": "2024-05-02", "currency": "USD", "group_by": "service"}
    totals = {}
    for grain in ("minute", "hour", "day"):
        resp = await api.get("/v1/costs", params={**day, "granularity": grain})
        assert resp.status_code == 200, resp.text
        totals[grain] = resp.json()["totals"]
    assert totals["minute"] == totals["hour"] == totals["day"]
    assert {(t["cost_kind"], t["cost"]) for t in totals["day"]} == {
        ("billed", "3.400000007"),
        ("estimated", "0.990000000"),
    }


async def test_minute_rows_only_inside_range(api: httpx.AsyncClient) -> None:
    params = {
        "granularity": "minute",
        "service": "AmazonS3",
        "start": "2024-05-01T23:30",
        "end": "2024-05-02T00:30",
    }
    body = (await api.get("/v1/costs", params=params)).json()
    assert [r["period_start"] for r in body["rows"]][-1] == "2024-05-01T23:59:00Z"
    assert len(body["rows"]) == 30
    # 2_400_000_000 nanos / 1440 = 1_666_666 rem 960: the last 30 minutes carry no extra unit.
    assert body["total"] == "0.049999980"


async def test_reconciliation_estimated_vs_billed(api: httpx.AsyncClient) -> None:
    resp = await api.get("/v1/costs/reconciliation", params={"start": "2024-05-01", "end": "2024-05-02"})
    assert resp.status_code == 200, resp.text
    rows = {(r["service"], r["currency"]): r for r in resp.json()["rows"]}
    assert rows[("AmazonEC2", "USD")] == {
        "day": "2024-05-01T00:00:00Z",
        "service": "AmazonEC2",
        "currency": "USD",
        "estimated": "0.990000000",
        "billed": "1.000000007",
        "difference": "0.010000007",
        "difference_pct": "1.01",
    }
    assert rows[("AmazonS3", "USD")]["estimated"] == "0.000000000"
    assert rows[("AmazonS3", "USD")]["difference_pct"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"granularity": "week"}, "granularity"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2024-05-01T10:30", "granularity": "hour"}, "start"),
        ({"start": "2024-05-02", "end": "2024-05-01"}, "end"),
        ({"group_by": "colour"}, "group_by"),
        ({"group_by": "tag:"}, "group_by"),
        ({"tag": "team"}, "tag"),
        ({"metric": "amortized"}, "metric"),
        ({"servce": "AmazonEC2"}, "servce"),
        ({"granularity": "minute", "start": "2024-01-01", "end": "2024-03-01"}, "granularity"),
    ],
)
async def test_bad_parameters_are_422_problems(api: httpx.AsyncClient, params: dict[str, str], field: str) -> None:
    resp = await api.get("/v1/costs", params=params)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == 422 and body["title"] and body["type"] and field in body["detail"]
    assert field in [e["field"] for e in body["errors"]]


async def test_errors_are_collected_together(api: httpx.AsyncClient) -> None:
    resp = await api.get("/v1/costs", params={"start": "nope", "group_by": "colour", "tag": "x"})
    assert resp.status_code == 422
    assert {e["field"] for e in resp.json()["errors"]} == {"start", "group_by", "tag"}


async def test_too_many_rows_names_group_by(small_api: httpx.AsyncClient) -> None:
    params = {
        "start": "2024-05-01T10:00",
        "end": "2024-05-01T10:04",
        "granularity": "minute",
        "cost_kind": "billed",
    }
    assert (await small_api.get("/v1/costs", params=params)).status_code == 200  # 4 rows, under the cap
    params["group_by"] = "service"  # EC2 and S3 over 4 minutes: 8 rows > 5
    resp = await small_api.get("/v1/costs", params=params)
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "group_by"
    resp = await small_api.get("/v1/costs", params={"start": "2024-05-01", "end": "2024-05-03", "granularity": "hour"})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "granularity"


async def test_defaults_cover_recent_days(api: httpx.AsyncClient) -> None:
    for grain, buckets in (("day", 30), ("hour", 48), ("minute", 60)):
        body = (await api.get("/v1/costs", params={"granularity": grain})).json()
        start, end = (datetime.fromisoformat(body[k]) for k in ("start", "end"))
        step = {"day": timedelta(days=1), "hour": timedelta(hours=1), "minute": timedelta(minutes=1)}[grain]
        assert (end - start) / step == buckets and end > datetime.now(UTC) >= end - step
        assert body["rows"] == [] and body["total"] == "0.000000000"  # the fixture data is from 2024


async def test_openapi_documents_the_api(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    assert spec["info"]["title"] == "Outlay API" and spec["info"]["version"]
    assert {"/v1/costs", "/v1/costs/reconciliation", "/healthz", "/readyz"} <= set(spec["paths"])
    names = {p["name"] for p in spec["paths"]["/v1/costs"]["get"]["parameters"]}
    assert {"start", "end", "granularity", "group_by", "service", "tag", "metric"} <= names
    # How to authenticate: a bearer key everywhere, the probes and metrics open.
    assert spec["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "description": "An Outlay API key (shown once when made)"
    }  # fmt: skip
    assert spec["security"] == [{"apiKey": []}] and "security" not in spec["paths"]["/v1/costs"]["get"]
    assert spec["paths"]["/healthz"]["get"]["security"] == [] and spec["paths"]["/metrics"]["get"]["security"] == []


async def test_same_answers_on_sqlite(sqlite_url: str) -> None:
    """The zero-setup store: tag access through SQLAlchemy's JSON operators works on SQLite too."""
    await seed_scenario(sqlite_url)
    params = {"start": "2024-05-01", "end": "2024-05-02", "group_by": "tag:team", "cost_kind": "billed"}
    async with api_client(create_app(Settings(DATABASE_URL=sqlite_url))) as api:
        day = (await api.get("/v1/costs", params={**params, "currency": "USD"})).json()
        assert by_group(day, "tag:team") == {
            ("2024-05-01T00:00:00Z", "checkout"): "1.000000007",
            ("2024-05-01T00:00:00Z", "search"): "2.400000000",
        }
        minute = (
            await api.get(
                "/v1/costs",
                params={
                    **params,
                    "granularity": "minute",
                    "tag": "team:checkout",
                    "start": "2024-05-01T10:00",
                    "end": "2024-05-01T11:00",
                },
            )
        ).json()
        assert minute["total"] == "1.000000007" and len(minute["rows"]) == 60


async def test_dimensions_list_what_costs_group_and_filter_by(api: httpx.AsyncClient) -> None:
    resp = await api.get("/v1/costs/dimensions", params={"start": "2024-05-01", "end": "2024-05-03"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["dimensions"]["service"] == ["AmazonEC2", "AmazonRDS", "AmazonS3"]
    assert body["dimensions"]["region"] == ["us-east-1", "us-west-2"]
    assert body["dimensions"]["currency"] == ["EUR", "USD"]
    assert body["dimensions"]["cost_kind"] == ["billed", "estimated"]
    assert body["tags"] == {"team": ["checkout", "search"]}
    later = (await api.get("/v1/costs/dimensions", params={"start": "2024-05-02", "end": "2024-05-03"})).json()
    assert later["dimensions"]["service"] == ["AmazonEC2"] and later["tags"] == {}
    assert (await api.get("/v1/costs/dimensions", params={"start": "nope"})).status_code == 422
