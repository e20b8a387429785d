"""Store every `outlay.business_metrics.v1` figure in the `business_metrics` table.

A consumer group: with several metrics services each figure is stored by one of them, and offsets are committed only
after the upsert, so a crash re-delivers and the upsert (one row per tenant and `metric_id`) absorbs it. Undecodable
messages go to the dead-letter topic (`BatchConsumer`).
"""

from __future__ import annotations

from outlay.events.business_metric import BusinessMetric
from outlay.kafka.consumer import BatchConsumer
from outlay.kafka.keep_running import consume_forever
from outlay.store.business_metrics import BusinessMetricStore

GROUP_ID = "outlay-business-metrics"


class BusinessMetricSink:
    def __init__(
        self,
        bootstrap_servers: str,
        store: BusinessMetricStore,
        group_id: str = GROUP_ID,
        *,
        client_id: str = "outlay-metrics",
        session_timeout_ms: int = 10_000,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._store = store
        self._group_id = group_id
        self._client_id = client_id
        self._session_timeout_ms = session_timeout_ms
        self.received = 0  # figures consumed and written (a redelivered one counts again)
        self.stored = (
            0  # rows written (a batch's figures of one id are one row; a replayed one is written again, in place)
        )

    async def run(self) -> None:
        """Consume forever; a broker or store outage is retried with backoff."""
        await consume_forever("business metric sink", self._consumer, self._store_batch)

    def _consumer(self) -> BatchConsumer[BusinessMetric]:
        return BatchConsumer(
            self._bootstrap,
            BusinessMetric,
            self._group_id,
            client_id=self._client_id,
            max_records=5000,
            session_timeout_ms=self._session_timeout_ms,
        )

    async def _store_batch(self, metrics: list[BusinessMetric]) -> None:
        by_tenant: dict[str, list[BusinessMetric]] = {}
        for metric in metrics:
            by_tenant.setdefault(metric.tenant_id, []).append(metric)
        for tenant_id, mine in sorted(by_tenant.items()):
            self.stored += await self._store.for_tenant(tenant_id).add(mine)
        self.received += len(metrics)  # once written: a test or a probe waiting on it sees the rows
