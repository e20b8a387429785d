"""Tenants: two organisations in one store and one gateway, each seeing and changing only its own data.

Every test here tries to read, update or subscribe across tenants and must be refused (404 for another tenant's
rows, as if they did not exist; nothing of theirs in lists, totals or streams).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from outlay.budgets import BudgetIn
from outlay.events import FeedbackVerdict, LedgerProgress
from outlay.events.plan import ActionPlan, Kind, PlannedChange, PlanStatus, Risk
from outlay.kafka.embedded_broker import free_port
from outlay.kafka.producer import EventProducer
from outlay.settings import Settings
from outlay.store.api_keys import ApiKeyStore
from outlay.store.audit import AuditLog
from outlay.store.budgets import BudgetStore
from outlay.store.engine import make_engine
from outlay.store.plans import PlanStore
from outlay.store.tenants import TenantStore
from services.gateway.anomalies.listing import AnomalyQuery
from services.gateway.anomalies.store import AnomalyStore
from services.gateway.app import create_app
from services.gateway.main import serving
from tests.integration.anomaly_support import EC2, incident
from tests.integration.gateway_fixtures import api_client, record, write_ledger

OPERATOR = "operator-key-0123456789abcdef"
COSTS = "/v1/costs?start=2024-05-01&end=2024-05-02&granularity=day&group_by=service"
NOW = datetime.now(UTC).replace(microsecond=0)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _plan(tenant_id: str, plan_id: str = "plan-shared-id") -> ActionPlan:
    change = PlannedChange(
        resource_id="i-0abc", kind=Kind.RIGHTSIZE, summary="resize", monthly_saving=Decimal("50"), confidence=1,
        risk=Risk.LOW, current="m5.2xlarge", proposed="m5.large",
    )  # fmt: skip
    return ActionPlan(
        plan_id=plan_id, status=PlanStatus.PROPOSED, region="us-east-1", title=f"{tenant_id}'s plan",
        changes=[change], monthly_saving=Decimal(50), risk=Risk.LOW, requires_approval=True, created_at=NOW,
        updated_at=NOW, tenant_id=tenant_id,
    )  # fmt: skip


async def _tenant(http: httpx.AsyncClient, tenant_id: str) -> str:
    made = await http.post("/v1/tenants", headers=bearer(OPERATOR), json={"tenant_id": tenant_id, "name": tenant_id})
    assert made.status_code == 201, made.text
    return str(made.json()["admin_key"])


async def _seed(store_url: str) -> None:
    """Each tenant's costs (`_seed_costs`), an anomaly of acme's, and a plan with the same id in both."""
    await _seed_costs(store_url)
    engine = make_engine(store_url)
    try:
        await (
            AnomalyStore(engine)
            .for_tenant("acme")
            .upsert([incident(EC2, 0, 5).model_copy(update={"tenant_id": "acme"})])
        )
        for tenant in ("acme", "globex"):  # the same plan id in both: each tenant has its own
            await PlanStore(engine).for_tenant(tenant).propose([_plan(tenant)], "us-east-1", NOW)
    finally:
        await engine.dispose()


async def test_rest_reads_and_writes_stay_within_the_callers_tenant(store_url: str) -> None:
    await _seed(store_url)
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=OPERATOR, OUTLAY_WEBHOOK_ALLOW_PRIVATE=True))
    async with api_client(app) as http:
        acme, globex = await _tenant(http, "acme"), await _tenant(http, "globex")
        assert (
            await http.post("/v1/tenants", headers=bearer(acme), json={"tenant_id": "x", "name": "x"})
        ).status_code == 403
        listed = await http.get("/v1/tenants", headers=bearer(OPERATOR))
        assert [t["tenant_id"] for t in listed.json()["tenants"]] == ["acme", "globex"]

        # Costs: each tenant's own services and totals only.
        a, g = await http.get(COSTS, headers=bearer(acme)), await http.get(COSTS, headers=bearer(globex))
        assert a.status_code == g.status_code == 200, (a.text, g.text)
        assert "AmazonEC2" in a.text and "AmazonS3" not in a.text and "7.00" in a.text
        assert "AmazonS3" in g.text and "AmazonEC2" not in g.text and "7.00" not in g.text
        # The operator's own (default) tenant has none of them.
        assert "AmazonEC2" not in (await http.get(COSTS, headers=bearer(OPERATOR))).text

        # Anomalies: acme's is invisible to globex, and globex cannot judge it.
        listed_a = (await http.get("/v1/anomalies", headers=bearer(acme))).json()["items"]
        assert len(listed_a) == 1
        anomaly_id = listed_a[0]["anomaly_id"]
        assert (await http.get("/v1/anomalies", headers=bearer(globex))).json()["items"] == []
        assert (await http.get(f"/v1/anomalies/{anomaly_id}", headers=bearer(globex))).status_code == 404
        verdict = {"verdict": "false_positive"}
        judged = await http.post(f"/v1/anomalies/{anomaly_id}/feedback", headers=bearer(globex), json=verdict)
        assert judged.status_code == 404
        assert (await http.get(f"/v1/anomalies/{anomaly_id}", headers=bearer(acme))).json()["feedback"] is None

        # Budgets: made by acme, not readable, listed or deletable by globex.
        budget = {"name": "ec2", "scope": "service=AmazonEC2", "amount": "100", "period": "monthly"}
        made = await http.post("/v1/budgets", headers=bearer(acme), json=budget)
        assert made.status_code == 201, made.text
        budget_id = made.json()["budget_id"]
        assert (await http.get(f"/v1/budgets/{budget_id}", headers=bearer(globex))).status_code == 404
        assert (await http.delete(f"/v1/budgets/{budget_id}", headers=bearer(globex))).status_code == 404
        assert (await http.get("/v1/budgets", headers=bearer(globex))).json()["budgets"] == []
        assert (await http.get(f"/v1/budgets/{budget_id}", headers=bearer(acme))).status_code == 200

        # Plans: the same id in both tenants, each sees its own; decisions cannot reach the other's.
        plan_a = (await http.get("/v1/plans/plan-shared-id", headers=bearer(acme))).json()
        plan_g = (await http.get("/v1/plans/plan-shared-id", headers=bearer(globex))).json()
        assert (plan_a["title"], plan_g["title"]) == ("acme's plan", "globex's plan")
        assert (await http.get("/v1/plans", headers=bearer(OPERATOR))).json()["plans"] == []

        # Webhooks, keys, users: another tenant's are 404 and absent from lists.
        hook = await http.post("/v1/webhooks", headers=bearer(acme),
                               json={"url": "http://127.0.0.1:9/x", "events": ["anomaly"]})  # fmt: skip
        assert hook.status_code == 201, hook.text
        hook_id = hook.json()["webhook_id"]
        assert (await http.get(f"/v1/webhooks/{hook_id}/deliveries", headers=bearer(globex))).status_code == 404
        assert (await http.delete(f"/v1/webhooks/{hook_id}", headers=bearer(globex))).status_code == 404
        assert (await http.get("/v1/webhooks", headers=bearer(globex))).json()["webhooks"] == []
        acme_keys = (await http.get("/v1/keys", headers=bearer(acme))).json()["keys"]
        globex_keys = (await http.get("/v1/keys", headers=bearer(globex))).json()["keys"]
        assert {k["key_id"] for k in acme_keys}.isdisjoint({k["key_id"] for k in globex_keys})
        assert (await http.delete(f"/v1/keys/{acme_keys[0]['key_id']}", headers=bearer(globex))).status_code == 404
        assert (await http.get(COSTS, headers=bearer(acme))).status_code == 200  # still works
        person = await http.post("/v1/users", headers=bearer(acme), json={"email": "ann@acme.test", "role": "viewer"})
        assert person.status_code == 201, person.text
        user_id = person.json()["user_id"]
        patched = await http.patch(f"/v1/users/{user_id}", headers=bearer(globex), json={"role": "admin"})
        assert patched.status_code == 404
        assert (await http.get("/v1/users", headers=bearer(globex))).json()["users"] == []
        foreign_key = await http.post("/v1/keys", headers=bearer(globex), json={"name": "k", "user_id": user_id})
        assert foreign_key.status_code == 422 and "user_id" in foreign_key.json()["detail"]

        # Audit: each trail holds its own tenant's entries and verifies on its own.
        trail_a = (await http.get("/v1/audit", headers=bearer(acme))).json()["entries"]
        trail_g = (await http.get("/v1/audit", headers=bearer(globex))).json()["entries"]
        assert any(e["subject"] == f"user:{user_id}" for e in trail_a)
        assert not any(e["subject"] == f"user:{user_id}" for e in trail_g)
        for key in (acme, globex):
            verified = (await http.get("/v1/audit/verify", headers=bearer(key))).json()
            assert verified["intact"] is True, verified
        exported = await http.get("/v1/audit/export", headers=bearer(acme))
        lines = [json.loads(line) for line in exported.text.splitlines()]
        assert exported.headers["content-type"].startswith("application/x-ndjson")
        assert [e["audit_id"] for e in lines] == [e["audit_id"] for e in trail_a]
        as_csv = await http.get("/v1/audit/export", params={"format": "csv"}, headers=bearer(globex))
        header, *rows = as_csv.text.splitlines()
        assert header.startswith("audit_id,at,actor") and len(rows) == len(trail_g)
        # People's text never runs as a spreadsheet formula.
        await http.post("/v1/keys", headers=bearer(globex), json={"name": "=HYPERLINK(1)", "role": "viewer"})
        exported_csv = (await http.get("/v1/audit/export", params={"format": "csv"}, headers=bearer(globex))).text
        assert "'=HYPERLINK(1)" in exported_csv and ",=HYPERLINK" not in exported_csv


async def test_stores_refuse_other_tenants_rows_even_when_named_directly(store_url: str) -> None:
    """The confinement lives in the store layer: a store bound to globex cannot reach acme's rows by id."""
    await _seed(store_url)
    engine = make_engine(store_url)
    try:
        budget = BudgetIn(name="b", scope="total", amount=Decimal(10), period="monthly")
        acme_budget = await BudgetStore(engine).for_tenant("acme").create(budget)
        globex_budgets = BudgetStore(engine).for_tenant("globex")
        assert await globex_budgets.get(acme_budget.budget_id) is None
        assert await globex_budgets.delete(acme_budget.budget_id) is None
        assert await BudgetStore(engine).for_tenant("acme").get(acme_budget.budget_id) is not None
        anomalies = AnomalyStore(engine)
        acme_anomaly = (await anomalies.for_tenant("acme").page(AnomalyQuery())).items[0].anomaly
        assert await anomalies.for_tenant("globex").get(acme_anomaly.anomaly_id) is None
        assert await anomalies.for_tenant("globex").record_feedback(
            acme_anomaly.anomaly_id, FeedbackVerdict.PLANNED, NOW
        ) is None  # fmt: skip
        plans = PlanStore(engine)
        moved = await plans.for_tenant("globex").transition("plan-shared-id", PlanStatus.REJECTED, NOW)
        assert moved is not None and moved.tenant_id == "globex"
        still = await plans.for_tenant("acme").get("plan-shared-id")
        assert still is not None and still.status is PlanStatus.PROPOSED
        try:
            await plans.for_tenant("globex").propose([_plan("acme", "other")], "us-east-1", NOW)
        except ValueError as exc:
            assert "another tenant" in str(exc)
        else:
            raise AssertionError("a store took another tenant's plan")
        await AuditLog(engine).for_tenant("acme").append([])
        assert (await AuditLog(engine).for_tenant("globex").page()) == []
    finally:
        await engine.dispose()


