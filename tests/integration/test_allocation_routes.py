"""/v1/allocation through the API: rules changed by admins only, validation errors naming the field (422, never
500), versions and their audit trail, reports confined to the caller's tenant; and the 0017 migration both ways."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from alembic import command
from sqlalchemy import delete, inspect

from outlay.settings import Settings
from outlay.store.engine import alembic_config, make_engine, upgrade
from outlay.store.models import AllocationRulesRow
from services.gateway.app import create_app
from tests.integration.gateway_fixtures import api_client, record, write_ledger

OPERATOR = "operator-key-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {OPERATOR}"}
RULES: dict[str, Any] = {"dimensions": {"team": {
    "tags": {"keys": ["team"]},
    "shared": [{"name": "support", "match": {"services": ["AWS Support (Business)"]}, "split": "even"}],
}}}  # fmt: skip
PERIOD = {"start": "2026-11-01", "end": "2026-11-03", "by": "team"}


@pytest.fixture
async def http(store_url: str) -> AsyncIterator[httpx.AsyncClient]:
    engine = make_engine(store_url)
    async with engine.begin() as conn:
        await conn.execute(delete(AllocationRulesRow))
    await write_ledger(engine, [
        record("x1", "AmazonEC2", "2026-11-01T00:00", "2026-11-01T01:00", "5", tags={"Team": "Checkout"}),
        record("x2", "AmazonEC2", "2026-11-01T01:00", "2026-11-01T02:00", "3", tags={"team": "search "}),
        record("x3", "AWS Support (Business)", "2026-11-01T00:00", "2026-11-02T00:00", "1"),
        record("x4", "AmazonS3", "2026-11-02T00:00", "2026-11-02T01:00", "2"),
    ])  # fmt: skip
    await engine.dispose()
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=OPERATOR))
    async with api_client(app) as client:
        yield client


async def test_rules_are_changed_by_admins_versioned_and_audited(http: httpx.AsyncClient) -> None:
    empty = await http.get("/v1/allocation/rules", headers=ADMIN)
    assert empty.status_code == 200 and empty.json()["version"] == 0
    put = await http.put("/v1/allocation/rules", headers=ADMIN, json=RULES)
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 1 and put.json()["created_by"].startswith("operator")
    changed = {"dimensions": {"team": {**RULES["dimensions"]["team"], "accounts": {"111111111111": "platform"}}}}
    assert (await http.put("/v1/allocation/rules", headers=ADMIN, json=changed)).json()["version"] == 2
    current = (await http.get("/v1/allocation/rules", headers=ADMIN)).json()
    assert current["version"] == 2 and current["rules"]["dimensions"]["team"]["accounts"] == {
        "111111111111": "platform"
    }
    old = (await http.get("/v1/allocation/rules", params={"version": 1}, headers=ADMIN)).json()
    assert old["rules"]["dimensions"]["team"]["accounts"] == {}
    assert old["rules"]["dimensions"]["team"]["order"] == ["tags", "cost_categories", "resources", "accounts"]
    assert (await http.get("/v1/allocation/rules", params={"version": 9}, headers=ADMIN)).status_code == 404
    listed = (await http.get("/v1/allocation/rules/versions", headers=ADMIN)).json()["versions"]
    assert [v["version"] for v in listed] == [2, 1]
    trail = (await http.get("/v1/audit", headers=ADMIN)).json()["entries"]
    assert [e["event"] for e in trail if e["subject"] == "allocation_rules"] == ["allocation_rules_changed"] * 2
    # A viewer reads the rules and the report but cannot change them.
    viewer = (await http.post("/v1/keys", headers=ADMIN, json={"name": "v", "role": "viewer"})).json()["key"]
    as_viewer = {"Authorization": f"Bearer {viewer}"}
    assert (await http.get("/v1/allocation/rules", headers=as_viewer)).json()["version"] == 2
    assert (await http.put("/v1/allocation/rules", headers=as_viewer, json=RULES)).status_code == 403
    assert (await http.get("/v1/allocation", params=PERIOD, headers=as_viewer)).status_code == 200
    assert (await http.get("/v1/allocation/rules", params={"version": 1})).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dimensions": {"team": {"resources": [{"pattern": "([", "value": "x"}]}}}, "pattern"),
        ({"dimensions": {"team": {"shared": [{"name": "s", "match": {}, "split": "even"}]}}}, "shared"),
        (
            {"dimensions": {"team": {"shared": [{"name": "s", "match": {"services": ["x"]}, "split": "thirds"}]}}},
            "split",
        ),
        ({"dimensions": {"team": {"tags": {"keys": []}}}}, "keys"),
        ({"dimensions": {"Not A Name": {}}}, "dimensions"),
        ({"dimension": {}}, "dimension"),
        ({"dimensions": {"team": {"accounts": {"1": "a\u0000b"}}}}, "accounts"),
        ([1, 2], "body"),
    ],
)
async def test_invalid_rules_are_422_naming_the_field(http: httpx.AsyncClient, body: Any, field: str) -> None:
    answer = await http.put("/v1/allocation/rules", headers=ADMIN, json=body)
    assert answer.status_code == 422, answer.text
    assert field in answer.text
    assert (await http.get("/v1/allocation/rules", headers=ADMIN)).json()["version"] == 0  # nothing stored


async def test_report_shows_shared_and_unallocated_parts_and_reconciles(http: httpx.AsyncClient) -> None:
    refused = await http.get("/v1/allocation", params=PERIOD, headers=ADMIN)
    assert refused.status_code == 422 and "no allocation rules" in refused.text
    await http.put("/v1/allocation/rules", headers=ADMIN, json=RULES)
    answer = await http.get("/v1/allocation", params=PERIOD, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    (totals,) = body["totals"]
    got = {v["value"]: (v["direct"], v["shared"], v["total"]) for v in totals["values"]}
    assert got == {
        "checkout": ("5.000000000", {"support": "0.500000000"}, "5.500000000"),
        "search": ("3.000000000", {"support": "0.500000000"}, "3.500000000"),
        "(unallocated)": ("2.000000000", {}, "2.000000000"),
    }
    assert (totals["total"], totals["allocated"], totals["unallocated"]) == (
        "11.000000000",
        "9.000000000",
        "2.000000000",
    )
    assert [b["period_start"] for b in body["buckets"]] == ["2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"]
    # The costs API agrees on the period's total.
    costs = (await http.get("/v1/costs", params={"start": "2026-11-01", "end": "2026-11-03"}, headers=ADMIN)).json()
    assert costs["totals"][0]["cost"] == totals["total"]
    monthly = await http.get("/v1/allocation", params={**PERIOD, "grain": "month", "end": "2026-12-01"}, headers=ADMIN)
    assert monthly.status_code == 200 and monthly.json()["totals"][0]["total"] == "11.000000000"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"by": "product"}, "by"),
        ({"grain": "week"}, "grain"),
        ({"grain": "month"}, "end"),
        ({"grain": "month", "start": "2026-11-02", "end": "2026-12-01"}, "start"),
        ({"start": "2026-13-01"}, "start"),
        ({"end": "2026-10-01"}, "end"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "end"),
        ({"metric": "gross"}, "metric"),
        ({"version": "0"}, "version"),
        ({"version": "7"}, "version"),
        ({"servce": "x"}, "servce"),
    ],
)
async def test_bad_report_parameters_are_422_naming_them(
    http: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    await http.put("/v1/allocation/rules", headers=ADMIN, json=RULES)
    answer = await http.get("/v1/allocation", params={**PERIOD, **params}, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert any(e["field"] == field for e in answer.json()["errors"]), answer.text


async def test_another_tenant_sees_neither_the_rules_nor_the_costs(http: httpx.AsyncClient) -> None:
    await http.put("/v1/allocation/rules", headers=ADMIN, json=RULES)
    acme = await http.post("/v1/tenants", headers=ADMIN, json={"tenant_id": "acme", "name": "Acme"})
    theirs = {"Authorization": f"Bearer {acme.json()['admin_key']}"}
    assert (await http.get("/v1/allocation/rules", headers=theirs)).json()["version"] == 0
    assert (await http.get("/v1/allocation", params=PERIOD, headers=theirs)).status_code == 422  # no rules of theirs
    assert (await http.put("/v1/allocation/rules", headers=theirs, json=RULES)).json()["version"] == 1
    report = (await http.get("/v1/allocation", params=PERIOD, headers=theirs)).json()
    assert report["totals"] == [] and report["buckets"] == []  # the default tenant's $11 stays invisible
    mine = (await http.get("/v1/allocation", params=PERIOD, headers=ADMIN)).json()
    assert mine["totals"][0]["total"] == "11.000000000" and mine["rules_version"] == 1
    assert (await http.get("/v1/allocation/rules/versions", headers=ADMIN)).json()["versions"][0]["version"] == 1


async def test_the_example_rules_are_accepted_by_the_api(http: httpx.AsyncClient) -> None:
    example = yaml.safe_load((Path(__file__).parents[2] / "examples" / "allocation-rules.yaml").read_text())
    answer = await http.put("/v1/allocation/rules", headers=ADMIN, json=example)
    assert answer.status_code == 200, answer.text
    assert set(answer.json()["rules"]["dimensions"]["team"]) >= {"tags", "resources", "accounts", "shared"}


async def test_migration_0017_goes_down_and_up_again(sqlite_url: str) -> None:
    def tables() -> set[str]:
        import sqlite3

        with sqlite3.connect(sqlite_url.split("///", 1)[1]) as conn:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    assert "allocation_rules" in tables()
    await asyncio.to_thread(command.downgrade, alembic_config(sqlite_url), "0016")  # its env runs its own loop
    assert "allocation_rules" not in tables() and "webhook_deliveries" in tables()
    await upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    async with engine.connect() as conn:
        columns = await conn.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("allocation_rules")})
    await engine.dispose()
    assert columns == {"tenant_id", "version", "rules", "created_by", "created_at"}
