"""Scans read utilization that live metering already streamed (`outlay.utilization.v1`, kept by the optimizer in
the store) instead of asking CloudWatch again: GetMetricData is billed per metric, and metering has read it once.

`StoredFirst` wraps the AWS inventory: a five-minute average query whose series the store holds for at least
`min_coverage` of the window is answered from the store; the rest go to CloudWatch as before. Everything else
(describe calls, Spot prices) passes through.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from outlay.aws.resources import DbInstance, Ec2Instance, ElasticAddress, LoadBalancer, MetricQuery, Volume
from outlay.store.utilization import Series
from services.optimizer.scan import PERIOD_S, OptimizerInventory


class StoredFirst:
    def __init__(self, inner: OptimizerInventory, stored: Series, min_coverage: float = 0.8) -> None:
        self._inner = inner
        self._stored = stored
        self._min_coverage = min_coverage
        self.from_store = 0  # queries answered from the store
        self.from_cloudwatch = 0

    def instances(self, region: str) -> list[Ec2Instance]:
        return self._inner.instances(region)

    def volumes(self, region: str) -> list[Volume]:
        return self._inner.volumes(region)

    def addresses(self, region: str) -> list[ElasticAddress]:
        return self._inner.addresses(region)

    def databases(self, region: str) -> list[DbInstance]:
        return self._inner.databases(region)

    def load_balancers(self, region: str) -> list[LoadBalancer]:
        return self._inner.load_balancers(region)

    def spot_prices(self, region: str, instance_types: Sequence[str], now: datetime) -> dict[str, Decimal]:
        return self._inner.spot_prices(region, instance_types, now)

    def metric_values(
        self,
        region: str,
        queries: Sequence[MetricQuery],
        start: datetime,
        end: datetime,
        period_s: int = 60,
        stat: str = "Average",
    ) -> dict[str, list[tuple[datetime, float]]]:
        if period_s != PERIOD_S or stat != "Average":
            return self._inner.metric_values(region, queries, start, end, period_s, stat)
        needed = self._min_coverage * (end - start).total_seconds() / period_s
        answered: dict[str, list[tuple[datetime, float]]] = {}
        missing: list[MetricQuery] = []
        for query in queries:
            points = [(at, v) for at, v in self._stored.get((query.resource_id, query.metric), []) if start <= at < end]
            if len(points) >= needed:
                answered[query.id] = points
            else:
                missing.append(query)
        self.from_store += len(answered)
        self.from_cloudwatch += len(missing)
        if missing:
            answered |= self._inner.metric_values(region, missing, start, end, period_s, stat)
        return answered
