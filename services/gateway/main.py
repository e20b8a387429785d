"""Run the gateway under uvicorn: `outlay services run gateway` calls `serve(settings)`."""

from __future__ import annotations

import asyncio

import uvicorn

from outlay.settings import Settings, get_settings
from outlay.store.engine import upgrade
from services.gateway.app import create_app


def serve(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    # Idempotent, like the ledger's start: a gateway started alone on a fresh SQLite file still answers.
    asyncio.run(upgrade(settings.store_url))
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        proxy_headers=True,
    )


def main() -> None:
    serve()


if __name__ == "__main__":
    main()
