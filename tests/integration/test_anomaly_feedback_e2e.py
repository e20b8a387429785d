"""A verdict given through the API changes what the running anomaly worker alerts on.

The worker runs as its own process on the real broker; the gateway (with its anomaly sink) runs in this
process on the real PostgreSQL. A launch is alerted, a person marks it planned through
`POST /v1/anomalies/{id}/feedback`, and the rest of the launch is not alerted again; a later spike on the
same series still is, which also proves everything before it has been processed (one series, one partition).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from outlay.events import CostAnomaly
from outlay.settings import Settings
from services.gateway.app import create_app
from tests.integration.gateway_fixtures import api_client
from tests.integration.test_anomaly_worker import TOTAL, anomalies, anomaly_worker, ec2, send
from tests.unit.test_anomaly_series import MINUTE, T0, in_order, usage

pytestmark = pytest.mark.e2e


@pytest.fixture
async def api(store_url: str, broker: str) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(create_app(Settings(DATABASE_URL=store_url, KAFKA_BOOTSTRAP_SERVERS=broker))) as http:
        yield http


def in_spike(anomaly: CostAnomaly) -> bool:
    """The later spike's incident (minutes 700-703), opened on its first or second minute."""
    return T0 + 700 * MINUTE <= anomaly.start <= T0 + 701 * MINUTE


async def first_listed(api: httpx.AsyncClient, within: float = 120, **params: Any) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            response = await api.get("/v1/anomalies", params=params)
            assert response.status_code == 200, response.text
            if response.json()["items"]:
                return response.json()["items"][0]  # type: ignore[no-any-return]
            await asyncio.sleep(0.1)


async def test_a_launch_marked_planned_through_the_api_is_not_alerted_again(
    api: httpx.AsyncClient, broker: str, tmp_path: Path
) -> None:
    launch = [usage(m, "30", service="AmazonEC2", n=1) for m in range(400, 720)]
    spike = [usage(m, "500", service="AmazonEC2", n=2) for m in range(700, 704)]
    # The verdict comes while the launch's incident is open: its first five minutes only.
    first = in_order(launch[:5] + ec2(range(400, 405), seed=5))
    rest = in_order(launch[5:] + ec2(range(405, 720), seed=6) + spike)
    with anomaly_worker(broker, tmp_path / "anomaly.log"):
        await send(broker, ec2(range(400)) + first)
        alert = await first_listed(api, series=TOTAL, alerted="true")
        assert alert["status"] == "open" and alert["direction"] == "spike"

        verdict = await api.post(f"/v1/anomalies/{alert['anomaly_id']}/feedback", json={"verdict": "planned"})
        assert verdict.status_code == 200, verdict.text
        # The worker heard it: it ends the incident as planned and unalerted, and the gateway stores that.
        async with asyncio.timeout(120):
            while not (stored := (await api.get(f"/v1/anomalies/{alert['anomaly_id']}")).json())["end"]:
                await asyncio.sleep(0.1)
        assert stored["feedback"] == "planned" and stored["alerted"] is False

        await send(broker, rest)
        published = await anomalies(broker, lambda seen: any(a.series == TOTAL and in_spike(a) for a in seen))
    total = [a for a in published if a.series == TOTAL]
    planned_at = next(i for i, a in enumerate(total) if a.feedback is not None)
    after = total[planned_at + 1 :]
    assert after, "the later spike must be published"
    # Nothing about the launch is alerted after the verdict; the unrelated spike is.
    alerted = [a for a in after if a.alerted]
    assert alerted and all(in_spike(a) for a in alerted)
