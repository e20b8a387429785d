"""Bad input to the plan routes gets a 422 naming the field (never a 500 or a 503 from the store): NUL characters
in ids, cursors and comments, which PostgreSQL text cannot hold."""

from __future__ import annotations

import base64

from outlay.settings import Settings
from services.gateway.app import create_app
from tests.integration.gateway_fixtures import api_client


async def test_nul_and_malformed_ids_are_refused_with_the_field_named(store_url: str) -> None:
    app = create_app(Settings(DATABASE_URL=store_url))
    cursor = base64.urlsafe_b64encode(b"2026-11-30T00:00:00|a\x00b").decode()
    async with api_client(app) as http:
        for method, path, body in (
            ("GET", "/v1/plans/a%00b", None),
            ("GET", "/v1/plans/a b/audit", None),
            ("POST", "/v1/plans/a%00b/approve", None),
            ("GET", "/v1/anomalies/a%00b", None),
            ("GET", "/v1/budgets/a%00b", None),
            ("POST", "/v1/plans/abc/reject", {"comment": "a\x00b"}),
            ("GET", f"/v1/plans?cursor={cursor}", None),
        ):
            reply = await http.request(method, path, json=body)
            assert reply.status_code == 422, (path, reply.status_code, reply.text)
            fields = [e["field"] for e in reply.json()["errors"]]
            assert fields and all(f in ("plan_id", "anomaly_id", "budget_id", "comment", "cursor") for f in fields)
