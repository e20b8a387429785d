"""GraphQL at /graphql: the same answers as REST, batched loads (the query count does not grow with the rows),
query limits, scopes, and tenants kept apart."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import event

from outlay.events.plan import ActionPlan, Kind, PlannedChange, PlanStatus, Risk
from outlay.settings import Settings
from outlay.store.audit import AuditEvent, AuditLog
from outlay.store.engine import make_engine
from outlay.store.plans import PlanStore, RecommendationStore, StoredRecommendation, recommendation_id
from services.gateway.anomalies.store import AnomalyStore
from services.gateway.app import create_app
from tests.integration.anomaly_support import EC2, incident
from tests.integration.gateway_fixtures import api_client, seed_scenario

OPERATOR = "operator-key-0123456789abcdef"
NOW = datetime.now(UTC).replace(microsecond=0)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def gql(http: httpx.AsyncClient, key: str, query: str, **variables: Any) -> dict[str, Any]:
    answer = await http.post("/graphql", headers=bearer(key), json={"query": query, "variables": variables})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _plan(n: int, tenant_id: str = "default") -> ActionPlan:
    change = PlannedChange(
        resource_id=f"i-{n:04d}", kind=Kind.RIGHTSIZE, summary="resize", monthly_saving=Decimal("10"), confidence=1,
        risk=Risk.LOW, current="m5.2xlarge", proposed="m5.large",
    )  # fmt: skip
    return ActionPlan(
        plan_id=f"plan-{n:04d}", status=PlanStatus.PROPOSED, region="us-east-1", title=f"plan {n}", changes=[change],
        monthly_saving=Decimal(10), risk=Risk.LOW, requires_approval=True, created_at=NOW,
        updated_at=NOW + timedelta(seconds=n), tenant_id=tenant_id,
    )  # fmt: skip


async def _seed_plans(store_url: str, count: int) -> None:
    engine = make_engine(store_url)
    try:
        plans = [_plan(n) for n in range(count)]
        await PlanStore(engine).propose(plans, "us-east-1", NOW)
        await AuditLog(engine).append(
            [AuditEvent(NOW, "optimizer", f"plan:{p.plan_id}", "proposed", p.title) for p in plans]
        )
        found = [
            StoredRecommendation(
                recommendation_id("us-east-1", "rightsize", p.changes[0].resource_id),
                "us-east-1",
                "rightsize",
                p.changes[0].resource_id,
                "resize",
                Decimal(10),
                1.0,
                "low",
                "m5.2xlarge",
                "m5.large",
                {"p95": 3.5},
                p.plan_id,
                NOW,
            )  # fmt: skip
            for p in plans
        ]
        await RecommendationStore(engine).replace("us-east-1", found)
    finally:
        await engine.dispose()


@contextmanager
def counting_statements(app: Any) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs inside the block for requests (the webhook deliverer's poll of its
    queue, which runs in the background on the same engine every half second, is not counted)."""
    statements: list[str] = []
    engine = app.state.tenant_stores.costs._engine.sync_engine

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM webhook_deliveries" not in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


PLANS_QUERY = """
query($first: Int) {
  plans(first: $first) { items { planId status audit { event subject } } nextCursor }
  recommendations { resourceId monthlySaving plan { planId title } }
}
"""


