"""POST/GET /v1/iac/estimates on the real PostgreSQL store: a report is stored and read back newest first, a
re-report of the same commit replaces it, the list filters by repository and pages, bad bodies are 422s naming the
field, each tenant sees only its own reports, keys without the scope are refused, and `outlay report-estimate`
posts a diff to a running gateway."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from outlay.cli.main import app as cli
from outlay.kafka.embedded_broker import free_port
from outlay.settings import Settings
from outlay.store.engine import make_engine
from outlay.store.iac_estimates import IacEstimateIn, IacEstimateStore
from services.gateway.app import create_app
from services.gateway.main import serving
from tests.integration.gateway_fixtures import api_client

OPERATOR = "operator-key-0123456789abcdef"
PATH = "/v1/iac/estimates"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def report(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "repository": "acme/infra", "pull_request": 42, "commit_sha": "0123abcd" * 5, "title": "Bigger web tier",
        "url": "https://github.com/acme/infra/pull/42", "monthly_cost_before": "100.50",
        "monthly_cost_after": "348.88", "monthly_delta": "248.38", "resources_changed": 3, "verdict": "failed",
    }  # fmt: skip
    body.update(changes)
    return body


@pytest.fixture
async def gateway(store_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=OPERATOR))
    async with api_client(app) as http:
        keys = []
        for tenant in ("acme", "globex"):
            made = await http.post("/v1/tenants", headers=bearer(OPERATOR), json={"tenant_id": tenant, "name": tenant})
            assert made.status_code == 201, made.text
            keys.append(made.json()["admin_key"])
        yield http, keys


async def test_a_report_is_stored_and_a_re_report_of_the_commit_replaces_it(
    gateway: tuple[httpx.AsyncClient, list[str]],
) -> None:
    http, (acme, _) = gateway
    first = await http.post(PATH, headers=bearer(acme), json=report())
    assert first.status_code == 201, first.text
    made = first.json()
    assert (made["monthly_delta"], made["monthly_cost_after"], made["verdict"]) == ("248.38", "348.88", "failed")
    again = await http.post(PATH, headers=bearer(acme), json=report(monthly_cost_after="110.50", monthly_delta="10",
                                                                     verdict="passed", title="Smaller"))  # fmt: skip
    assert again.status_code == 201 and again.json()["estimate_id"] == made["estimate_id"]
    listed = (await http.get(PATH, headers=bearer(acme))).json()
    assert len(listed["estimates"]) == 1 and listed["next_cursor"] is None
    only = listed["estimates"][0]
    assert (only["monthly_delta"], only["verdict"], only["title"], only["pull_request"]) == (
        "10",
        "passed",
        "Smaller",
        42,
    )
    assert only["reported_at"] >= made["reported_at"]
    trail = await http.get("/v1/audit", headers=bearer(acme), params={"subject": f"iac_estimate:{made['estimate_id']}"})
    assert [e["event"] for e in trail.json()["entries"]] == ["iac_estimate_reported", "iac_estimate_reported"]


async def test_newest_first_filtered_by_repository_and_paged(gateway: tuple[httpx.AsyncClient, list[str]]) -> None:
    http, (acme, _) = gateway
    sent = [
        report(commit_sha="a" * 40, pull_request=1),
        report(commit_sha="b" * 40, pull_request=1),  # a new commit of the same PR is a new report
        report(repository="acme/app", commit_sha="c" * 40, pull_request=None, ref="main", url=None, title=None),
        report(commit_sha="d" * 40, pull_request=2, monthly_cost_after="50.50", monthly_delta="-50"),
    ]
    for body in sent:
        assert (await http.post(PATH, headers=bearer(acme), json=body)).status_code == 201
    everything = (await http.get(PATH, headers=bearer(acme))).json()["estimates"]
    assert [e["commit_sha"] for e in everything] == ["d" * 40, "c" * 40, "b" * 40, "a" * 40]
    assert everything[0]["monthly_delta"] == "-50"
    assert (everything[1]["ref"], everything[1]["pull_request"], everything[1]["url"]) == ("main", None, None)
    infra = (await http.get(PATH, headers=bearer(acme), params={"repository": "acme/infra"})).json()["estimates"]
    assert [e["commit_sha"] for e in infra] == ["d" * 40, "b" * 40, "a" * 40]
    pages, cursor = [], None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await http.get(PATH, headers=bearer(acme), params=params)).json()
        pages.append([e["commit_sha"][0] for e in page["estimates"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [["d", "c", "b"], ["a"]]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"monthly_delta": "1"}, "monthly_delta"),  # not after minus before
        ({"monthly_cost_after": 348.88}, "monthly_cost_after"),  # a float, not a decimal string
        ({"monthly_cost_before": "lots"}, "monthly_cost_before"),
        ({"monthly_cost_before": "NaN"}, "monthly_cost_before"),
        ({"monthly_cost_before": "1e12"}, "monthly_cost_before"),
        ({"commit_sha": "not a sha"}, "commit_sha"),
        ({"verdict": "maybe"}, "verdict"),
        ({"pull_request": None}, "pull_request"),  # neither a PR nor a ref
        ({"pull_request": 0}, "pull_request"),
        ({"resources_changed": -1}, "resources_changed"),
        ({"repository": ""}, "repository"),
        ({"repository": "acme/\x00infra"}, "repository"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"tenant_id": "globex"}, "tenant_id"),  # a report belongs to the caller's tenant: never named
    ],
)
async def test_bad_reports_are_422_naming_the_field(
    gateway: tuple[httpx.AsyncClient, list[str]], changes: dict[str, Any], field: str
) -> None:
    http, (acme, _) = gateway
    refused = await http.post(PATH, headers=bearer(acme), json=report(**changes))
    assert refused.status_code == 422, refused.text
    assert field in [e["field"] for e in refused.json()["errors"]]
    assert (await http.get(PATH, headers=bearer(acme))).json()["estimates"] == []


async def test_bad_list_parameters_are_422(gateway: tuple[httpx.AsyncClient, list[str]]) -> None:
    http, (acme, _) = gateway
    for params, field in (({"limit": "0"}, "limit"), ({"cursor": "nope"}, "cursor"), ({"repo": "x"}, "repo")):
        refused = await http.get(PATH, headers=bearer(acme), params=params)
        assert refused.status_code == 422 and field in [e["field"] for e in refused.json()["errors"]], refused.text


async def test_each_tenant_sees_only_its_own_reports(gateway: tuple[httpx.AsyncClient, list[str]]) -> None:
    http, (acme, globex) = gateway
    assert (await http.post(PATH, headers=bearer(acme), json=report())).status_code == 201
    assert (await http.get(PATH, headers=bearer(globex))).json()["estimates"] == []
    # The same commit reported by another tenant is that tenant's own row: it replaces nothing of acme's.
    assert (await http.post(PATH, headers=bearer(globex), json=report(monthly_cost_after="100.50",
                                                                      monthly_delta="0"))).status_code == 201  # fmt: skip
    assert [e["monthly_delta"] for e in (await http.get(PATH, headers=bearer(acme))).json()["estimates"]] == ["248.38"]
    assert [e["monthly_delta"] for e in (await http.get(PATH, headers=bearer(globex))).json()["estimates"]] == ["0"]


async def test_scopes_ci_keys_engineers_and_viewers(gateway: tuple[httpx.AsyncClient, list[str]]) -> None:
    http, (acme, _) = gateway

    async def key(**body: Any) -> str:
        made = await http.post("/v1/keys", headers=bearer(acme), json={"name": "k", **body})
        assert made.status_code == 201, made.text
        return str(made.json()["key"])

    ci, viewer, engineer = await key(scopes=["write:estimates"]), await key(role="viewer"), await key(role="engineer")
    assert (await http.post(PATH, headers=bearer(ci), json=report())).status_code == 201
    assert (await http.get(PATH, headers=bearer(ci))).status_code == 403  # reporting is not reading costs
    refused = await http.post(PATH, headers=bearer(viewer), json=report())
    assert refused.status_code == 403 and "write:estimates" in refused.json()["detail"]
    assert len((await http.get(PATH, headers=bearer(viewer))).json()["estimates"]) == 1
    assert (await http.post(PATH, headers=bearer(engineer), json=report(commit_sha="e" * 40))).status_code == 201
    assert (await http.post(PATH, json=report())).status_code == 401


def plan(path: Path, instance_type: str) -> Path:
    path.write_text(json.dumps({"planned_values": {"root_module": {"resources": [
        {"address": "aws_instance.web", "mode": "managed", "type": "aws_instance",
         "values": {"instance_type": instance_type, "availability_zone": "us-east-1a"}}]}}}))  # fmt: skip
    return path


async def test_outlay_report_estimate_posts_the_diff_to_the_running_api(store_url: str, tmp_path: Path) -> None:
    base, head = plan(tmp_path / "base.json", "t3.micro"), plan(tmp_path / "head.json", "m5.large")
    policy = tmp_path / "policy.yml"
    policy.write_text("max_monthly_increase: 20\n")
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=OPERATOR))
    port = free_port()
    async with serving(app, port, within=30):
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url) as http:
            made = await http.post("/v1/tenants", headers=bearer(OPERATOR), json={"tenant_id": "acme", "name": "acme"})
            admin = made.json()["admin_key"]
            ci = await http.post("/v1/keys", headers=bearer(admin), json={"name": "ci", "scopes": ["write:estimates"]})
            env = {"OUTLAY_API_URL": url, "OUTLAY_API_KEY": ci.json()["key"], "GITHUB_REPOSITORY": "acme/infra",
                   "GITHUB_SHA": "f" * 40}  # fmt: skip
            args = ["report-estimate", "--head", str(head), "--base", str(base), "--pr", "7", "--policy", str(policy),
                    "--title", "Bigger web", "--url", "https://github.com/acme/infra/pull/7"]  # fmt: skip
            runner = CliRunner()
            done = await asyncio.to_thread(runner.invoke, cli, args, env=env)
            assert done.exit_code == 0, done.output
            listed = (await http.get("/v1/iac/estimates", headers=bearer(admin))).json()["estimates"]
            diffed = await asyncio.to_thread(
                runner.invoke, cli, ["diff", "--head", str(head), "--base", str(base), "--format", "json"]
            )
            expected = json.loads(diffed.output)
            assert len(listed) == 1
            got = listed[0]
            assert (got["repository"], got["pull_request"], got["commit_sha"]) == ("acme/infra", 7, "f" * 40)
            assert Decimal(got["monthly_delta"]) == Decimal(expected["monthly_delta"]) > 20
            assert Decimal(got["monthly_cost_after"]) == Decimal(expected["monthly_cost_after"])
            assert (got["verdict"], got["resources_changed"], got["title"]) == ("failed", 1, "Bigger web")
            # A key without write:estimates is refused, and the CLI says so with exit 2; nothing is stored.
            viewer = (await http.post("/v1/keys", headers=bearer(admin), json={"name": "v", "role": "viewer"})).json()
            refused = await asyncio.to_thread(
                runner.invoke, cli, [*args[:5], "--ref", "main"], env={**env, "OUTLAY_API_KEY": viewer["key"]}
            )
            assert refused.exit_code == 2 and "403" in refused.output
            assert len((await http.get("/v1/iac/estimates", headers=bearer(admin))).json()["estimates"]) == 1
    unreachable = await asyncio.to_thread(CliRunner().invoke, cli, args, env=env)
    assert unreachable.exit_code == 2 and "not reachable" in unreachable.output


async def test_the_store_replaces_and_pages_on_postgresql_and_sqlite(dialect_url: str) -> None:
    engine = make_engine(dialect_url)
    try:
        acme, globex = IacEstimateStore(engine, "acme"), IacEstimateStore(engine, "globex")
        first = await acme.report(IacEstimateIn.model_validate(report(commit_sha="a" * 40)))
        await acme.report(IacEstimateIn.model_validate(report(commit_sha="b" * 40, monthly_delta="248.380000000")))
        again = await acme.report(IacEstimateIn.model_validate(report(commit_sha="A" * 40, verdict="passed")))
        assert again.estimate_id == first.estimate_id and again.commit_sha == "a" * 40  # the same commit, any case
        await globex.report(IacEstimateIn.model_validate(report(commit_sha="c" * 40)))
        page, after = await acme.page(1)
        assert [e.commit_sha[0] for e in page] == ["a"] and page[0].verdict == "passed" and after is not None
        rest, end = await acme.page(1, after)
        assert [(e.commit_sha[0], e.monthly_delta) for e in rest] == [("b", "248.38")] and end is None
        assert [e.commit_sha[0] for e in (await globex.page(10))[0]] == ["c"]
        assert (await acme.page(10, repository="acme/other"))[0] == []
    finally:
        await engine.dispose()