async def test_stream_subscribers_get_only_their_tenants_events(store_url: str, broker: str) -> None:
    app = create_app(Settings(DATABASE_URL=store_url, KAFKA_BOOTSTRAP_SERVERS=broker, OUTLAY_API_KEY=OPERATOR),
                     heartbeat_seconds=0.3)  # fmt: skip
    port = free_port()
    async with serving(app, port, within=30), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        acme, globex = await _tenant(http, "acme"), await _tenant(http, "globex")
        ws_url = f"ws://127.0.0.1:{port}/v1/stream?api_key="
        async with connect(ws_url + acme, max_queue=None) as a, connect(ws_url + globex, max_queue=None) as g:
            for ws in (a, g):
                assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "hello"
                await ws.send(json.dumps({"subscribe": "anomalies"}))
                await _until(ws, "subscribed")
            first = incident(EC2, 0, 5).model_copy(update={"tenant_id": "acme"})
            second = incident(EC2, 10, 15).model_copy(update={"tenant_id": "globex"})
            async with EventProducer(broker, client_id="test-tenancy") as producer:
                await producer.send_many([first])
                await producer.send_many([second])  # after acme's, on the same partition (same series key)
            got_a = await _until(a, "anomaly")
            got_g = await _until(g, "anomaly")
            assert got_a["anomaly"]["anomaly_id"] == first.anomaly_id
            # globex's first anomaly is its own: acme's, sent before it, never reached it.
            assert got_g["anomaly"]["anomaly_id"] == second.anomaly_id

            # Cost ticks: each tenant's from its own ledger rows, only when its own commit is announced.
            await _seed_costs(store_url)
            for ws in (a, g):
                await ws.send(json.dumps({"subscribe": "costs"}))
                await _until(ws, "subscribed")
            async with EventProducer(broker, client_id="test-tenancy") as producer:
                for tenant in ("acme", "globex"):  # acme's commit first, on the progress topic's one partition
                    await producer.send_many([_progress(tenant)])
            tick_a, tick_g = await _until(a, "cost_tick"), await _until(g, "cost_tick")
            assert tick_a["by_service"] == {"AmazonEC2": "0.116666667"}  # 7.00 over 60 minutes
            assert tick_g["by_service"] == {"AmazonS3": "0.050000000"}  # its own, never acme's


