"""Tenancy in the forecast service without I/O: the tenant a request names, ids that never collide across
tenants, forecasts and alerts that carry their tenant, alert states kept per tenant, and which tenants a ledger
commit asks to reforecast."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from outlay.budgets import Budget, BudgetStatus
from outlay.events import LedgerProgress
from outlay.events.budget_alert import budget_alert_id
from outlay.events.forecast import ForecastBasis, forecast_id
from outlay.rpc.forecast_messages import from_message, to_message
from outlay.tenancy import DEFAULT_TENANT
from services.forecast.budget_status import AlertTracker, budget_statuses
from services.forecast.scopes import DailyCost, ScopeHistory, build_forecasts
from services.forecast.tenants import requested_tenant, tenant_event_id
from services.forecast.worker import billed_tenants

TODAY = date(2026, 11, 20)
AT = datetime(2026, 11, 20, tzinfo=UTC)


def steady(per_day: str, days: int = 50) -> ScopeHistory:
    history = ScopeHistory()
    first = TODAY - timedelta(days=days)
    for i in range(days):
        history.add(
            DailyCost(first + timedelta(days=i), "billed", "USD", "111", "AmazonEC2", {"team": "web"}, Decimal(per_day))
        )
    return history


def statuses(per_day: str, amount: int) -> list[BudgetStatus]:
    budget = Budget(
        budget_id="b1", name="web", scope="tag:team=web", amount=Decimal(amount), created_at=datetime(2026, 11, 1)
    )
    return budget_statuses(steady(per_day), [budget], TODAY)


def test_an_empty_tenant_is_the_default_one_and_a_malformed_one_is_refused_naming_the_field() -> None:
    assert requested_tenant("") == DEFAULT_TENANT
    assert requested_tenant("acme-2") == "acme-2"
    for bad in ("Acme", "-acme", "acme corp", "a" * 64, "x" * 100_000):
        with pytest.raises(ValueError, match="^tenant_id: ") as refused:
            requested_tenant(bad)
        assert len(str(refused.value)) < 200  # never echoes a huge value back


def test_ids_keep_their_default_tenant_values_and_differ_per_tenant() -> None:
    content = forecast_id("total", "USD", ForecastBasis.BILLED_ELSE_ESTIMATED, TODAY, 30)
    assert tenant_event_id(DEFAULT_TENANT, content) == content
    others = {tenant_event_id(t, content) for t in ("acme", "globex", "acme-2")}
    assert len(others) == 3 and content not in others
    assert tenant_event_id("acme", content) == tenant_event_id("acme", content)  # stable


def test_forecasts_carry_their_tenant_and_an_id_of_its_own() -> None:
    history = steady("100")
    default = {f.scope: f for f in build_forecasts(history, TODAY, 7)}
    acme = {f.scope: f for f in build_forecasts(history, TODAY, 7, tenant_id="acme")}
    assert set(default) == set(acme)
    for scope, f in acme.items():
        assert f.tenant_id == "acme" and default[scope].tenant_id == DEFAULT_TENANT
        assert f.forecast_id != default[scope].forecast_id
        assert f.days == default[scope].days  # the same history: the same numbers
    total = default["total"]
    assert total.forecast_id == forecast_id("total", "USD", total.basis, total.history_end, 7)
    # Over gRPC the tenant travels with the forecast.
    assert from_message(to_message(acme["total"])) == acme["total"]
    assert from_message(to_message(total)).tenant_id == DEFAULT_TENANT


def test_alerts_carry_their_tenant_and_states_are_kept_per_tenant() -> None:
    tracker = AlertTracker()
    tight = statuses("100", 2500)  # the same budget id in both tenants: ids must still differ
    default = tracker.changes(tight, AT)
    acme = tracker.changes(tight, AT, "acme")
    assert default and len(acme) == len(default)
    assert {a.tenant_id for a in default} == {DEFAULT_TENANT} and {a.tenant_id for a in acme} == {"acme"}
    assert not {a.alert_id for a in default} & {a.alert_id for a in acme}
    assert {a.alert_id for a in default} == {
        budget_alert_id(a.budget_id, a.period_start, a.basis, a.percent) for a in default
    }  # the default tenant's ids are those from before tenancy
    # acme's budget relaxes: acme hears of it; the default tenant's states are untouched by acme's run.
    relaxed = tracker.changes(statuses("100", 10_000), AT, "acme")
    assert {a.state for a in relaxed} == {"ok"} and {a.tenant_id for a in relaxed} == {"acme"}
    assert tracker.changes(tight, AT) == []
    # A tenant whose budget is gone forgets it, and only that tenant.
    assert tracker.changes([], AT, "acme") == []
    assert tracker.changes(tight, AT) == []
    again = tracker.changes(tight, AT, "acme")
    assert again and all(a.state != "ok" and a.tenant_id == "acme" for a in again)


def progress(kinds: list[str], tenants: list[str], written: int = 10) -> LedgerProgress:
    return LedgerProgress(
        written=written, duplicates=0, period_start=AT, period_end=AT, cost_kinds=kinds, committed_at=AT,
        tenant_ids=tenants,
    )  # fmt: skip


def test_only_the_tenants_whose_bill_a_commit_wrote_are_reforecast() -> None:
    assert billed_tenants(progress(["billed"], ["acme"])) == {"acme"}
    assert billed_tenants(progress(["estimated", "billed"], ["acme", DEFAULT_TENANT])) == {"acme", DEFAULT_TENANT}
    assert billed_tenants(progress(["estimated"], ["acme"])) == set()
    assert billed_tenants(progress(["billed"], ["acme"], written=0)) == set()


def test_an_alert_not_delivered_is_raised_again() -> None:
    tracker = AlertTracker()
    tight = statuses("100", 2500)
    pending = tracker.changes(tight, AT, "acme", record=False)
    assert pending  # the send failed: nothing recorded
    again = tracker.changes(tight, AT, "acme", record=False)
    assert [a.alert_id for a in again] == [a.alert_id for a in pending]
    tracker.sent(again)
    assert tracker.changes(tight, AT, "acme", record=False) == []
