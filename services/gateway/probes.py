"""Readiness probes: is the store answering, is the broker answering. Each has a short deadline."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaClient

from services.gateway.costs_query import CostStore


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str


async def probe_store(store: CostStore, within: float) -> ProbeResult:
    try:
        await asyncio.wait_for(store.ping(), within)
    except TimeoutError:
        return ProbeResult(False, f"no answer to SELECT 1 within {within}s")
    except Exception as exc:  # any driver error means "not ready"; say which
        return ProbeResult(False, f"{type(exc).__name__}: {exc}")
    return ProbeResult(True, "SELECT 1 answered")


async def probe_broker(bootstrap_servers: str | None, within: float) -> ProbeResult:
    if not bootstrap_servers:
        return ProbeResult(True, "not configured: live stream disabled")
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap_servers,
        client_id="outlay-gateway-probe",
        request_timeout_ms=max(1, int(within * 1000)),
    )
    try:
        # bootstrap() fetches cluster metadata: the broker is up and speaks Kafka.
        await asyncio.wait_for(client.bootstrap(), within)
    except TimeoutError:
        return ProbeResult(False, f"no metadata from {bootstrap_servers} within {within}s")
    except Exception as exc:
        return ProbeResult(False, f"{type(exc).__name__}: {exc}")
    finally:
        await client.close()
    return ProbeResult(True, f"metadata from {bootstrap_servers}")