async def _seed_costs(store_url: str) -> None:
    """The same record id in both tenants (ids are unique per tenant), with different services and costs."""
    engine = make_engine(store_url)
    try:
        acme = record("line-1", "AmazonEC2", "2024-05-01T10:00", "2024-05-01T11:00", "7.00")
        globex = record("line-1", "AmazonS3", "2024-05-01T10:00", "2024-05-01T11:00", "3.00")
        await write_ledger(engine, [acme.model_copy(update={"tenant_id": "acme"}),
                                    globex.model_copy(update={"tenant_id": "globex"})])  # fmt: skip
    finally:
        await engine.dispose()


def _progress(tenant: str) -> LedgerProgress:
    return LedgerProgress(
        written=1, duplicates=0, period_start=datetime(2024, 5, 1, 10, tzinfo=UTC),
        period_end=datetime(2024, 5, 1, 10, 1, tzinfo=UTC), cost_kinds=["billed"], committed_at=datetime.now(UTC),
        tenant_ids=[tenant],
    )  # fmt: skip


async def _until(ws: Any, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(20):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                return message  # type: ignore[no-any-return]


async def test_an_approver_cannot_approve_what_they_asked_for(store_url: str, broker: str) -> None:
    engine = make_engine(store_url)
    try:
        await PlanStore(engine).for_tenant("acme").propose([_plan("acme")], "us-east-1", NOW)
    finally:
        await engine.dispose()
    app = create_app(Settings(DATABASE_URL=store_url, KAFKA_BOOTSTRAP_SERVERS=broker, OUTLAY_API_KEY=OPERATOR))
    async with api_client(app) as http:
        admin = await _tenant(http, "acme")

        async def person(email: str, role: str) -> str:
            user = await http.post("/v1/users", headers=bearer(admin), json={"email": email, "role": role})
            key = await http.post(
                "/v1/keys", headers=bearer(admin), json={"name": email, "user_id": user.json()["user_id"]}
            )
            assert key.status_code == 201, key.text
            return str(key.json()["key"])

        eng, ann, bob = await person("eng@acme.test", "engineer"), await person("ann@acme.test", "approver"), await person("bob@acme.test", "approver")  # fmt: skip
        plan = "/v1/plans/plan-shared-id"
        assert (await http.post(f"{plan}/approve", headers=bearer(eng))).status_code == 403  # no approve:plans
        asked = await http.post(f"{plan}/request-approval", headers=bearer(ann))
        assert asked.status_code == 403  # approvers approve; engineers ask
        asked = await http.post(f"{plan}/request-approval", headers=bearer(eng), json={"comment": "please"})
        assert asked.status_code == 200 and "user:" in asked.json()["requested_by"], asked.text
        again = await http.post(f"{plan}/request-approval", headers=bearer(eng))
        assert again.status_code == 409
        # Bob's key was made by the admin key that made the asker's: its holder could have asked and approved.
        assert (await http.post(f"{plan}/approve", headers=bearer(bob))).status_code == 403
        own = await http.post("/v1/me/keys", headers=bearer(bob), json={"name": "bob's own"})
        assert own.status_code == 201, own.text
        bob_own = own.json()["key"]
        assert (await http.post("/v1/me/keys", headers=bearer(admin), json={"name": "x"})).status_code == 403
        # A key limited to some scopes, and expiring, makes no key that may do more or live longer than itself.
        users = {u["email"]: u["user_id"] for u in (await http.get("/v1/users", headers=bearer(admin))).json()["users"]}
        soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        narrow = await http.post("/v1/keys", headers=bearer(admin), json={
            "name": "narrow", "user_id": users["bob@acme.test"], "scopes": ["read:costs"], "expires_at": soon})  # fmt: skip
        assert narrow.status_code == 201, narrow.text
        minted = await http.post("/v1/me/keys", headers=bearer(narrow.json()["key"]), json={"name": "wider?"})
        assert minted.status_code == 201, minted.text
        assert minted.json()["expires_at"] is not None
        minted_me = (await http.get("/v1/me", headers=bearer(minted.json()["key"]))).json()
        assert minted_me["scopes"] == ["read:costs"]
        me = (await http.get("/v1/me", headers=bearer(bob_own))).json()
        assert me["user_id"] and me["scopes"] == ["approve:plans", "read:anomalies", "read:budgets", "read:costs",
                                                  "read:forecasts", "read:plans", "read:policies"]  # fmt: skip
        assert me["operator"] is False and me["made_by"] == f"user:{me['user_id']}"  # a key of one's own
        assert (await http.get("/v1/me", headers=bearer(OPERATOR))).json()["operator"] is True
        approved = await http.post(f"{plan}/approve", headers=bearer(bob_own))
        assert approved.status_code == 202, approved.text
        bob = bob_own
        # A role change applies to the person's keys at once, down and up; a disabled person's keys stop working
        # (and work again when they are enabled again).
        users = {u["email"]: u["user_id"] for u in (await http.get("/v1/users", headers=bearer(admin))).json()["users"]}
        bob_url = f"/v1/users/{users['bob@acme.test']}"
        await http.patch(bob_url, headers=bearer(admin), json={"role": "viewer"})
        assert (await http.post(f"{plan}/reject", headers=bearer(bob))).status_code == 403
        await http.patch(bob_url, headers=bearer(admin), json={"role": "admin"})
        assert (await http.get("/v1/users", headers=bearer(bob))).status_code == 200  # promoted: admin now
        await http.patch(bob_url, headers=bearer(admin), json={"disabled": True})
        assert (await http.get("/v1/plans", headers=bearer(bob))).status_code == 401
        again = await http.post("/v1/users", headers=bearer(admin), json={"email": "bob@acme.test", "role": "viewer"})
        assert again.status_code == 201  # the e-mail is free while Bob is disabled
        assert (await http.patch(bob_url, headers=bearer(admin), json={"disabled": False})).status_code == 409
        nul = await http.post("/v1/users", headers=bearer(admin), json={"email": "x\u0000@acme.test", "role": "viewer"})
        assert nul.status_code == 422
        trail = (await http.get(f"{plan}/audit", headers=bearer(admin))).json()["entries"]
        assert [e["event"] for e in trail][:2] == ["approval_requested", "approve_requested"]


async def test_the_same_person_asking_then_approving_is_refused(store_url: str, broker: str) -> None:
    engine = make_engine(store_url)
    try:
        await PlanStore(engine).for_tenant("acme").propose([_plan("acme")], "us-east-1", NOW - timedelta(minutes=1))
    finally:
        await engine.dispose()
    app = create_app(Settings(DATABASE_URL=store_url, KAFKA_BOOTSTRAP_SERVERS=broker, OUTLAY_API_KEY=OPERATOR))
    async with api_client(app) as http:
        admin = await _tenant(http, "acme")
        user = await http.post("/v1/users", headers=bearer(admin), json={"email": "a@acme.test", "role": "admin"})
        user_id = user.json()["user_id"]
        keys = [
            (await http.post("/v1/keys", headers=bearer(admin), json={"name": f"k{n}", "user_id": user_id})).json()[
                "key"
            ]
            for n in range(2)
        ]
        plan = "/v1/plans/plan-shared-id"
        assert (await http.post(f"{plan}/request-approval", headers=bearer(keys[0]))).status_code == 200
        refused = await http.post(f"{plan}/approve", headers=bearer(keys[1]))  # another key of the same person
        assert refused.status_code == 403 and "asked for" in refused.json()["detail"]
        # Nor through keys she makes: one without a person, or one for a colleague (she holds its secret).
        for made in (
            {"name": "no person", "role": "approver"},
            {"name": "for bob", "user_id": (await http.post("/v1/users", headers=bearer(keys[0]),
                                                             json={"email": "bob@acme.test", "role": "approver"})).json()["user_id"]},
        ):  # fmt: skip
            key = (await http.post("/v1/keys", headers=bearer(keys[0]), json=made)).json()["key"]
            assert (await http.post(f"{plan}/approve", headers=bearer(key))).status_code == 403, made


async def test_a_tenant_is_made_whole_or_not_at_all(store_url: str, monkeypatch: Any) -> None:
    """The tenant, its first admin key and their audit entries share one transaction."""
    import outlay.store.tenants as tenants_module

    async def broken_audit(*_: object) -> None:
        raise RuntimeError("the audit trail refused the entry")

    engine = make_engine(store_url)
    try:
        monkeypatch.setattr(tenants_module, "append_entries", broken_audit)
        with pytest.raises(RuntimeError, match="audit trail"):
            await TenantStore(engine).create_with_admin_key("acme", "Acme", ["admin"], "operator", None)
        monkeypatch.undo()
        assert await TenantStore(engine).get("acme") is None
        assert await ApiKeyStore(engine).for_tenant("acme").all() == []
    finally:
        await engine.dispose()
    # Nothing of the first try is left: the same id can be made, with one key and a chained audit trail.
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=OPERATOR))
    async with api_client(app) as http:
        acme = await _tenant(http, "acme")
        keys = (await http.get("/v1/keys", headers=bearer(acme))).json()
        assert [k["name"] for k in keys["keys"]] == ["first admin key"]
        trail = (await http.get("/v1/audit", headers=bearer(acme))).json()
        assert [e["event"] for e in trail["entries"]] == ["tenant_created", "key_created"]
        assert (await http.get("/v1/audit/verify", headers=bearer(acme))).json()["intact"] is True
