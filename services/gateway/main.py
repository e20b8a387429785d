"""Run the gateway under uvicorn: `outlay services run gateway` calls `serve(settings)`."""

from __future__ import annotations

import asyncio

import uvicorn

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


def main() -> None:
    serve()


if __name__ == "__main__":
    main()
