"""The audit trail is hash-chained (PostgreSQL and SQLite): appends from concurrent writers never fork it, editing
or deleting an entry shows in `verify`, and admins read and check it through GET /v1/audit(/verify)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import delete, insert, update

from outlay.settings import Settings
from outlay.store.audit import AuditEvent, AuditLog
from outlay.store.engine import make_engine
from outlay.store.models import AuditRow
from services.gateway.app import create_app
from tests.integration.gateway_fixtures import api_client

ADMIN = "operator-key-0123456789abcdef"
AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


async def test_the_chain_holds_under_concurrent_appends_and_shows_any_edit_or_deletion(dialect_url: str) -> None:
    engine, other = (
        make_engine(dialect_url),
        make_engine(dialect_url),
    )  # two writers, as the gateway and the optimizer are
    try:
        first, second = AuditLog(engine), AuditLog(other)
        await asyncio.gather(
            *(
                log.append([AuditEvent(AT, f"w{n}", f"plan:{n}", "step", f"#{k}") for k in range(3)])
                for n, log in enumerate([first, second] * 5)
            )  # fmt: skip
        )
        done = await first.verify()
        assert (done.checked, done.broken, done.starts_at, done.head_id) == (30, None, 1, 30)
        assert [e.event.detail for e in await first.page("plan:0")] == ["#0", "#1", "#2"]
        async with engine.begin() as conn:
            await conn.execute(update(AuditRow).where(AuditRow.audit_id == 7).values(detail="nothing happened"))
        assert (await first.verify()).broken == 7
        async with engine.begin() as conn:
            await conn.execute(update(AuditRow).where(AuditRow.audit_id == 7).values(detail=_original(7)))
        assert (await first.verify()).broken is None  # put back as it was: intact again
        async with engine.begin() as conn:
            await conn.execute(delete(AuditRow).where(AuditRow.audit_id == 12))
        gap = await first.verify()
        assert (gap.checked, gap.broken) == (11, 13)  # the entry after the gap no longer follows
    finally:
        await engine.dispose()
        await other.dispose()


def _original(audit_id: int) -> str:
    """Entries were appended three per writer, in order: #0, #1, #2."""
    return f"#{(audit_id - 1) % 3}"


async def test_admins_read_and_verify_the_trail_and_key_changes_are_in_it(store_url: str) -> None:
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=ADMIN))
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with api_client(app) as http:
        made = (await http.post("/v1/keys", headers=headers, json={"name": "ci", "role": "viewer"})).json()
        assert (await http.delete(f"/v1/keys/{made['key_id']}", headers=headers)).status_code == 204
        page = (await http.get("/v1/audit", headers=headers, params={"subject": f"key:{made['key_id']}"})).json()
        assert [e["event"] for e in page["entries"]] == ["key_created", "key_revoked"]
        assert page["entries"][0]["actor"] == "operator (key operator)" and "read:costs" in page["entries"][0]["detail"]
        checked = (await http.get("/v1/audit/verify", headers=headers)).json()
        first_id = page["entries"][0]["audit_id"]
        assert (checked["entries_checked"], checked["intact"], checked["first_broken_id"]) == (2, True, None)
        assert (checked["chain_starts_at"], checked["head_id"]) == (first_id, first_id + 1)
        assert checked["head_hash"] == page["entries"][1]["entry_hash"]
        viewer = (await http.post("/v1/keys", headers=headers, json={"name": "v", "role": "viewer"})).json()
        assert (await http.get("/v1/audit", headers={"Authorization": f"Bearer {viewer['key']}"})).status_code == 403
        huge = await http.get("/v1/audit", headers=headers, params={"after": "3000000000"})
        assert huge.status_code == 422 and huge.json()["errors"][0]["field"] == "after"
        bad = await http.get("/v1/audit", headers=headers, params={"limit": "0", "after": "-1"})
        assert bad.status_code == 422 and sorted(e["field"] for e in bad.json()["errors"]) == ["after", "limit"]


