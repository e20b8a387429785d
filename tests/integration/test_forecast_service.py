"""The forecast service on the real store and broker: ledger rollups → forecasts per scope → `outlay.forecasts.v1`,
the gRPC ForecastService (status codes, health, deadlines) and the gateway's GET /v1/forecasts over it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import grpc
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi import HTTPException
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.budgets import BudgetIn
from outlay.events import CostKind, LedgerProgress, UsageRecord
from outlay.events.budget_alert import BudgetAlert, budget_alert_id
from outlay.events.forecast import CostForecast, forecast_id
from outlay.events.topics import FORECASTS
from outlay.kafka.embedded_broker import free_port
from outlay.kafka.producer import EventProducer
from outlay.rpc import forecast_pb2 as pb
from outlay.rpc import forecast_pb2_grpc as pb_grpc
from outlay.settings import Settings
from outlay.store.budgets import BudgetStore
from outlay.store.engine import make_engine
from outlay.store.tenants import AlreadyExists, TenantStore
from outlay.telemetry import tracing
from outlay.tenancy import DEFAULT_TENANT
from services.forecast.rpc_server import SERVICE_NAME, start_server
from services.forecast.worker import ProgressWatch, Reforecaster, run_schedule
from services.gateway.app import create_app
from services.gateway.forecasts.client import ForecastClient
from services.gateway.main import serving
from services.gateway.query import QueryError
from tests.integration.gateway_fixtures import api_client, client, receive_until, wait_for, write_ledger

pytestmark = pytest.mark.e2e
ACCOUNT = "123456789012"
AS_OF = date(2026, 3, 16)  # today: history is every complete day before it
FIRST = date(2026, 1, 1)
BILL_ENDS = date(2026, 3, 13)  # the bill has arrived up to here; live estimates cover the two days after
WITHIN = 60.0


def line(
    service: str,
    day: date,
    cost: str,
    kind: CostKind = CostKind.BILLED,
    team: str = "web",
    tenant_id: str = DEFAULT_TENANT,
) -> UsageRecord:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    amount = Decimal(cost)
    return UsageRecord(
        record_id=f"{service}-{day}-{kind.value}",  # the same ids in every tenant: the ledger keys on both
        tenant_id=tenant_id,
        source="test",
        cost_kind=kind,
        charge_period_start=start,
        charge_period_end=start + timedelta(days=1),
        billing_account_id=ACCOUNT,
        service=service,
        billed_cost=amount,
        effective_cost=amount,
        list_cost=amount,
        tags={"team": team},
    )


def history() -> list[UsageRecord]:
    records = []
    day = FIRST
    while day < AS_OF:
        if day <= BILL_ENDS:
            records.append(line("AmazonEC2", day, "400" if day.day == 1 else "100"))  # a month-start fee of 300
            records.append(line("AmazonS3", day, "20", team="data"))
        day += timedelta(days=1)
    for day in (date(2026, 3, 12), date(2026, 3, 13)):  # estimates the bill has replaced: never counted
        records.append(line("AmazonEC2", day, "999", CostKind.ESTIMATED))
    for day in (date(2026, 3, 14), date(2026, 3, 15)):  # estimates ahead of the bill: the best known cost
        records.append(line("AmazonEC2", day, "100", CostKind.ESTIMATED))
        records.append(line("AmazonS3", day, "20", CostKind.ESTIMATED, team="data"))
    return records


SCOPES = {
    "total",
    f"billing_account_id={ACCOUNT}",
    "service=AmazonEC2",
    "service=AmazonS3",
    "tag:team=web",
    "tag:team=data",
}


@pytest.fixture
async def reforecaster(store_url: str) -> AsyncIterator[Reforecaster]:
    engine = make_engine(store_url)
    await write_ledger(engine, history())
    try:
        yield Reforecaster(engine, ("team",), today=lambda: AS_OF)
    finally:
        await engine.dispose()


async def test_every_scope_is_forecast_from_billed_else_estimated_days_and_published(
    store_url: str, broker: str
) -> None:
    engine = make_engine(store_url)
    await write_ledger(engine, history())
    try:
        async with EventProducer(broker) as producer:
            reforecaster = Reforecaster(engine, ("team",), producer, today=lambda: AS_OF)
            published = await reforecaster.publish(30)
    finally:
        await engine.dispose()
    assert {f.scope for f in published} == SCOPES
    assert reforecaster.last_tenants == [DEFAULT_TENANT] and {f.tenant_id for f in published} == {DEFAULT_TENANT}

    consumer = AIOKafkaConsumer(FORECASTS.name, bootstrap_servers=broker, auto_offset_reset="earliest")
    await consumer.start()
    received: dict[str, CostForecast] = {}
    try:
        deadline = time.monotonic() + WITHIN
        while set(received) != SCOPES:
            assert time.monotonic() < deadline, f"forecasts on the topic: {sorted(received)}"
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                for m in messages:
                    event = CostForecast.model_validate_json(m.value or b"")
                    assert m.key == f"{event.scope}|{event.currency}".encode()
                    received[event.scope] = event
    finally:
        await consumer.stop()

    ec2, s3 = received["service=AmazonEC2"], received["service=AmazonS3"]
    assert ec2.history_start == FIRST and ec2.history_end == AS_OF - timedelta(days=1)
    assert len(ec2.days) == 30 and ec2.days[0].day == AS_OF
    # March so far: 14 days of 100 (the 999 estimates replaced by the bill), the 300 fee on the 1st.
    assert ec2.month_end.actual_to_date == Decimal(100 * 15 + 300)
    assert s3.month_end.actual_to_date == Decimal(20 * 15)
    assert s3.month_end.first_day == date(2026, 3, 1) and s3.month_end.last_day == date(2026, 3, 31)
    assert s3.month_end.expected == pytest.approx(Decimal(20 * 31), rel=Decimal("0.03"))
    assert s3.month_end.lower80 <= s3.month_end.expected <= s3.month_end.upper80
    april_first = ec2.days[(date(2026, 4, 1) - AS_OF).days]
    assert april_first.expected == pytest.approx(Decimal(400), rel=Decimal("0.05"))  # the fee comes back
    assert all(abs(d.expected - 100) < 5 for d in ec2.days if d.day.day != 1)
    assert received["total"].next_30_days.expected == pytest.approx(Decimal(30 * 120 + 300), rel=Decimal("0.05"))
    assert received["tag:team=data"].days[0].expected == pytest.approx(Decimal(20), rel=Decimal("0.05"))


async def test_grpc_forecast_service_answers_refuses_bad_arguments_and_reports_health(
    reforecaster: Reforecaster,
) -> None:
    server, port = await start_server(reforecaster, 30, "127.0.0.1:0")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.ForecastServiceStub(channel)
            one = await stub.Forecast(pb.ForecastRequest(scope="service=AmazonS3", horizon_days=7), timeout=WITHIN)
            assert len(one.days) == 7 and one.scope == "service=AmazonS3"
            assert Decimal(one.days[0].expected) == pytest.approx(Decimal(20), rel=Decimal("0.05"))
            assert Decimal(one.month_end.actual_to_date) == Decimal(300)

            batch = await stub.ForecastBatch(pb.ForecastBatchRequest(), timeout=WITHIN)
            assert {f.scope for f in batch.forecasts} == SCOPES
            chosen = await stub.ForecastBatch(pb.ForecastBatchRequest(scopes=["total", "tag:team=web"]), timeout=WITHIN)
            assert {f.scope for f in chosen.forecasts} == {"total", "tag:team=web"}

            refusals = [
                (pb.ForecastRequest(scope="colour=blue"), grpc.StatusCode.INVALID_ARGUMENT, "scope"),
                (pb.ForecastRequest(scope="total", horizon_days=91), grpc.StatusCode.INVALID_ARGUMENT, "horizon_days"),
                (pb.ForecastRequest(scope="service=AmazonRedshift"), grpc.StatusCode.NOT_FOUND, "scope"),
            ]
            for request, code, field in refusals:
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await stub.Forecast(request, timeout=WITHIN)
                assert refused.value.code() is code
                assert (refused.value.details() or "").startswith(f"{field}:")
            with pytest.raises(grpc.aio.AioRpcError) as bad_batch:
                await stub.ForecastBatch(pb.ForecastBatchRequest(scopes=["total", "oops"]), timeout=WITHIN)
            assert bad_batch.value.code() is grpc.StatusCode.INVALID_ARGUMENT
            assert (bad_batch.value.details() or "").startswith("scopes[1]:")
            with pytest.raises(grpc.aio.AioRpcError) as late:
                await stub.ForecastBatch(pb.ForecastBatchRequest(), timeout=0.001)
            assert late.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED

            health = health_pb2_grpc.HealthStub(channel)
            for name in ("", SERVICE_NAME):
                status = await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=WITHIN)
                assert status.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await server.stop(None)


async def test_gateway_serves_forecasts_over_grpc_with_problem_details(
    reforecaster: Reforecaster, store_url: str
) -> None:
    server, port = await start_server(reforecaster, 30, "127.0.0.1:0")
    key = "k" * 24
    auth = {"Authorization": f"Bearer {key}"}
    try:
        app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=key, OUTLAY_FORECAST_GRPC_PORT=port))
        async with api_client(app) as http:
            assert (await http.get("/v1/forecasts")).status_code == 401
            one = await http.get(
                "/v1/forecasts", params={"scope": "service=AmazonEC2", "horizon_days": "10"}, headers=auth
            )
            assert one.status_code == 200, one.text
            body = one.json()["forecasts"]
            assert len(body) == 1 and len(body[0]["days"]) == 10
            assert Decimal(body[0]["month_end"]["actual_to_date"]) == Decimal(1800)
            every = await http.get("/v1/forecasts", headers=auth)
            assert {f["scope"] for f in every.json()["forecasts"]} == SCOPES
            for params, status, field in [
                ({"scope": "nope"}, 422, "scope"),
                ({"scope": "total", "horizon_days": "soon"}, 422, "horizon_days"),
                ({"scope": "total", "horizon_days": "0.5"}, 422, "horizon_days"),
                ({"scope": "total", "horizon_days": "365"}, 422, "horizon_days"),
                ({"horizon_days": "99999999999"}, 422, "horizon_days"),
                ({"scope": ["total", "service=AmazonS3"], "currency": "EUR"}, 422, "currency"),
                ({"scope": "total", "colour": "blue"}, 422, "colour"),
            ]:
                refused = await http.get("/v1/forecasts", params=params, headers=auth)
                assert refused.status_code == status, (params, refused.text)
                assert refused.headers["content-type"].startswith("application/problem+json")
                assert field in json.dumps(refused.json()), refused.text
            missing = await http.get("/v1/forecasts", params={"scope": "service=AmazonRedshift"}, headers=auth)
            assert missing.status_code == 404
    finally:
        await server.stop(None)
    # The forecast service away: a 503 the client may retry, never a 500.
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=key, OUTLAY_FORECAST_GRPC_PORT=port))
    async with api_client(app) as http:
        away = await http.get("/v1/forecasts", params={"scope": "total"}, headers=auth)
        assert away.status_code == 503 and away.headers["retry-after"]


async def test_budgets_through_the_gateway_with_status_variance_and_live_alerts(store_url: str, broker: str) -> None:
    engine = make_engine(store_url)
    await write_ledger(engine, history())
    async with EventProducer(broker) as producer:
        reforecaster = Reforecaster(engine, ("team",), producer, today=lambda: AS_OF)
        server, grpc_port = await start_server(reforecaster, 30, "127.0.0.1:0")
        app = create_app(
            Settings(DATABASE_URL=store_url, KAFKA_BOOTSTRAP_SERVERS=broker, OUTLAY_FORECAST_GRPC_PORT=grpc_port)
        )
        port = free_port()
        try:
            async with (
                serving(app, port, within=WITHIN),
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
            ):
                for body, field in [
                    ({"name": "x", "scope": "colour=blue", "amount": "10"}, "scope"),
                    ({"name": "x", "scope": "total", "amount": "-10"}, "amount"),
                    ({"name": "x", "scope": "total", "amount": "10", "period": "custom"}, "custom period"),
                ]:
                    refused = await http.post("/v1/budgets", json=body)
                    assert refused.status_code == 422 and field in refused.text, refused.text
                created = await http.post(
                    "/v1/budgets", json={"name": "EC2", "scope": "service=AmazonEC2", "amount": "3000"}
                )
                assert created.status_code == 201, created.text
                budget_id = created.json()["budget_id"]
                assert [b["budget_id"] for b in (await http.get("/v1/budgets")).json()["budgets"]] == [budget_id]
                assert (await http.get(f"/v1/budgets/{budget_id}")).json()["scope"] == "service=AmazonEC2"
                assert (await http.get("/v1/budgets/nope")).status_code == 404

                status = (await http.get(f"/v1/budgets/{budget_id}/status")).json()
                # March: 1,800 spent to the 15th (with the fee), 100 a day forecast for the 16 days left.
                assert Decimal(status["actual_to_date"]) == Decimal(1800)
                assert Decimal(status["forecast_total"]) == pytest.approx(Decimal(3400), rel=Decimal("0.03"))
                actual_100 = next(t for t in status["thresholds"] if t["basis"] == "actual")
                assert actual_100["state"] == "forecast_to_breach" and actual_100["crossing_day"] == "2026-03-27"
                assert status["summary"].startswith("forecast to exceed the budget by 13%")
                variance = (await http.get("/v1/budgets/variance")).json()["budgets"]
                assert [v["budget_id"] for v in variance] == [budget_id]

                async with client(f"ws://127.0.0.1:{port}/v1/stream") as ws:
                    await receive_until(ws, lambda m: m["type"] == "hello")
                    await ws.send(json.dumps({"subscribe": "budget_alerts", "filters": {"budget_id": budget_id}}))
                    await receive_until(ws, lambda m: m["type"] == "subscribed")
                    await reforecaster.publish(30)  # the service's run: forecasts, then the budget's alerts
                    alert, _ = await receive_until(ws, lambda m: m["type"] == "budget_alert")
                    assert alert["alert"]["budget_id"] == budget_id
                    assert alert["alert"]["state"] in ("forecast_to_breach", "breached")

                assert (await http.delete(f"/v1/budgets/{budget_id}")).status_code == 204
                gone = await http.get(f"/v1/budgets/{budget_id}/status")
                assert gone.status_code == 404 and "budget_id" in gone.text
        finally:
            await server.stop(None)
            await engine.dispose()


def progress(kinds: list[str], tenants: list[str] | None = None) -> LedgerProgress:
    at = datetime(2026, 3, 16, tzinfo=UTC)
    return LedgerProgress(
        written=10,
        duplicates=0,
        period_start=at,
        period_end=at,
        cost_kinds=kinds,
        committed_at=at,
        tenant_ids=tenants or [DEFAULT_TENANT],
    )


async def test_the_progress_watch_tells_which_tenants_billed_data_landed_for(broker: str) -> None:
    watch = ProgressWatch(broker, client_id="test-forecast-watch")
    await watch.start()
    try:
        async with EventProducer(broker) as producer:
            await producer.send_many([progress(["estimated"], [ACME])])
            assert watch.seen == 0
            while watch.seen < 1:
                assert await watch.landed_tenants(timeout_s=0.5) == set()
            await producer.send_many([progress(["estimated", "billed"]), progress(["billed"], [ACME, "zeta"])])
            landed: set[str] = set()
            while watch.seen < 3:
                landed |= await watch.landed_tenants(timeout_s=0.5)
            assert landed == {DEFAULT_TENANT, ACME, "zeta"}
    finally:
        await watch.stop()


async def test_billed_data_landing_triggers_a_reforecast(reforecaster: Reforecaster, broker: str) -> None:
    watch = ProgressWatch(broker, client_id="test-forecast-schedule")
    await watch.start()
    stop = asyncio.Event()
    runs = asyncio.create_task(run_schedule(reforecaster, watch, stop, 7, interval_s=3600, debounce_s=0))
    try:
        await wait_for(lambda: reforecaster.runs == 1, "the first run at start")
        async with EventProducer(broker) as producer:
            await producer.send_many([progress(["billed"])])
        await wait_for(lambda: reforecaster.runs == 2, "a run after billed data landed")
    finally:
        stop.set()
        await runs
        await watch.stop()


# Tenancy: a second tenant, "acme", in the same store, with the same account id, the same record ids and an
# overlapping service, but its own costs: EC2 at 50 a day (no month-start fee) and RDS at 30, every day billed.
ACME = "acme"
ACME_SCOPES = {
    "total",
    f"billing_account_id={ACCOUNT}",
    "service=AmazonEC2",
    "service=AmazonRDS",
    "tag:team=web",
    "tag:team=db",
}


def acme_history() -> list[UsageRecord]:
    records = []
    day = FIRST
    while day < AS_OF:
        records.append(line("AmazonEC2", day, "50", tenant_id=ACME))
        records.append(line("AmazonRDS", day, "30", team="db", tenant_id=ACME))
        day += timedelta(days=1)
    return records


class Recorder:
    """Stands in for the producer: what each publishing run sent."""

    def __init__(self) -> None:
        self.sent: list[list[Any]] = []

    async def send_many(self, events: list[Any]) -> None:
        self.sent.append(list(events))


def published(recorder: Recorder) -> tuple[list[CostForecast], list[BudgetAlert]]:
    events = [e for batch in recorder.sent for e in batch]
    return [e for e in events if isinstance(e, CostForecast)], [e for e in events if isinstance(e, BudgetAlert)]


async def ensure_tenant(engine: AsyncEngine, tenant_id: str) -> None:
    with contextlib.suppress(AlreadyExists):  # the tenants table outlives a test
        await TenantStore(engine).create(tenant_id, tenant_id)


def by_scope(forecasts: list[CostForecast]) -> dict[str, CostForecast]:
    return {f.scope: f for f in forecasts}


def comparable(f: CostForecast) -> dict[str, object]:
    return f.model_dump(exclude={"generated_at"})


@pytest.fixture
async def two_tenants(store_url: str) -> AsyncIterator[tuple[AsyncEngine, Recorder, Reforecaster]]:
    """The default tenant's history() and acme's acme_history() in one store; acme exists as a tenant and each
    has a 1,000 budget on its EC2."""
    engine = make_engine(store_url)
    await write_ledger(engine, [*history(), *acme_history()])
    await ensure_tenant(engine, ACME)
    for tenant_id in (DEFAULT_TENANT, ACME):
        await (
            BudgetStore(engine)
            .for_tenant(tenant_id)
            .create(BudgetIn(name=f"{tenant_id} EC2", scope="service=AmazonEC2", amount=Decimal(1000)))
        )
    recorder = Recorder()
    try:
        yield engine, recorder, Reforecaster(engine, ("team",), cast(EventProducer, recorder), today=lambda: AS_OF)
    finally:
        await engine.dispose()


async def test_each_tenant_is_forecast_from_its_own_rollups_only(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        await write_ledger(engine, history())
        alone = Reforecaster(engine, ("team",), today=lambda: AS_OF)
        before = by_scope(await alone.forecasts(30, tenant_id=DEFAULT_TENANT))
        assert await alone.forecasts(30, tenant_id=ACME) == []  # no costs of its own yet

        await write_ledger(engine, acme_history())
        after = by_scope(await alone.forecasts(30, tenant_id=DEFAULT_TENANT))
        acme = by_scope(await alone.forecasts(30, tenant_id=ACME))
    finally:
        await engine.dispose()

    # The default tenant's forecasts are exactly what they were before acme's spend arrived.
    assert set(after) == SCOPES
    assert {k: comparable(f) for k, f in after.items()} == {k: comparable(f) for k, f in before.items()}
    assert after["total"].next_30_days.expected == pytest.approx(Decimal(30 * 120 + 300), rel=Decimal("0.05"))
    # acme's come from its own rollups only: same scope names, its own amounts.
    assert set(acme) == ACME_SCOPES and {f.tenant_id for f in acme.values()} == {ACME}
    assert acme["service=AmazonEC2"].month_end.actual_to_date == Decimal(50 * 15)  # default's: 1,800
    assert acme["total"].month_end.actual_to_date == Decimal(80 * 15)
    assert acme["total"].next_30_days.expected == pytest.approx(Decimal(30 * 80), rel=Decimal("0.03"))
    assert all(abs(d.expected - 50) < 3 for d in acme["service=AmazonEC2"].days)  # no fee on the 1st
    # Ids: the default tenant's are those from before tenancy; acme's never collide with them.
    ec2 = after["service=AmazonEC2"]
    assert ec2.forecast_id == forecast_id("service=AmazonEC2", "USD", ec2.basis, ec2.history_end, 30)
    assert not {f.forecast_id for f in acme.values()} & {f.forecast_id for f in after.values()}


async def test_a_run_publishes_every_tenant_with_its_own_forecasts_budgets_and_alerts(
    two_tenants: tuple[AsyncEngine, Recorder, Reforecaster],
) -> None:
    _, recorder, reforecaster = two_tenants
    await reforecaster.publish(30)
    assert reforecaster.last_tenants == sorted([ACME, DEFAULT_TENANT])
    forecasts, alerts = published(recorder)
    assert {f.scope for f in forecasts if f.tenant_id == DEFAULT_TENANT} == SCOPES
    assert {f.scope for f in forecasts if f.tenant_id == ACME} == ACME_SCOPES
    assert len({f.forecast_id for f in forecasts}) == len(forecasts) == len(SCOPES) + len(ACME_SCOPES)
    for batch in recorder.sent:  # one tenant per send
        assert len({e.tenant_id for e in batch}) == 1

    # Each 1,000 EC2 budget is judged on its own tenant's EC2: 1,800 spent (breached) against 750 (forecast to
    # breach around the 20th: 50 a day).
    by_tenant = {t: [a for a in alerts if a.tenant_id == t] for t in (DEFAULT_TENANT, ACME)}
    assert by_tenant[DEFAULT_TENANT] and by_tenant[ACME]
    assert {a.actual_to_date for a in by_tenant[DEFAULT_TENANT]} == {Decimal(1800)}
    assert {a.actual_to_date for a in by_tenant[ACME]} == {Decimal(750)}
    acme_actual = next(a for a in by_tenant[ACME] if a.basis == "actual")
    assert acme_actual.state == "forecast_to_breach"
    assert acme_actual.crossing_day in (date(2026, 3, 20), date(2026, 3, 21))
    assert len({a.alert_id for a in alerts}) == len(alerts)
    default_alert = by_tenant[DEFAULT_TENANT][0]
    assert default_alert.alert_id == budget_alert_id(
        default_alert.budget_id, default_alert.period_start, default_alert.basis, default_alert.percent
    )

    # A run of acme alone publishes acme's forecasts only, and repeats no alert of either tenant.
    recorder.sent.clear()
    await reforecaster.publish(30, [ACME])
    forecasts, alerts = published(recorder)
    assert {f.tenant_id for f in forecasts} == {ACME} and alerts == []
    recorder.sent.clear()
    await reforecaster.publish(30)
    assert published(recorder)[1] == []  # unchanged states: the acme-only run forgot none of default's


async def test_progress_for_one_tenant_reforecasts_only_that_tenant(
    two_tenants: tuple[AsyncEngine, Recorder, Reforecaster], broker: str
) -> None:
    _, recorder, reforecaster = two_tenants
    watch = ProgressWatch(broker, client_id="test-forecast-tenant-schedule")
    await watch.start()
    stop = asyncio.Event()
    runs = asyncio.create_task(run_schedule(reforecaster, watch, stop, 7, interval_s=3600, debounce_s=0))
    try:
        await wait_for(lambda: reforecaster.runs == 1, "the first run at start")
        assert reforecaster.last_tenants == [ACME, DEFAULT_TENANT]
        recorder.sent.clear()
        async with EventProducer(broker) as producer:
            await producer.send_many([progress(["estimated"], [DEFAULT_TENANT]), progress(["billed"], [ACME])])
        await wait_for(lambda: reforecaster.runs == 2, "a run after acme's billed data landed")
        assert reforecaster.last_tenants == [ACME]
        forecasts, _ = published(recorder)
        assert forecasts and {f.tenant_id for f in forecasts} == {ACME}
        assert {f.scope for f in forecasts} == ACME_SCOPES
    finally:
        stop.set()
        await runs
        await watch.stop()


async def test_grpc_answers_each_tenant_from_its_own_scopes_and_budgets(
    two_tenants: tuple[AsyncEngine, Recorder, Reforecaster],
) -> None:
    engine, _, reforecaster = two_tenants
    budget_of = {t: (await BudgetStore(engine).for_tenant(t).all())[0].budget_id for t in (DEFAULT_TENANT, ACME)}
    server, port = await start_server(reforecaster, 30, "127.0.0.1:0")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.ForecastServiceStub(channel)
            ec2 = pb.ForecastRequest(scope="service=AmazonEC2", horizon_days=7)
            default_ec2 = await stub.Forecast(ec2, timeout=WITHIN)  # no tenant: the default one
            assert default_ec2.tenant_id == DEFAULT_TENANT
            assert Decimal(default_ec2.month_end.actual_to_date) == Decimal(1800)
            ec2.tenant_id = ACME
            acme_ec2 = await stub.Forecast(ec2, timeout=WITHIN)
            assert acme_ec2.tenant_id == ACME and Decimal(acme_ec2.month_end.actual_to_date) == Decimal(750)
            assert acme_ec2.forecast_id != default_ec2.forecast_id
            with pytest.raises(grpc.aio.AioRpcError) as elsewhere:  # the default tenant's service, not acme's
                await stub.Forecast(pb.ForecastRequest(scope="service=AmazonS3", tenant_id=ACME), timeout=WITHIN)
            assert elsewhere.value.code() is grpc.StatusCode.NOT_FOUND

            batch = await stub.ForecastBatch(pb.ForecastBatchRequest(tenant_id=ACME), timeout=WITHIN)
            assert {f.scope for f in batch.forecasts} == ACME_SCOPES
            assert {f.tenant_id for f in batch.forecasts} == {ACME}
            named = pb.ForecastBatchRequest(scopes=["service=AmazonS3", "tag:team=data", "total"], tenant_id=ACME)
            only_total = await stub.ForecastBatch(named, timeout=WITHIN)
            assert [f.scope for f in only_total.forecasts] == ["total"]
            assert Decimal(only_total.forecasts[0].month_end.actual_to_date) == Decimal(80 * 15)
            default_batch = await stub.ForecastBatch(pb.ForecastBatchRequest(tenant_id=DEFAULT_TENANT), timeout=WITHIN)
            assert {f.scope for f in default_batch.forecasts} == SCOPES

            report = await stub.BudgetReport(pb.BudgetReportRequest(tenant_id=ACME), timeout=WITHIN)
            assert [b.budget_id for b in report.budgets] == [budget_of[ACME]]
            assert Decimal(report.budgets[0].actual_to_date) == Decimal(750)
            report = await stub.BudgetReport(pb.BudgetReportRequest(), timeout=WITHIN)
            assert [b.budget_id for b in report.budgets] == [budget_of[DEFAULT_TENANT]]
            mine = pb.BudgetStatusRequest(budget_id=budget_of[ACME], tenant_id=ACME)
            assert (await stub.BudgetStatus(mine, timeout=WITHIN)).budget_id == budget_of[ACME]
            for tenant_id, budget_id in [(ACME, budget_of[DEFAULT_TENANT]), ("", budget_of[ACME])]:
                with pytest.raises(grpc.aio.AioRpcError) as other:
                    request = pb.BudgetStatusRequest(budget_id=budget_id, tenant_id=tenant_id)
                    await stub.BudgetStatus(request, timeout=WITHIN)
                assert other.value.code() is grpc.StatusCode.NOT_FOUND

            calls = [
                lambda t: stub.Forecast(pb.ForecastRequest(scope="total", tenant_id=t), timeout=WITHIN),
                lambda t: stub.ForecastBatch(pb.ForecastBatchRequest(tenant_id=t), timeout=WITHIN),
                lambda t: stub.BudgetStatus(pb.BudgetStatusRequest(budget_id="b", tenant_id=t), timeout=WITHIN),
                lambda t: stub.BudgetReport(pb.BudgetReportRequest(tenant_id=t), timeout=WITHIN),
            ]
            for call in calls:
                for tenant_id, says in [("Acme!", "must be"), ("a" * 200, "at most 63"), ("nobody", "no tenant")]:
                    with pytest.raises(grpc.aio.AioRpcError) as refused:
                        await call(tenant_id)
                    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
                    details = refused.value.details() or ""
                    assert details.startswith("tenant_id: ") and says in details, details
    finally:
        await server.stop(None)


async def test_the_gateway_client_sends_the_callers_tenant(
    two_tenants: tuple[AsyncEngine, Recorder, Reforecaster],
) -> None:
    engine, _, reforecaster = two_tenants
    acme_budget = (await BudgetStore(engine).for_tenant(ACME).all())[0].budget_id
    server, port = await start_server(reforecaster, 30, "127.0.0.1:0")
    forecasts = ForecastClient(f"127.0.0.1:{port}")
    try:
        one = await forecasts.forecast("service=AmazonEC2", 7, "", tenant_id=ACME)
        assert one.tenant_id == ACME and one.month_end.actual_to_date == Decimal(750)
        every = await forecasts.forecast_batch([], 7, tenant_id=ACME)
        assert {f.scope for f in every} == ACME_SCOPES and {f.tenant_id for f in every} == {ACME}
        assert {f.scope for f in await forecasts.forecast_batch([], 7, tenant_id=DEFAULT_TENANT)} == SCOPES
        assert (await forecasts.budget_status(acme_budget, tenant_id=ACME)).actual_to_date == Decimal(750)
        assert [s.budget_id for s in await forecasts.budget_report(tenant_id=ACME)] == [acme_budget]
        with pytest.raises(HTTPException) as missing:
            await forecasts.budget_status(acme_budget, tenant_id=DEFAULT_TENANT)
        assert missing.value.status_code == 404
        with pytest.raises(QueryError) as refused:
            await forecasts.forecast_batch([], 7, tenant_id="nobody")
        assert [e.field for e in refused.value.errors] == ["tenant_id"]
    finally:
        await forecasts.close()
        await server.stop(None)


async def test_scopes_with_hourly_history_also_get_the_next_48_hours(store_url: str) -> None:
    now = datetime(2026, 3, 16, 10, 30, tzinfo=UTC)
    hourly = []
    at = datetime(2026, 3, 2, tzinfo=UTC)
    while at <= now.replace(minute=0):  # the 10:00 hour is still running: not learnt
        amount = Decimal("3") if 9 <= at.hour < 18 else Decimal("1")
        hourly.append(
            UsageRecord(
                record_id=f"lambda-{at.isoformat()}",
                source="test",
                cost_kind=CostKind.ESTIMATED,
                charge_period_start=at,
                charge_period_end=at + timedelta(hours=1),
                billing_account_id=ACCOUNT,
                service="AWSLambda",
                billed_cost=amount,
                effective_cost=amount,
                list_cost=amount,
                tags={"team": "data"},
            )
        )
        at += timedelta(hours=1)
    engine = make_engine(store_url)
    await write_ledger(engine, [*history(), *hourly])
    try:
        reforecaster = Reforecaster(engine, ("team",), now=lambda: now)
        found = {f.scope: f for f in await reforecaster.forecasts(7, tenant_id=DEFAULT_TENANT)}
    finally:
        await engine.dispose()
    lam = found["service=AWSLambda"]
    assert len(lam.hours) == 48 and lam.hours[0].hour == datetime(2026, 3, 16, 10, tzinfo=UTC)
    assert lam.hours[0].expected == pytest.approx(Decimal(3), abs=Decimal("0.3"))  # 10:00, office hours
    assert lam.hours[10].expected == pytest.approx(Decimal(1), abs=Decimal("0.3"))  # 20:00
    assert found["service=AmazonEC2"].hours == []  # daily lines: their hours are flat, no hourly forecast
    assert lam.days[0].expected == pytest.approx(Decimal(9 * 3 + 15), rel=Decimal("0.1"))


async def test_the_cost_gate_asks_the_forecast_api_for_the_month_end(
    reforecaster: Reforecaster, store_url: str
) -> None:
    """`outlay gate`'s budget rule against the real gateway and forecast service, and when the API is away."""
    from outlay.iac.diff import CostDiff
    from outlay.iac.forecast_source import month_end_forecast
    from outlay.iac.gate import Budget, budget_verdict

    server, grpc_port = await start_server(reforecaster, 30, "127.0.0.1:0")
    key, port = "g" * 24, free_port()
    try:
        app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=key, OUTLAY_FORECAST_GRPC_PORT=grpc_port))
        async with serving(app, port):
            url = f"http://127.0.0.1:{port}"
            # The gate's client is synchronous (a CLI): run it off the loop that serves the API.
            forecast, source = await asyncio.to_thread(month_end_forecast, url, key, "total")
            refused, why = await asyncio.to_thread(month_end_forecast, url, "wrong-key-0123456789abcd", "total")
    finally:
        await server.stop(None)
    assert forecast is not None and forecast > Decimal(1800) and url in source  # spent to date, plus the rest
    assert refused is None and "401" in why
    change = CostDiff([], Decimal(100), Decimal(400))  # the change adds $300 a month
    first_of_month = date(2026, 11, 1)
    over = budget_verdict(Budget(monthly_amount=forecast + 299), change, forecast, first_of_month, source)
    under = budget_verdict(Budget(monthly_amount=forecast + 301), change, forecast, first_of_month, source)
    assert (over.passed, under.passed) == (False, True), (over, under)
    away, reason = month_end_forecast(f"http://127.0.0.1:{free_port()}", key, "total", timeout=2)
    assert away is None and "not reachable" in reason


async def test_a_grpc_call_continues_the_callers_trace(
    reforecaster: Reforecaster, traced: InMemorySpanExporter
) -> None:
    server, port = await start_server(reforecaster, 30, "127.0.0.1:0")
    forecasts = ForecastClient(f"127.0.0.1:{port}")
    try:
        with tracing.span("gateway request") as caller:
            assert caller is not None
            await forecasts.forecast("total", 7, "", tenant_id=DEFAULT_TENANT)
    finally:
        await forecasts.close()
        await server.stop(None)
    method = "grpc /outlay.rpc.forecast.v1.ForecastService/Forecast"
    [client] = [s for s in traced.get_finished_spans() if s.kind is SpanKind.CLIENT and s.name == method]
    [served] = [s for s in traced.get_finished_spans() if s.kind is SpanKind.SERVER and s.name == method]
    assert client.parent is not None and client.parent.span_id == caller.get_span_context().span_id
    assert served.parent is not None and served.parent.span_id == client.context.span_id
    assert served.context.trace_id == caller.get_span_context().trace_id
