"""Store every update of `outlay.anomalies.v1` in the `anomalies` table.

A consumer group (`OUTLAY_GATEWAY_ANOMALY_GROUP`): with several gateways each update is stored by one
of them, and offsets are committed only after the upsert, so a crash re-delivers and the idempotent
upsert absorbs it. Undecodable messages go to the dead-letter topic (`BatchConsumer`).
"""

from __future__ import annotations

import logging

from outlay.events import CostAnomaly
from outlay.kafka.consumer import BatchConsumer
from outlay.kafka.keep_running import consume_forever
from services.gateway.anomalies.store import AnomalyStore

log = logging.getLogger(__name__)


class AnomalySink:
    def __init__(
        self,
        bootstrap_servers: str,
        store: AnomalyStore,
        group_id: str,
        *,
        client_id: str = "outlay-gateway-anomalies",
        session_timeout_ms: int = 6000,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._store = store
        self._group_id = group_id
        self._client_id = client_id
        self._session_timeout_ms = session_timeout_ms

    async def run(self) -> None:
        """Consume forever; a broker or store outage is retried with backoff (the API keeps serving)."""
        await consume_forever("anomaly sink", self._consumer, self._store_updates)

    def _consumer(self) -> BatchConsumer[CostAnomaly]:
        return BatchConsumer(
            self._bootstrap,
            CostAnomaly,
            self._group_id,
            client_id=self._client_id,
            max_records=500,
            session_timeout_ms=self._session_timeout_ms,
            decode_in_thread=False,
        )

    async def _store_updates(self, anomalies: list[CostAnomaly]) -> None:
        by_tenant: dict[str, list[CostAnomaly]] = {}
        for anomaly in anomalies:
            by_tenant.setdefault(anomaly.tenant_id, []).append(anomaly)
        for tenant_id, mine in sorted(by_tenant.items()):
            await self._store.for_tenant(tenant_id).upsert(mine)