async def test_entries_from_before_the_chain_are_skipped_and_the_chain_checked_after_them(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        async with engine.begin() as conn:  # as a store upgraded from before migration 0009 holds them
            await conn.execute(insert(AuditRow).values(at=AT.replace(tzinfo=None), actor="old", subject="plan:x",
                                                       resource_id="", event="proposed", detail="", entry_hash=""))  # fmt: skip
        log = AuditLog(engine)
        await log.append([AuditEvent(AT, "new", "plan:x", "approved")])
        done = await log.verify()
        assert (done.checked, done.broken, done.starts_at) == (1, None, 2)
    finally:
        await engine.dispose()


async def test_budget_and_webhook_changes_are_in_the_trail_with_what_they_were(store_url: str) -> None:
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=ADMIN, OUTLAY_WEBHOOK_ALLOW_PRIVATE=True))
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with api_client(app) as http:
        budget = {"name": "checkout", "scope": "tag:team=checkout", "amount": "1000", "thresholds": []}
        made = await http.post("/v1/budgets", headers=headers, json=budget)
        assert made.status_code == 201, made.text
        budget_id = made.json()["budget_id"]
        changed = {**budget, "amount": "1500.50", "thresholds": [{"basis": "forecast", "percent": "90"}]}
        replaced = await http.put(f"/v1/budgets/{budget_id}", headers=headers, json=changed)
        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["budget_id"] == budget_id
        assert replaced.json()["created_at"] == made.json()["created_at"]
        assert Decimal(replaced.json()["amount"]) == Decimal("1500.50")
        stored = (await http.get(f"/v1/budgets/{budget_id}", headers=headers)).json()
        assert Decimal(stored["amount"]) == Decimal("1500.50")
        assert [(t["basis"], Decimal(t["percent"])) for t in stored["thresholds"]] == [("forecast", Decimal(90))]
        missing = await http.put("/v1/budgets/nosuchbudget", headers=headers, json=changed)
        assert missing.status_code == 404
        bad = await http.put(f"/v1/budgets/{budget_id}", headers=headers, json={**changed, "amount": "-1"})
        assert bad.status_code == 422 and "amount" in bad.text
        assert (await http.delete(f"/v1/budgets/{budget_id}", headers=headers)).status_code == 204
        hook = await http.post(
            "/v1/webhooks", headers=headers, json={"url": "http://127.0.0.1:9/h", "events": ["plan"]}
        )
        assert hook.status_code == 201, hook.text
        hook_id = hook.json()["webhook_id"]
        assert (await http.delete(f"/v1/webhooks/{hook_id}", headers=headers)).status_code == 204

        async def events(subject: str) -> list[tuple[str, str]]:
            page = (await http.get("/v1/audit", headers=headers, params={"subject": subject})).json()
            return [(e["event"], e["detail"]) for e in page["entries"]]

        budget_trail = await events(f"budget:{budget_id}")
        assert [e for e, _ in budget_trail] == ["budget_created", "budget_updated", "budget_deleted"]
        assert all('"tag:team=checkout"' in detail for _, detail in budget_trail)  # what it was, each time
        assert '"1500.5' in budget_trail[1][1]  # the update records what the budget became
        hook_trail = await events(f"webhook:{hook_id}")
        assert [e for e, _ in hook_trail] == ["webhook_created", "webhook_deleted"]
        assert all('"http://127.0.0.1:9/…"' in detail and "secret" not in detail for _, detail in hook_trail)


async def test_a_change_whose_audit_entry_fails_is_not_made(store_url: str) -> None:
    from decimal import Decimal

    import pytest

    from outlay.budgets import BudgetIn
    from outlay.store.budgets import BudgetStore
    from outlay.store.webhooks import WebhookStore

    def refused(_: object) -> list[AuditEvent]:
        raise RuntimeError("the audit trail refused the entry")

    engine = make_engine(store_url)
    try:
        budgets, hooks = BudgetStore(engine), WebhookStore(engine)
        with pytest.raises(RuntimeError, match="audit trail"):
            await budgets.create(BudgetIn(name="web", scope="total", amount=Decimal(100)), refused)
        assert await budgets.all() == []
        kept = await budgets.create(BudgetIn(name="web", scope="total", amount=Decimal(100)))
        with pytest.raises(RuntimeError, match="audit trail"):
            await budgets.delete(kept.budget_id, refused)
        assert [b.budget_id for b in await budgets.all()] == [kept.budget_id]
        with pytest.raises(RuntimeError, match="audit trail"):
            await hooks.create("https://x.example/h", ["plan"], {}, "", "default", audit=refused)
        assert await hooks.all("default") == []
    finally:
        await engine.dispose()
