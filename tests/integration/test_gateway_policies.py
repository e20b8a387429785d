"""Policies through the API: versioned and audited changes, confined to the tenant, and a budget above a ceiling
refused with a policy violation event."""

from __future__ import annotations

import json

from outlay.events.topics import POLICY_VIOLATIONS
from outlay.settings import Settings
from services.gateway.app import create_app
from tests.integration.gateway_fixtures import api_client
from tests.integration.ingest_support import read_topic

OPERATOR = "operator-key-0123456789abcdef"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_policies_are_versioned_audited_and_kept_to_their_tenant(store_url: str) -> None:
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=OPERATOR))
    async with api_client(app) as http:
        admin = bearer(OPERATOR)
        rule = {"kind": "allowed_instance_families", "families": ["m7g", "c7g"]}
        made = await http.post("/v1/policies", headers=admin, json={"name": "graviton only", "rule": rule})
        assert made.status_code == 201, made.text
        policy = made.json()
        assert (policy["version"], policy["kind"], policy["rule"]) == (1, "allowed_instance_families", rule)
        changed = await http.put(
            f"/v1/policies/{policy['policy_id']}", headers=admin,
            json={"name": "graviton only", "rule": {**rule, "families": ["m7g"]}, "enabled": False},
        )  # fmt: skip
        assert changed.status_code == 200 and changed.json()["version"] == 2 and changed.json()["enabled"] is False
        trail = (await http.get("/v1/audit", headers=admin)).json()["entries"]
        change = next(e for e in trail if e["event"] == "policy_changed")
        assert '"c7g"' in change["detail"].split("→")[0] and '"c7g"' not in change["detail"].split("→")[1]
        bad = await http.post(
            "/v1/policies", headers=admin, json={"name": "x", "rule": {"kind": "required_tags", "keys": []}}
        )
        assert bad.status_code == 422 and "keys" in bad.text
        only_kind = await http.get("/v1/policies", params={"kind": "required_tags"}, headers=admin)
        assert only_kind.json()["policies"] == []
        unknown = await http.get("/v1/policies", params={"kind": "nope"}, headers=admin)
        assert unknown.status_code == 422 and "kind" in unknown.text
        # A reader may read, not write; another tenant sees nothing of it.
        reader = (await http.post("/v1/keys", headers=admin, json={"name": "r", "role": "viewer"})).json()["key"]
        assert len((await http.get("/v1/policies", headers=bearer(reader))).json()["policies"]) == 1
        refused = await http.post("/v1/policies", headers=bearer(reader), json={"name": "y", "rule": rule})
        assert refused.status_code == 403
        other = await http.post("/v1/tenants", headers=admin, json={"tenant_id": "acme", "name": "Acme"})
        theirs = bearer(other.json()["admin_key"])
        assert (await http.get("/v1/policies", headers=theirs)).json()["policies"] == []
        assert (await http.get(f"/v1/policies/{policy['policy_id']}", headers=theirs)).status_code == 404
        assert (await http.delete(f"/v1/policies/{policy['policy_id']}", headers=theirs)).status_code == 404
        query = {"query": "{ policies { policyId version enabled rule } }"}
        via_graphql = (await http.post("/graphql", headers=admin, json=query)).json()["data"]["policies"]
        assert via_graphql == [{"policyId": policy["policy_id"], "version": 2, "enabled": False,
                                "rule": {**rule, "families": ["m7g"]}}]  # fmt: skip
        assert (await http.post("/graphql", headers=theirs, json=query)).json()["data"]["policies"] == []
        assert (await http.delete(f"/v1/policies/{policy['policy_id']}", headers=admin)).status_code == 204
        # A value PostgreSQL itself refuses (a NUL in text) is the request's fault: 422, never "try again" (503).
        nul_scope = {"name": "n", "scope": "service=a\u0000b", "amount": "10", "period": "monthly"}
        refused = await http.post("/v1/budgets", headers=admin, json=nul_scope)
        assert refused.status_code == 422, refused.text
        nul_name = await http.post(
            "/v1/budgets", headers=admin, json={**nul_scope, "name": "a\u0000", "scope": "total"}
        )
        assert nul_name.status_code == 422 and "name" in nul_name.text
        assert (await http.get(f"/v1/policies/{policy['policy_id']}", headers=admin)).status_code == 404


async def test_a_budget_above_the_ceiling_is_refused_and_becomes_a_violation_event(store_url: str, broker: str) -> None:
    app = create_app(Settings(DATABASE_URL=store_url, KAFKA_BOOTSTRAP_SERVERS=broker, OUTLAY_API_KEY=OPERATOR,
                              OUTLAY_WEBHOOK_ALLOW_PRIVATE=True))  # fmt: skip
    async with api_client(app) as http:
        admin = bearer(OPERATOR)
        ceiling = {"name": "team budgets stay small", "rule": {"kind": "budget_ceiling", "max_amount": "1000"}}
        policy_id = (await http.post("/v1/policies", headers=admin, json=ceiling)).json()["policy_id"]
        budget = {"name": "ec2", "scope": "service=AmazonEC2", "amount": "5000", "period": "monthly"}
        refused = await http.post("/v1/budgets", headers=admin, json=budget)
        assert refused.status_code == 422 and refused.json()["detail"].startswith("amount: 5000 is above the ceiling")
        assert (await http.get("/v1/budgets", headers=admin)).json()["budgets"] == []
        assert (await http.post("/v1/budgets", headers=admin, json={**budget, "amount": "900"})).status_code == 201
        in_yen = await http.post("/v1/budgets", headers=admin, json={**budget, "amount": "5000", "currency": "JPY"})
        assert in_yen.status_code == 201  # the ceiling is in USD: another currency is not compared with it
        hook = await http.post("/v1/webhooks", headers=admin, json={"url": "http://127.0.0.1:9/v", "events": ["policy_violation"],
                                                                    "filters": {"kind": ["budget_ceiling"]}})  # fmt: skip
        assert hook.status_code == 201, hook.text
    violations = await read_topic(broker, POLICY_VIOLATIONS.name)
    assert len(violations) == 1, json.dumps(violations)
    v = violations[0]
    assert (v["policy_id"], v["kind"], v["subject"], v["evaluated_by"]) == (
        policy_id, "budget_ceiling", "budget:service=AmazonEC2", "gateway",
    )  # fmt: skip
