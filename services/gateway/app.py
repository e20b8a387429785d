"""The gateway's bootstrap: wire settings, the store engine, the live stream and the routes into one app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import PlainTextResponse, Response

import outlay
from outlay.settings import Settings, get_settings
from outlay.store.engine import make_engine
from outlay.store.tenants import TenantStore
from outlay.store.webhooks import WebhookStore
from outlay.telemetry import exposition
from outlay.telemetry.http import HttpMetricsMiddleware
from services.gateway.anomalies.sink import AnomalySink
from services.gateway.answer_cache import AnswerCache
from services.gateway.auth import ApiKeyAuth, RateLimiter, requires
from services.gateway.event_sender import EventSender
from services.gateway.forecasts.client import ForecastClient
from services.gateway.graphql.router import graphql_router
from services.gateway.permissions import Scope
from services.gateway.problems import install_problem_handlers
from services.gateway.routes import allocation as allocation_routes
from services.gateway.routes import anomalies as anomaly_routes
from services.gateway.routes import ask as ask_routes
from services.gateway.routes import audit as audit_routes
from services.gateway.routes import budgets as budget_routes
from services.gateway.routes import costs, health
from services.gateway.routes import deployments as deployment_routes
from services.gateway.routes import forecasts as forecast_routes
from services.gateway.routes import iac_estimates as iac_estimate_routes
from services.gateway.routes import keys as key_routes
from services.gateway.routes import me as me_routes
from services.gateway.routes import plans as plan_routes
from services.gateway.routes import policies as policy_routes
from services.gateway.routes import session as session_routes
from services.gateway.routes import stream as stream_routes
from services.gateway.routes import tenants as tenant_routes
from services.gateway.routes import unit_economics as unit_economics_routes
from services.gateway.routes import users as user_routes
from services.gateway.routes import webhooks as webhook_routes
from services.gateway.stream import (
    AnomalyFollower,
    BudgetAlertFollower,
    ForecastFollower,
    PlanFollower,
    ProgressFollower,
    StreamHub,
)
from services.gateway.tenant_stores import TenantStores
from services.gateway.web_app import DEFAULT_DIST, mount_web
from services.gateway.webhooks.delivery import Deliverer, RetryPolicy, WebhookQueue
from services.gateway.webhooks.events import EVENT_TYPES

DESCRIPTION = """\
Outlay's public API: cost over time from the ledger, grouped and filtered by account, region, service,
resource, cost kind, currency or tag; estimates against the bill; cost anomalies and people's verdicts
on them; forecasts and budgets; the optimizer's recommendations and action plans, their approval and audit
trail, and savings; and live cost ticks, anomalies, budget alerts and plan updates over WebSocket
(`/v1/stream`). Money is
always an exact decimal string. Errors are RFC 9457 problem details.
"""


def create_app(
    settings: Settings | None = None,
    *,
    max_cells: int | None = None,
    heartbeat_seconds: float = 15.0,
    client_queue_size: int = 256,
    probe_timeout: float = 2.0,
    web_dist: Path = DEFAULT_DIST,
) -> FastAPI:
    """The FastAPI app. The lifespan opens the store engine and follows the ledger progress topic."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.store_url, pool_pre_ping=True)
        # Routes see these only bound to the caller's tenant (ApiKeyAuth binds them per request).
        tenant_stores = TenantStores.open(engine)
        store, anomalies = tenant_stores.costs, tenant_stores.anomalies
        hub = StreamHub(queue_size=client_queue_size, heartbeat_seconds=heartbeat_seconds)
        bootstrap = settings.kafka_bootstrap_servers
        client_id = f"{settings.kafka_client_id}-gateway"
        app.state.tenant_stores = tenant_stores
        app.state.hub = hub
        app.state.events = EventSender(bootstrap, client_id=f"{client_id}-events")
        app.state.forecasts = ForecastClient(settings.forecast_grpc_target)
        app.state.tenants = TenantStore(engine)
        app.state.webhooks = WebhookStore(engine)
        app.state.follower = app.state.anomaly_follower = app.state.anomaly_sink = None
        # Serves only while the progress follower below is positioned (none without a broker: no cache).
        app.state.answers = AnswerCache(
            max_age=settings.api_cache_seconds, max_bytes=settings.api_cache_mb * 1024 * 1024
        )
        app.state.budget_alert_follower = app.state.plan_follower = app.state.forecast_follower = None
        deliverer = Deliverer(
            app.state.webhooks,
            RetryPolicy(settings.webhook_max_attempts, settings.webhook_backoff_s),
            allow_private=settings.webhook_allow_private,
        )
        background = [
            asyncio.create_task(hub.run_heartbeats(), name="gateway-heartbeats"),
            asyncio.create_task(deliverer.run(), name="gateway-webhook-deliveries"),
        ]
        if bootstrap:
            # Followers fan out to this process's clients; the sink stores each update once per group.
            app.state.follower = ProgressFollower(bootstrap, store, hub, client_id=client_id, answers=app.state.answers)
            app.state.anomaly_follower = AnomalyFollower(bootstrap, hub, client_id=client_id)
            app.state.budget_alert_follower = BudgetAlertFollower(bootstrap, hub, client_id=client_id)
            app.state.plan_follower = PlanFollower(bootstrap, hub, client_id=client_id)
            app.state.forecast_follower = ForecastFollower(bootstrap, hub, client_id=client_id)
            app.state.anomaly_sink = AnomalySink(
                bootstrap,
                anomalies,
                settings.gateway_anomaly_group_id,
                client_id=f"{client_id}-anomaly-sink",
                session_timeout_ms=settings.kafka_session_timeout_ms,
            )
            for kind in EVENT_TYPES.values():
                queue = WebhookQueue(bootstrap, kind, app.state.webhooks, settings.gateway_webhook_group_id,
                                     settings.kafka_session_timeout_ms)  # fmt: skip
                background.append(asyncio.create_task(queue.run(), name=f"gateway-webhook-queue-{kind.name}"))
            for name, runner in (
                ("gateway-progress-follower", app.state.follower),
                ("gateway-anomaly-follower", app.state.anomaly_follower),
                ("gateway-budget-alert-follower", app.state.budget_alert_follower),
                ("gateway-plan-follower", app.state.plan_follower),
                ("gateway-forecast-follower", app.state.forecast_follower),
                ("gateway-anomaly-sink", app.state.anomaly_sink),
            ):
                background.append(asyncio.create_task(runner.run(), name=name))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await app.state.events.close()
            await app.state.forecasts.close()
            await engine.dispose()

    app = FastAPI(
        title="Outlay API",
        version=outlay.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.max_cells = settings.api_max_cells if max_cells is None else max_cells
    app.state.probe_timeout = probe_timeout
    install_problem_handlers(app)
    auth = ApiKeyAuth(
        None if settings.api_key is None else settings.api_key.get_secret_value(),
        RateLimiter(settings.rate_limit_per_minute),
    )
    app.state.auth = auth
    app.include_router(health.router)  # probes stay open: orchestrators call them without keys
    app.add_middleware(HttpMetricsMiddleware)
    app.add_api_route(
        "/metrics",
        metrics,
        methods=["GET"],
        tags=["health"],
        summary="Prometheus metrics (text exposition format; open like the probes)",
        response_class=PlainTextResponse,
    )
    # The key first (who), then the scope each area needs (what); writes name their own scope on top.
    for router, scope in (
        (costs.router, Scope.READ_COSTS),
        (allocation_routes.router, Scope.READ_COSTS),  # changing the rules needs admin
        (unit_economics_routes.router, Scope.READ_COSTS),  # unit costs and correlation
        (unit_economics_routes.ingest_router, Scope.WRITE_METRICS),  # business figures in
        (iac_estimate_routes.router, Scope.READ_COSTS),  # pull requests' cost changes, as CI reported them
        (iac_estimate_routes.ingest_router, Scope.WRITE_ESTIMATES),  # CI reports them
        (deployment_routes.router, Scope.READ_COSTS),  # deploys with the step in cost each made
        (deployment_routes.ingest_router, Scope.WRITE_DEPLOYMENTS),  # CD pipelines report them
        (ask_routes.router, Scope.READ_COSTS),  # explanations of spikes also read anomalies when the key may
        (anomaly_routes.router, Scope.READ_ANOMALIES),
        (forecast_routes.router, Scope.READ_FORECASTS),
        (budget_routes.router, Scope.READ_BUDGETS),
        (plan_routes.router, Scope.READ_PLANS),
        (key_routes.router, Scope.ADMIN),
        (audit_routes.router, Scope.ADMIN),
        (webhook_routes.router, Scope.WRITE_WEBHOOKS),
        (user_routes.router, Scope.ADMIN),
        (policy_routes.router, Scope.READ_POLICIES),  # writes need write:policies
        (tenant_routes.router, Scope.ADMIN),  # and the operator's key only
    ):
        app.include_router(router, dependencies=[Depends(auth), Depends(requires(scope))])
    app.include_router(stream_routes.router, dependencies=[Depends(auth)])  # each topic checks its own scope
    app.include_router(me_routes.router, dependencies=[Depends(auth)])  # any key: about itself
    app.state.login_throttle = session_routes.LoginThrottle()
    app.include_router(session_routes.router)  # signing in is open: the e-mail and password are the credentials
    app.include_router(graphql_router(auth), prefix="/graphql")  # each field checks its own scope
    mount_web(app, web_dist)  # the dashboard at / (last: it answers only what no route above knows)
    _document_security(app)
    return app


# Routes open without a key (orchestrators' probes and the metrics scraper; signing in, whose body is the credential).
OPEN_PATHS = ("/healthz", "/readyz", "/metrics", "/v1/session", "/v1/session/password")


def document_security(openapi: dict[str, Any]) -> dict[str, Any]:
    """Say in the OpenAPI document how to authenticate, in place: a bearer API key on every operation but the open
    ones."""
    openapi.setdefault("components", {})["securitySchemes"] = {
        "apiKey": {"type": "http", "scheme": "bearer", "description": "An Outlay API key (shown once when made)"}
    }
    openapi["security"] = [{"apiKey": []}]
    for path in OPEN_PATHS:
        for operation in openapi["paths"].get(path, {}).values():
            operation["security"] = []
    return openapi


def _document_security(app: FastAPI) -> None:
    generate = app.openapi  # (as `problems.install_problem_handlers` wraps it: FastAPI builds the document once)
    app.openapi = lambda: document_security(generate())  # type: ignore[method-assign]


async def metrics() -> Response:
    body, content_type = exposition()
    return Response(body, media_type=content_type)
