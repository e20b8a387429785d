"""POST/GET /v1/deployments on the real PostgreSQL store: a deploy is stored and listed with the step it made in its
scope's hourly cost (from the ledger's rollups), re-reports replace, the list filters by scope and pages, bad bodies
are 422s naming the field, each tenant sees only its own deploys and costs, and the scope is enforced."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from outlay.events import CostKind, UsageRecord
from outlay.settings import Settings
from outlay.store.engine import make_engine
from services.gateway.app import create_app
from tests.integration.gateway_fixtures import api_client, record, write_ledger

OPERATOR = "operator-key-0123456789abcdef"
PATH = "/v1/deployments"
DEPLOYED = datetime(2026, 11, 20, 12, 30)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def hourly(tenant: str, app: str, start: datetime, hours: int, cost: str) -> list[UsageRecord]:
    out = []
    for n in range(hours):
        at = start + timedelta(hours=n)
        made = record(f"{tenant}-{app}-{at:%Y%m%d%H}", "Amazon Elastic Compute Cloud", f"{at:%Y-%m-%dT%H:%M}+00:00",
                      f"{at + timedelta(hours=1):%Y-%m-%dT%H:%M}+00:00", cost, kind=CostKind.ESTIMATED,
                      tags={"app": app})  # fmt: skip
        out.append(made.model_copy(update={"tenant_id": tenant}))
    return out


@pytest.fixture
async def gateway(store_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    engine = make_engine(store_url)
    # checkout: $1.00 an hour for a day before the deploy, $9 in the deploy's hour, $1.50 an hour after; search: flat.
    before = DEPLOYED.replace(minute=0) - timedelta(hours=24)
    rows = [*hourly("acme", "checkout", before, 24, "1.00"), *hourly("acme", "checkout", DEPLOYED.replace(minute=0), 1, "9"),
            *hourly("acme", "checkout", DEPLOYED.replace(minute=0) + timedelta(hours=1), 24, "1.50"),
            *hourly("acme", "search", before, 49, "2.00"), *hourly("globex", "checkout", before, 49, "7.00")]  # fmt: skip
    await write_ledger(engine, rows)
    await engine.dispose()
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=OPERATOR))
    async with api_client(app) as http:
        keys = {}
        for tenant in ("acme", "globex"):
            made = await http.post("/v1/tenants", headers=bearer(OPERATOR), json={"tenant_id": tenant, "name": tenant})
            assert made.status_code == 201, made.text
            keys[tenant] = made.json()["admin_key"]
        yield http, keys


def deploy(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"scope": "tag:app=checkout", "version": "v1.42.0", "deployed_at": "2026-11-20T12:30:00Z",
                            "description": "Bigger web tier", "url": "https://ci.example.com/runs/981"}  # fmt: skip
    body.update(changes)
    return body


async def test_a_deploy_is_listed_with_the_step_it_made(gateway: tuple[httpx.AsyncClient, dict[str, str]]) -> None:
    http, keys = gateway
    made = await http.post(PATH, headers=bearer(keys["acme"]), json=deploy())
    assert made.status_code == 201, made.text
    assert made.json()["deployed_at"].startswith("2026-11-20T12:30:00")
    again = await http.post(PATH, headers=bearer(keys["acme"]), json=deploy(description="Bigger web tier, retried"))
    assert again.status_code == 201 and again.json()["deployment_id"] == made.json()["deployment_id"]
    await http.post(PATH, headers=bearer(keys["acme"]), json=deploy(scope="tag:app=search", version="s-7"))
    listed = await http.get(PATH, headers=bearer(keys["acme"]), params={"scope": "tag:app=checkout"})
    assert listed.status_code == 200, listed.text
    (only,) = listed.json()["deployments"]
    assert only["description"] == "Bigger web tier, retried"
    step = only["cost_step"]
    assert step == {
        "currency": "USD", "cost_kind": "estimated", "window_hours": 24, "hours_before": 24, "hours_after": 24,
        "hourly_before": "1.000000000", "hourly_after": "1.500000000", "hourly_change": "0.500000000",
        "monthly_change": "365.000000000",
        "change_share": 0.5, "settled": True,
    }  # fmt: skip
    search = await http.get(PATH, headers=bearer(keys["acme"]), params={"scope": "tag:app=search", "window_hours": 6})
    (flat,) = search.json()["deployments"]
    assert (flat["cost_step"]["hourly_change"], flat["cost_step"]["window_hours"]) == ("0.000000000", 6)
    trail = await http.get("/v1/audit", headers=bearer(keys["acme"]),
                           params={"subject": f"deployment:{made.json()['deployment_id']}"})  # fmt: skip
    assert [e["event"] for e in trail.json()["entries"]] == ["deployment_reported", "deployment_reported"]


async def test_pages_and_tenants(gateway: tuple[httpx.AsyncClient, dict[str, str]]) -> None:
    http, keys = gateway
    for n in range(3):
        at = f"2026-11-2{n}T08:00:00Z"
        assert (
            await http.post(PATH, headers=bearer(keys["acme"]), json=deploy(version=f"v{n}", deployed_at=at))
        ).status_code == 201
    first = (await http.get(PATH, headers=bearer(keys["acme"]), params={"limit": 2})).json()
    assert [d["version"] for d in first["deployments"]] == ["v2", "v1"]
    rest = (await http.get(PATH, headers=bearer(keys["acme"]), params={"cursor": first["next_cursor"]})).json()
    assert [d["version"] for d in rest["deployments"]] == ["v0"] and rest["next_cursor"] is None
    theirs = (await http.get(PATH, headers=bearer(keys["globex"]))).json()
    assert theirs["deployments"] == []
    await http.post(PATH, headers=bearer(keys["globex"]), json=deploy())
    (globex,) = (await http.get(PATH, headers=bearer(keys["globex"]))).json()["deployments"]
    assert globex["cost_step"]["hourly_before"] == "7.000000000"  # globex's own checkout cost, never acme's


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"scope": "total"}, "scope"),
        ({"scope": "colour=blue"}, "scope"),
        ({"version": ""}, "version"),
        ({"deployed_at": "2026-11-20T12:30:00"}, "deployed_at"),  # no zone
        ({"deployed_at": "2999-01-01T00:00:00Z"}, "deployed_at"),
        ({"deployed_at": "0001-01-01T00:00:00+14:00"}, "deployed_at"),  # before year 1 in UTC: not a 500
        ({"scope": "service=a\x01b"}, "scope"),
        ({"url": "https://ci.example.com/\x00"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"description": "bad\x00text"}, "description"),
        ({"extra": 1}, "extra"),
    ],
)
async def test_bad_reports_are_422_naming_the_field(
    gateway: tuple[httpx.AsyncClient, dict[str, str]], changes: dict[str, Any], field: str
) -> None:
    http, keys = gateway
    refused = await http.post(PATH, headers=bearer(keys["acme"]), json=deploy(**changes))
    assert refused.status_code == 422, refused.text
    assert field in refused.text
    assert (await http.get(PATH, headers=bearer(keys["acme"]))).json()["deployments"] == []


async def test_the_scope_is_enforced(gateway: tuple[httpx.AsyncClient, dict[str, str]]) -> None:
    http, keys = gateway
    keys_made = {}
    for role in ("viewer", "engineer"):
        made = await http.post("/v1/keys", headers=bearer(keys["acme"]), json={"name": role, "role": role})
        assert made.status_code == 201, made.text
        keys_made[role] = made.json()["key"]
    assert (await http.post(PATH, headers=bearer(keys_made["viewer"]), json=deploy())).status_code == 403
    assert (await http.get(PATH, headers=bearer(keys_made["viewer"]))).status_code == 200
    assert (await http.post(PATH, headers=bearer(keys_made["engineer"]), json=deploy())).status_code == 201
    assert (await http.get(PATH)).status_code == 401
    unknown = await http.get(PATH, headers=bearer(keys["acme"]), params={"scop": "x"})
    assert unknown.status_code == 422 and "scop" in unknown.text
    too_many = await http.get(PATH, headers=bearer(keys["acme"]), params={"limit": 500})
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "limit"
