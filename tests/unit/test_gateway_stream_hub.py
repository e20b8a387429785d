"""The tick hub and tick folding, without a broker or a socket."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from outlay.events import CostForecast, LedgerProgress
from services.gateway.permissions import Principal, Scope
from services.gateway.query import parse_group_by
from services.gateway.report import CostReport, CostRow
from services.gateway.stream import DROP_SIGNAL, CostTick, ForecastFilter, StreamHub, tick_query, ticks_from_report


def test_tick_query_is_bounded_to_the_last_hour_of_progress() -> None:
    event = LedgerProgress(
        written=1,
        duplicates=0,
        period_start=datetime(2024, 5, 1, tzinfo=UTC),
        period_end=datetime(2024, 5, 2, 0, 0, 30, tzinfo=UTC),
        cost_kinds=["billed"],
        committed_at=datetime.now(UTC),
    )
    q = tick_query([event])
    assert (q.range.start, q.range.end) == (datetime(2024, 5, 1, 23, 1), datetime(2024, 5, 2, 0, 1))
    assert q.filters.dimensions == {"cost_kind": ("billed",)}


def test_ticks_fold_services_and_filter_per_client() -> None:
    q = tick_query(
        [
            LedgerProgress(
                written=1,
                duplicates=0,
                period_start=datetime(2024, 5, 1, 10, tzinfo=UTC),
                period_end=datetime(2024, 5, 1, 10, 1, tzinfo=UTC),
                cost_kinds=["estimated"],
                committed_at=datetime.now(UTC),
            )
        ]
    )
    assert [k.label for k in q.group_by] == [k.label for k in parse_group_by(["service"])]
    minute = datetime(2024, 5, 1, 10)
    rows = [
        CostRow(minute, ("EC2", "USD", "estimated"), 2),
        CostRow(minute, ("S3", "USD", "estimated"), 3),
    ]
    (tick,) = ticks_from_report(CostReport(q, rows))
    assert tick == CostTick(minute, "estimated", "USD", {"EC2": 2, "S3": 3})
    assert tick.message(None)["cost"] == "0.000000005"  # type: ignore[index]
    assert tick.message(frozenset({"S3"}))["by_service"] == {"S3": "0.000000003"}  # type: ignore[index]
    assert tick.message(frozenset({"RDS"})) is None


def test_full_queue_drops_only_that_client() -> None:
    hub = StreamHub(queue_size=2)
    slow, fast = hub.register(), hub.register()
    tick = CostTick(datetime(2024, 5, 1), "billed", "USD", {"EC2": 1})
    for _ in range(3):
        hub.publish("default", [tick])
        while not fast.queue.empty():
            fast.queue.get_nowait()
    assert slow.dropped and slow not in hub.clients
    assert slow.queue.get_nowait() is DROP_SIGNAL  # the sender closes the socket on this
    assert fast in hub.clients and not fast.dropped
    assert hub.ticks_sent == 2 + 3


def test_plan_subscriptions_filter_by_status_and_region_and_reject_unknown_statuses() -> None:
    from decimal import Decimal

    from outlay.events.plan import ActionPlan, Kind, PlannedChange, PlanStatus, Risk
    from services.gateway.routes.stream import apply_message

    def plan(status: PlanStatus, region: str) -> ActionPlan:
        change = PlannedChange(
            resource_id="i-1", kind=Kind.STOP_INSTANCE, summary="stop", monthly_saving=Decimal(1), confidence=1,
            risk=Risk.LOW,
        )  # fmt: skip
        at = datetime(2026, 11, 30, tzinfo=UTC)
        return ActionPlan(
            plan_id=f"{status.value}-{region}", status=status, region=region, title="t", changes=[change],
            monthly_saving=Decimal(1), risk=Risk.LOW, requires_approval=True, created_at=at, updated_at=at,
        )  # fmt: skip

    hub = StreamHub()
    everything, applied_eu, silent = hub.register(), hub.register(), hub.register()
    assert apply_message(everything, '{"subscribe": "plans"}') == {
        "type": "subscribed",
        "topic": "plans",
        "filters": {},
    }
    reply = apply_message(
        applied_eu, '{"subscribe": "plans", "filters": {"status": "applied", "region": ["eu-west-1"]}}'
    )
    assert reply["filters"] == {"status": ["applied"], "region": ["eu-west-1"]}
    bad = apply_message(silent, '{"subscribe": "plans", "filters": {"status": "done"}}')
    assert bad["type"] == "error" and "filters.status" in bad["detail"]
    hub.publish_plans([plan(PlanStatus.APPLIED, "eu-west-1"), plan(PlanStatus.APPLIED, "us-east-1")])
    hub.publish_plans([plan(PlanStatus.PROPOSED, "eu-west-1")])
    got = {c: [] for c in (everything, applied_eu, silent)}
    for c, messages in got.items():
        while not c.queue.empty():
            messages.append(c.queue.get_nowait()["plan"]["plan_id"])
    assert got[everything] == ["applied-eu-west-1", "applied-us-east-1", "proposed-eu-west-1"]
    assert got[applied_eu] == ["applied-eu-west-1"] and got[silent] == []
    assert apply_message(applied_eu, '{"unsubscribe": "plans"}')["type"] == "unsubscribed" and applied_eu.plans is None


def _documented_forecast() -> CostForecast:
    """The example of docs/events.md (a complete, valid forecast)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()
    section = text.split("## `outlay.forecasts.v1`", 1)[1]
    return CostForecast.model_validate(json.loads(section.split("```json\n", 1)[1].split("```", 1)[0]))


