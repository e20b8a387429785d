"""Run one service in this process: translate `outlay services run NAME` into its entrypoint."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from outlay.kafka.embedded_broker import platform_bootstrap
from outlay.kafka.producer import EventProducer
from outlay.kafka.topics_admin import ensure_outlay_topics
from outlay.lifecycle import stop_on_signals
from outlay.process import tune_gc_for_streaming
from outlay.settings import Settings, get_settings
from outlay.telemetry import configure_logging, log_startup, start_metrics_server
from outlay.telemetry.tracing import setup_tracing, shutdown_tracing

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from services.ingest.live.generator import DeployLabel
    from services.ingest.live.runner import DeployReporter


async def _run_live(settings: Settings, source: str, backfill_days: int, speedup: float) -> None:
    from outlay.store.engine import make_engine
    from outlay.store.prices import load_catalogue
    from services.ingest.live.runner import run_live

    assert settings.kafka_bootstrap_servers
    await ensure_outlay_topics(settings.kafka_bootstrap_servers, settings)
    stop = stop_on_signals()
    engine = make_engine(settings.store_url)
    try:
        catalogue = await load_catalogue(engine)  # prices from `outlay pricing sync`, where there are any
        async with EventProducer(settings.kafka_bootstrap_servers, client_id=f"outlay-{source}") as producer:
            await run_live(
                producer,
                source,
                stop,
                backfill_days=backfill_days,
                speedup=speedup,
                state_dir=settings.state_dir,
                catalogue=catalogue,
                tenant_id=settings.live_tenant,
                on_deploys=deploy_recorder(engine, settings.live_tenant),
            )
    finally:
        await engine.dispose()


def deploy_recorder(engine: AsyncEngine, tenant_id: str) -> DeployReporter:
    """The demo company's CD pipeline: the generator's deploys go where a real pipeline's reports go (the
    `deployments` table behind `POST /v1/deployments`), so the dashboard shows the cost step at each."""
    from outlay.store.deployments import DeploymentIn, DeploymentStore

    store = DeploymentStore(engine, tenant_id)

    async def record(found: list[DeployLabel]) -> None:
        now = datetime.now(UTC)
        for deploy in found:
            report = DeploymentIn(scope=deploy.scope, version=deploy.version, deployed_at=deploy.at,
                                  description=f"{deploy.resource_id}: level x{deploy.level:.2f} (generated)")  # fmt: skip
            await store.report(report, "generator (demo company)", now)

    return record


def run_service(name: str, backfill_days: int = 30, speedup: float = 1.0) -> None:
    tune_gc_for_streaming()
    settings = get_settings()
    configure_logging(name, settings)
    setup_tracing(name)
    log_startup(name, settings)
    if settings.metrics_port is not None and name != "gateway":  # the gateway serves /metrics on its API port
        start_metrics_server(settings.metrics_port)
    # Without KAFKA_BOOTSTRAP_SERVERS, join the broker of a running `outlay run` on this machine. A private
    # broker would be useless: nothing else could reach what the service produces or consumes.
    bootstrap = platform_bootstrap(settings)
    if bootstrap is None and name != "gateway":  # the gateway can serve costs without the live stream
        raise SystemExit(
            f"{name}: no Kafka broker. Set KAFKA_BOOTSTRAP_SERVERS, or start the platform with `outlay run`."
        )
    settings = settings.model_copy(update={"kafka_bootstrap_servers": bootstrap})
    try:
        if name == "ledger":
            from services.ingest.ledger.main import run as run_ledger

            asyncio.run(run_ledger(settings))
        elif name == "allocation":
            from services.ingest.allocation.main import run as run_allocation

            asyncio.run(run_allocation(settings))
        elif name == "anomaly":
            from services.anomaly.worker.main import run as run_anomaly

            run_anomaly(settings)
        elif name == "forecast":
            from services.forecast.main import run as run_forecast

            asyncio.run(run_forecast(settings))
        elif name == "optimizer":
            from services.optimizer.main import run as run_optimizer

            asyncio.run(run_optimizer(settings))
        elif name == "metrics":
            from services.metrics.main import run as run_metrics

            asyncio.run(run_metrics(settings))
        elif name == "gateway":
            from services.gateway.main import serve

            serve(settings)
        elif name in ("generator", "metering"):
            asyncio.run(_run_live(settings, name, backfill_days, speedup))
        else:
            raise ValueError(f"unknown service {name!r}")
    except KeyboardInterrupt:
        pass  # Ctrl-C on a service run by hand: stop quietly
    finally:
        shutdown_tracing()  # sends the spans still batched
