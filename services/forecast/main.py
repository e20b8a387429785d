"""Entrypoint of the forecast service: the gRPC server, the reforecast schedule and the ledger-progress watch,
until SIGINT/SIGTERM. `outlay services run forecast` calls `run(settings)`."""

from __future__ import annotations

import asyncio
import logging

from outlay.kafka.producer import EventProducer
from outlay.lifecycle import prepare
from outlay.settings import Settings
from outlay.store.engine import make_engine
from services.forecast.rpc_server import start_server
from services.forecast.worker import ProgressWatch, Reforecaster, run_schedule

log = logging.getLogger(__name__)
GRACE_S = 5.0  # in-flight gRPC calls get this long to finish at shutdown


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    bootstrap, stop = await prepare(settings, stop)
    engine = make_engine(settings.store_url)
    watch = ProgressWatch(bootstrap, client_id=f"{settings.kafka_client_id}-forecast")
    try:
        async with EventProducer(bootstrap, client_id=f"{settings.kafka_client_id}-forecast") as producer:
            reforecaster = Reforecaster(engine, settings.series_tag_keys, producer)
            address = f"{settings.forecast_grpc_host}:{settings.forecast_grpc_port}"
            server, port = await start_server(reforecaster, settings.forecast_horizon_days, address)
            log.info("forecast gRPC on %s:%d", settings.forecast_grpc_host, port)
            try:
                await watch.start()
                await run_schedule(
                    reforecaster,
                    watch,
                    stop,
                    settings.forecast_horizon_days,
                    settings.forecast_interval_s,
                    settings.forecast_debounce_s,
                )
            finally:
                await server.stop(GRACE_S)
                await watch.stop()
    finally:
        await engine.dispose()