async def test_costs_and_plans_answer_as_rest_does(store_url: str) -> None:
    await seed_scenario(store_url)
    await _seed_plans(store_url, 3)
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=OPERATOR))
    async with api_client(app) as http:
        params = {"start": "2024-05-01", "end": "2024-05-03", "granularity": "hour", "group_by": "service"}
        rest = (await http.get("/v1/costs", params=params, headers=bearer(OPERATOR))).json()
        answer = await gql(
            http, OPERATOR,
            """query($f: JSON) { costs(start: "2024-05-01", end: "2024-05-03", granularity: "hour",
                 groupBy: ["service"], filters: $f) {
                 granularity start end groupBy total rows { periodStart group cost } totals { currency costKind cost } } }""",
            f={},
        )  # fmt: skip
        costs = answer["data"]["costs"]
        assert costs["rows"] == [
            {"periodStart": r["period_start"], "group": r["group"], "cost": r["cost"]} for r in rest["rows"]
        ]
        assert costs["totals"] == [
            {"currency": t["currency"], "costKind": t["cost_kind"], "cost": t["cost"]} for t in rest["totals"]
        ]
        assert (costs["start"], costs["end"], costs["groupBy"]) == (rest["start"], rest["end"], rest["group_by"])
        assert len(costs["rows"]) > 3
        rest_plans = (await http.get("/v1/plans", headers=bearer(OPERATOR))).json()["plans"]
        got = (await gql(http, OPERATOR, PLANS_QUERY))["data"]
        assert [p["planId"] for p in got["plans"]["items"]] == [p["plan_id"] for p in rest_plans]
        assert all(
            p["audit"] == [{"event": "proposed", "subject": f"plan:{p['planId']}"}] for p in got["plans"]["items"]
        )
        assert {r["plan"]["planId"] for r in got["recommendations"]} == {p["plan_id"] for p in rest_plans}
        window = {"start": "2024-05-01", "end": "2024-05-03"}
        rest_dims = (await http.get("/v1/costs/dimensions", params=window, headers=bearer(OPERATOR))).json()
        got_dims = await gql(http, OPERATOR, '{ dimensions(start: "2024-05-01", end: "2024-05-03") }')
        assert got_dims["data"]["dimensions"] == rest_dims and rest_dims["dimensions"]["service"]
        # A bad argument names itself, like REST's problem details; never a 500.
        bad = await gql(http, OPERATOR, '{ costs(start: "yesterday-ish") { total } }')
        assert bad["data"] is None and bad["errors"][0]["message"].startswith("start:")
        bad_plans = await gql(http, OPERATOR, '{ plans(status: "sleeping") { nextCursor } }')
        assert bad_plans["errors"][0]["message"].startswith("status:")


async def test_nested_fields_are_batched_not_one_query_per_row(store_url: str) -> None:
    """plans → audit and recommendations → plan: the statement count stays the same for 4 rows and for 40."""
    await _seed_plans(store_url, 40)
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=OPERATOR))
    async with api_client(app) as http:
        await gql(http, OPERATOR, PLANS_QUERY)  # warm: the first connection asks the server about itself
        counts = []
        for first in (4, 40):
            with counting_statements(app) as statements:
                got = (await gql(http, OPERATOR, PLANS_QUERY, first=first))["data"]
            assert len(got["plans"]["items"]) == first and len(got["recommendations"]) == 40
            assert all(r["plan"]["title"].startswith("plan ") for r in got["recommendations"])
            counts.append(len(statements))
        assert counts[0] == counts[1], (counts, statements)
        assert counts[1] <= 4, counts  # plans page, audit of the page, recommendations, their plans


async def test_query_limits_scopes_and_authentication(store_url: str) -> None:
    await _seed_plans(store_url, 2)
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=OPERATOR))
    async with api_client(app) as http:
        refused = await http.post("/graphql", json={"query": "{ me { tenantId } }"})
        assert refused.status_code == 401
        assert (
            await http.get("/graphql", params={"query": "{ me { tenantId } }"}, headers=bearer(OPERATOR))
        ).status_code != 200
        made = await http.post("/v1/keys", headers=bearer(OPERATOR), json={"name": "reader", "scopes": ["read:plans"]})
        reader = made.json()["key"]
        me = (await gql(http, reader, "{ me { tenantId scopes } }"))["data"]["me"]
        assert me == {"tenantId": "default", "scopes": ["read:plans"]}
        forbidden = await gql(http, reader, "{ costs { total } }")
        assert forbidden["errors"][0]["message"] == "forbidden: this key lacks the scope read:costs"
        deep = "{ recommendations { plan { audit { event } } } }"
        assert "errors" not in await gql(http, OPERATOR, deep)
        aliased = await gql(
            http, OPERATOR, "{ a: me { tenantId } " + " ".join(f"b{i}: me {{ name }}" for i in range(25)) + " }"
        )
        assert "aliases" in aliased["errors"][0]["message"].lower()
        # 200 plans x (their audit) x ... nested under recommendations x 200: refused before anything runs.
        costly = "{ recommendations { plan { audit { event actor detail } } } }"
        many = (
            "{ "
            + " ".join(f"r{i}: recommendations {{ plan {{ audit {{ event actor detail }} }} }}" for i in range(12))
            + " }"
        )
        assert "errors" not in await gql(http, OPERATOR, costly)
        too_costly = await gql(http, OPERATOR, many)
        assert "too complex" in too_costly["errors"][0]["message"], too_costly
        # A page size in a variable is counted as the largest page, so it cannot hide the cost.
        paged = (
            "query($n: Int) { "
            + " ".join(f"p{i}: plans(first: $n) {{ items {{ audit {{ event actor }} }} }}" for i in range(3))
            + " }"
        )
        hidden = await http.post("/graphql", headers=bearer(OPERATOR), json={"query": paged, "variables": {"n": 5}})
        assert "too complex" in hidden.json()["errors"][0]["message"]
        # Bad arguments name themselves; store errors are masked, never shown with their SQL.
        bad_id = await gql(http, OPERATOR, '{ plan(planId: "a\\u0000b") { title } }')
        assert bad_id["errors"][0]["message"] == "planId: not an id"
        bad_filter = await gql(http, OPERATOR, '{ costs(filters: {key_hash: ["x"]}) { total } }')
        assert bad_filter["errors"][0]["message"].startswith("key_hash: not a dimension")
        bad_kind = await gql(http, OPERATOR, '{ recommendations(kind: "bogus") { kind } }')
        assert bad_kind["errors"][0]["message"].startswith("kind:")


