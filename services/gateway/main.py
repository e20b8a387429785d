"""Run the gateway under uvicorn: `outlay services run gateway` calls `serve(settings)`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from outlay.settings import Settings, get_settings
from outlay.store.engine import upgrade
from services.gateway.app import create_app
from services.gateway.auth import is_loopback


class InsecureBinding(RuntimeError):
    """The gateway would listen beyond this machine without an API key."""


def check_binding(settings: Settings) -> None:
    if settings.api_key is None and not is_loopback(settings.api_host):
        raise InsecureBinding(
            f"refusing to serve on {settings.api_host} without an API key: set OUTLAY_API_KEY (or listen on 127.0.0.1)"
        )


def serve(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    check_binding(settings)
    # Idempotent, like the ledger's start: a gateway started alone on a fresh SQLite file still answers.
    asyncio.run(upgrade(settings.store_url))
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        log_config=None,  # keep the process's own log format (outlay.telemetry), not uvicorn's
        proxy_headers=True,
    )


@asynccontextmanager
async def serving(app: FastAPI, port: int, within: float = 60) -> AsyncIterator[uvicorn.Server]:
    """Serve `app` on 127.0.0.1:`port` inside the running event loop (tests, benchmarks) until the block ends.

    Ready when uvicorn listens and the app's stream followers have caught up with their topics, so a client
    connecting next sees every event published after that."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(within):
            while not (server.started and _followers_ready(app)):
                if task.done():
                    raise RuntimeError("the gateway stopped during start-up")
                await asyncio.sleep(0.02)
        yield server
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, within)


def _followers_ready(app: FastAPI) -> bool:
    state = app.state
    followers = (state.follower, state.anomaly_follower, state.budget_alert_follower, state.plan_follower,
                 state.forecast_follower)  # fmt: skip
    return all(f is None or f.ready.is_set() for f in followers)


def main() -> None:
    serve()


if __name__ == "__main__":
    main()
