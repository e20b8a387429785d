"""Liveness and readiness, for Kubernetes probes and load balancers."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.gateway.probes import probe_broker, probe_store
from services.gateway.schemas import ReadinessOut

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The store and the broker answer",
    responses={
        200: {"model": ReadinessOut, "description": "Ready"},
        503: {"model": ReadinessOut, "description": "Not ready; `failed` names the checks"},
    },
)
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    store, broker = await asyncio.gather(
        probe_store(state.tenant_stores.costs, state.probe_timeout),
        probe_broker(state.settings.kafka_bootstrap_servers, state.probe_timeout),
    )
    checks: dict[str, Any] = {
        "store": {"ok": store.ok, "detail": store.detail},
        "broker": {"ok": broker.ok, "detail": broker.detail},
    }
    failed = [name for name, check in checks.items() if not check["ok"]]
    body = {"status": "ready" if not failed else "unavailable", "failed": failed, "checks": checks}
    return JSONResponse(body, status_code=503 if failed else 200)