def test_forecasts_reach_subscribed_clients_of_their_tenant_and_scope() -> None:
    hub = StreamHub()
    acme = Principal("k1", "acme key", "acme", frozenset({Scope.ADMIN}))
    globex = Principal("k2", "globex key", "globex", frozenset({Scope.ADMIN}))
    mine, other_scope, theirs, unsubscribed = (hub.register(acme), hub.register(acme), hub.register(globex),
                                               hub.register(acme))  # fmt: skip
    forecast = _documented_forecast().model_copy(update={"tenant_id": "acme"})
    mine.forecasts = ForecastFilter(frozenset({forecast.scope}))
    other_scope.forecasts = ForecastFilter(frozenset({"service=Nothing"}))
    theirs.forecasts = ForecastFilter()
    hub.publish_forecasts([forecast])
    got = mine.queue.get_nowait()
    assert got["type"] == "forecast" and got["forecast"]["forecast_id"] == forecast.forecast_id
    assert other_scope.queue.empty() and theirs.queue.empty() and unsubscribed.queue.empty()


def test_plans_and_budget_alerts_reach_only_their_tenants_clients() -> None:
    from datetime import date
    from decimal import Decimal

    from outlay.events.budget_alert import BudgetAlert, ThresholdBasis, ThresholdState
    from outlay.events.plan import ActionPlan, Kind, PlannedChange, PlanStatus, Risk
    from services.gateway.routes.stream import apply_message

    hub = StreamHub()
    acme = hub.register(Principal("k1", "acme key", "acme", frozenset({Scope.ADMIN})))
    globex = hub.register(Principal("k2", "globex key", "globex", frozenset({Scope.ADMIN})))
    for client in (acme, globex):
        for topic in ("plans", "budget_alerts"):
            assert apply_message(client, json.dumps({"subscribe": topic}))["type"] == "subscribed"
    at = datetime(2026, 11, 30, tzinfo=UTC)
    change = PlannedChange(resource_id="i-1", kind=Kind.STOP_INSTANCE, summary="stop", monthly_saving=Decimal(1),
                           confidence=1, risk=Risk.LOW)  # fmt: skip
    plan = ActionPlan(plan_id="p-1", status=PlanStatus.PROPOSED, region="us-east-1", title="t", changes=[change],
                      monthly_saving=Decimal(1), risk=Risk.LOW, requires_approval=True, created_at=at, updated_at=at,
                      tenant_id="acme")  # fmt: skip
    alert = BudgetAlert(
        alert_id="a-1", budget_id="b", budget_name="web", scope="total", currency="USD", amount=Decimal(100),
        period_start=date(2026, 11, 1), period_end=date(2026, 12, 1), basis=ThresholdBasis.ACTUAL,
        percent=Decimal(80), threshold_amount=Decimal(80), state=ThresholdState.BREACHED, crossing_day=None,
        actual_to_date=Decimal(85), forecast_total=None, summary="over", raised_at=at, tenant_id="globex",
    )  # fmt: skip
    hub.publish_plans([plan])
    hub.publish_budget_alerts([alert])
    got = {c: [] for c in (acme, globex)}
    for c, messages in got.items():
        while not c.queue.empty():
            message = c.queue.get_nowait()
            if message["type"] in ("plan", "budget_alert"):
                messages.append(message["type"])
    assert got[acme] == ["plan"] and got[globex] == ["budget_alert"]
