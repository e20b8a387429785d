"""Business figures through the real path: `POST /v1/business-metrics` → `outlay.business_metrics.v1` (the embedded
broker) → the metrics service's consumer group → `business_metrics` in PostgreSQL, exactly once per id, and figures
produced straight to the topic too. Bad batches are refused whole with the field named, and publish nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from outlay.events.business_metric import BusinessMetric
from outlay.kafka.producer import EventProducer
from outlay.settings import Settings
from outlay.store.business_metrics import BusinessMetricStore
from outlay.store.engine import make_engine
from services.gateway.app import create_app
from services.metrics.main import run as run_metrics
from services.metrics.sink import BusinessMetricSink
from tests.integration.gateway_fixtures import api_client

OPERATOR = "operator-key-0123456789abcdef"
TIMEOUT = 60.0
DAY0 = datetime(2026, 11, 1, tzinfo=UTC)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def eventually(condition: Callable[[], Awaitable[bool]], what: str, within: float = TIMEOUT) -> None:
    """Wait for `condition` (checked every 50 ms), failing after `within` seconds: never a fixed sleep."""
    async with asyncio.timeout(within):
        while not await condition():
            await asyncio.sleep(0.05)
    assert await condition(), what


@pytest.fixture
async def metrics_url(store_url: str) -> str:
    """The emptied test database, business figures included (the shared fixture empties the older tables)."""
    conn = await asyncpg.connect(store_url.replace("+asyncpg", ""))
    await conn.execute("TRUNCATE business_metrics")
    await conn.close()
    return store_url


@pytest.fixture
async def metrics_service(metrics_url: str, broker: str) -> AsyncIterator[None]:
    """`outlay services run metrics`, in this process, until the test ends."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_metrics(Settings(DATABASE_URL=metrics_url, KAFKA_BOOTSTRAP_SERVERS=broker), stop))
    yield
    stop.set()
    await asyncio.wait_for(task, 30)


async def _tenant(http: httpx.AsyncClient, tenant_id: str) -> str:
    made = await http.post("/v1/tenants", headers=bearer(OPERATOR), json={"tenant_id": tenant_id, "name": tenant_id})
    assert made.status_code == 201, made.text
    return str(made.json()["admin_key"])


def _hourly_requests(customers: list[str], hours: int, scale: int = 1) -> list[dict[str, Any]]:
    return [
        {"name": "requests", "period_start": (DAY0 + timedelta(hours=h)).isoformat(), "grain": "hour",
         "value": str((100 + h) * scale), "dimension": "customer", "dimension_value": customer}
        for customer in customers
        for h in range(hours)
    ]  # fmt: skip


async def _rows(url: str, tenant: str) -> list[tuple[str, Decimal]]:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch("SELECT metric_id, value FROM business_metrics WHERE tenant_id = $1", tenant)
    finally:
        await conn.close()
    return [(r["metric_id"], r["value"]) for r in rows]


async def test_posted_figures_reach_the_store_once_through_the_topic(
    metrics_url: str, broker: str, metrics_service: None
) -> None:
    app = create_app(Settings(DATABASE_URL=metrics_url, KAFKA_BOOTSTRAP_SERVERS=broker, OUTLAY_API_KEY=OPERATOR))
    async with api_client(app) as http:
        acme = await _tenant(http, "acme")
        batch = _hourly_requests(["c1", "c2"], 24)
        sent = await http.post("/v1/business-metrics", headers=bearer(acme), json={"metrics": batch})
        assert sent.status_code == 202, sent.text
        body = sent.json()
        assert body["accepted"] == 48 and body["topic"] == "outlay.business_metrics.v1"
        ids = body["metric_ids"]
        assert len(set(ids)) == 48

        async def all_stored() -> bool:
            return len(await _rows(metrics_url, "acme")) == 48

        await eventually(all_stored, "48 figures stored")
        assert {i for i, _ in await _rows(metrics_url, "acme")} == set(ids)

        # The same periods again, corrected (x10): the same ids, so the rows are replaced, never added.
        again = await http.post(
            "/v1/business-metrics", headers=bearer(acme), json={"metrics": _hourly_requests(["c1", "c2"], 24, 10)}
        )
        assert again.status_code == 202 and again.json()["metric_ids"] == ids

        async def corrected() -> bool:
            rows = await _rows(metrics_url, "acme")
            return len(rows) >= 48 and all(value >= 1000 for _, value in rows)

        await eventually(corrected, "every figure corrected")
        assert len(await _rows(metrics_url, "acme")) == 48

    # A replay of the whole topic (a new consumer group reads all 96 messages again) writes nothing new.
    engine = make_engine(metrics_url)
    sink = BusinessMetricSink(broker, BusinessMetricStore(engine), "replay-test-group")
    replay = asyncio.create_task(sink.run())
    try:

        async def replayed() -> bool:
            return sink.received >= 96

        await eventually(replayed, "the topic replayed")
    finally:
        replay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await replay
        await engine.dispose()
    rows = await _rows(metrics_url, "acme")
    # Per series the topic keeps order, so the replay ends on the corrected figures.
    assert len(rows) == 48 and all(value >= 1000 for _, value in rows)