async def test_another_tenants_rows_are_not_there(store_url: str, broker: str) -> None:
    engine = make_engine(store_url)
    try:
        await PlanStore(engine).for_tenant("acme").propose([_plan(1, "acme")], "us-east-1", NOW)
        await (
            AnomalyStore(engine)
            .for_tenant("acme")
            .upsert([incident(EC2, 0, 5).model_copy(update={"tenant_id": "acme"})])
        )
    finally:
        await engine.dispose()
    app = create_app(Settings(DATABASE_URL=store_url, KAFKA_BOOTSTRAP_SERVERS=broker, OUTLAY_API_KEY=OPERATOR))
    async with api_client(app) as http:
        keys = {}
        for tenant in ("acme", "globex"):
            made = await http.post("/v1/tenants", headers=bearer(OPERATOR), json={"tenant_id": tenant, "name": tenant})
            keys[tenant] = made.json()["admin_key"]
        mine = (await gql(http, keys["acme"], "{ plans { items { planId } } anomalies { items { anomalyId } } }"))[
            "data"
        ]
        assert [p["planId"] for p in mine["plans"]["items"]] == ["plan-0001"] and len(mine["anomalies"]["items"]) == 1
        anomaly_id = mine["anomalies"]["items"][0]["anomalyId"]
        theirs = await gql(
            http, keys["globex"],
            'query($a: String!) { plans { items { planId } } plan(planId: "plan-0001") { title } '
            "anomalies { items { anomalyId } } anomaly(anomalyId: $a) { series } }",
            a=anomaly_id,
        )  # fmt: skip
        assert theirs["data"] == {"plans": {"items": []}, "plan": None, "anomalies": {"items": []}, "anomaly": None}
        judged = await gql(
            http, keys["globex"], 'mutation($a: String!) { anomalyFeedback(anomalyId: $a, verdict: "planned") { feedback } }', a=anomaly_id
        )  # fmt: skip
        assert judged["errors"][0]["message"] == f"no anomaly with id {anomaly_id!r}"
        asked = await gql(http, keys["globex"], 'mutation { requestPlanApproval(planId: "plan-0001") { requestedBy } }')
        assert (
            asked["data"] is None and asked["errors"]
        )  # refused (an admin key has no person; nor is it globex's plan)
        ours = await gql(http, keys["acme"], 'mutation { requestPlanApproval(planId: "plan-0001") { requestedBy } }')
        assert "asked for by people" in ours["errors"][0]["message"]  # the admin key has no person
        person = await http.post(
            "/v1/users", headers=bearer(keys["acme"]), json={"email": "p@acme.test", "role": "admin"}
        )
        made = await http.post(
            "/v1/keys", headers=bearer(keys["acme"]), json={"name": "p", "user_id": person.json()["user_id"]}
        )
        own = (await http.post("/v1/me/keys", headers=bearer(made.json()["key"]), json={"name": "own"})).json()["key"]
        asked_ok = await gql(http, own, 'mutation { requestPlanApproval(planId: "plan-0001") { requestedBy } }')
        assert "user:" in asked_ok["data"]["requestPlanApproval"]["requestedBy"]
        self_approve = await gql(http, own, 'mutation { decidePlan(planId: "plan-0001", approve: true) }')
        assert "cannot approve" in self_approve["errors"][0]["message"]