async def test_figures_produced_straight_to_the_topic_are_stored_for_their_tenant(
    metrics_url: str, broker: str, metrics_service: None
) -> None:
    figure = BusinessMetric(
        metric_id="rev-2026-11-01", tenant_id="globex", name="revenue", period_start=DAY0,
        period_end=DAY0 + timedelta(days=1), value=Decimal("1250.50"), currency="EUR",
    )  # fmt: skip
    async with EventProducer(broker, client_id="test-producer") as producer:
        await (await producer.send(figure))
        await (await producer.send(figure))  # at-least-once: a second delivery of the same id

    engine = make_engine(metrics_url)
    try:
        globex = BusinessMetricStore(engine).for_tenant("globex")

        async def stored() -> bool:
            return await globex.count() == 1

        await eventually(stored, "the figure stored")
        (point,) = await globex.points(["revenue"], DAY0, DAY0 + timedelta(days=1))
        assert (point.value, point.currency, point.grain) == (Decimal("1250.50"), "EUR", "day")
        assert await BusinessMetricStore(engine).for_tenant("acme").count() == 0
    finally:
        await engine.dispose()


def _problem_fields(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {e["field"] for e in response.json()["errors"]}


async def test_bad_batches_are_refused_whole_naming_the_field(metrics_url: str, broker: str) -> None:
    app = create_app(Settings(DATABASE_URL=metrics_url, KAFKA_BOOTSTRAP_SERVERS=broker, OUTLAY_API_KEY=OPERATOR))
    good = {"name": "orders", "period_start": "2026-11-01", "grain": "day", "value": "3"}
    async with api_client(app) as http:
        acme = await _tenant(http, "acme")

        async def post(*items: dict[str, Any]) -> httpx.Response:
            return await http.post("/v1/business-metrics", headers=bearer(acme), json={"metrics": list(items)})

        assert _problem_fields(await post(good, {**good, "name": "revenue"})) == {"metrics.1.currency"}
        assert _problem_fields(await post({**good, "tenant_id": "globex"})) == {"metrics.0.tenant_id"}
        assert _problem_fields(await post({**good, "value": "lots"})) == {"metrics.0.value"}
        assert _problem_fields(await post({**good, "value": "NaN"})) == {"metrics.0.value"}
        assert _problem_fields(await post({**good, "grain": None})) == {"metrics.0.grain"}
        assert _problem_fields(await post({**good, "period_start": "2026-11-01T05:00:00Z"})) == {
            "metrics.0.period_start"
        }
        assert _problem_fields(await post({**good, "grain": "day", "period_end": "2026-11-01T01:00:00Z"})) == {
            "metrics.0.period_end"
        }
        assert _problem_fields(await post({**good, "name": "Orders!"})) == {"metrics.0.name"}
        assert _problem_fields(await post({**good, "metric_id": "fix-1"})) == {"metrics.0.metric_id"}
        assert _problem_fields(await post({**good, "value": "1e-999999999"})) == {"metrics.0.value"}
        assert _problem_fields(await post({**good, "period_start": "9999-12-31T00:00:00Z"})) == {
            "metrics.0.period_start"
        }
        assert _problem_fields(await post({**good, "period_start": "0001-01-01T00:30:00+01:00"})) == {
            "metrics.0.period_start"
        }
        # A lone surrogate, as JSON may carry it (\\ud800): it could not even be encoded into the figure's id.
        lone = '{"metrics": [{"name": "orders", "period_start": "2026-11-01", "grain": "day", "value": "3", ' + (
            '"dimension": "customer", "dimension_value": "\\ud800"}]}'
        )
        raw = await http.post(
            "/v1/business-metrics", headers={**bearer(acme), "Content-Type": "application/json"}, content=lone
        )
        assert _problem_fields(raw) == {"metrics.0.dimension_value"}
        assert _problem_fields(await post({**good, "name": "customers", "value": "-2"})) == {"metrics.0.value"}
        assert _problem_fields(await post({**good, "dimension": "customer"})) == {"metrics.0.dimension_value"}
        assert _problem_fields(await post({**good, "dimension": "team", "dimension_value": "x"})) == {
            "metrics.0.dimension"
        }
        assert _problem_fields(await post()) == {"metrics"}
        assert (await http.post("/v1/business-metrics", headers=bearer(acme), json=[good])).status_code == 422
        not_json = await http.post(
            "/v1/business-metrics", headers={**bearer(acme), "content-type": "application/json"}, content=b"{"
        )
        assert not_json.status_code in (400, 422)

        # A key that may read costs but not write figures is refused; one with write:metrics alone may post.
        reader = await http.post("/v1/keys", headers=bearer(acme), json={"name": "r", "scopes": ["read:costs"]})
        writer = await http.post("/v1/keys", headers=bearer(acme), json={"name": "w", "scopes": ["write:metrics"]})
        assert reader.status_code == writer.status_code == 201, reader.text
        refused = await http.post(
            "/v1/business-metrics", headers=bearer(reader.json()["key"]), json={"metrics": [good]}
        )
        assert refused.status_code == 403 and "write:metrics" in refused.json()["detail"]
        accepted = await http.post(
            "/v1/business-metrics", headers=bearer(writer.json()["key"]), json={"metrics": [good]}
        )
        assert accepted.status_code == 202, accepted.text
        assert (await http.get("/v1/unit-costs", headers=bearer(writer.json()["key"]))).status_code == 403
    assert await _rows(metrics_url, "acme") == []  # no service ran: nothing reached the store by another way
