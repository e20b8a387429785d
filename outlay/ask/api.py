"""A structured query as the public API requests that answer it (plain data: adapters send or run them).

Each period is one `GET /v1/costs` over whole days; an `explain_spike` adds one `GET /v1/anomalies` for spikes
that started in the period. A unit-cost or gross-margin query is one `GET /v1/unit-costs`, a correlation one
`GET /v1/unit-economics/correlation`, an allocation one `GET /v1/allocation`. The answer lists these requests so
anyone can run them and get the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from outlay.ask.model import UNIT_GROUPS, UNIT_KINDS, AskGrain, Intent, Period, QueryKind, StructuredQuery

ANOMALY_LIMIT = 20  # the spikes an explanation lists at most (largest impact first)
UNIT_COSTS = "/v1/unit-costs"
CORRELATION = "/v1/unit-economics/correlation"
ALLOCATION = "/v1/allocation"


@dataclass(frozen=True)
class ApiRequest:
    path: str
    params: tuple[tuple[str, str], ...]

    def url(self) -> str:
        return f"{self.path}?{urlencode(self.params)}" if self.params else self.path

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.params if k == name]

    def value(self, name: str) -> str | None:
        found = self.values(name)
        return found[0] if found else None


def cost_request(query: StructuredQuery, period: Period) -> ApiRequest:
    """GET /v1/costs for `period`: daily buckets (hourly when asked), summed by the answer for a total."""
    params: list[tuple[str, str]] = [
        ("start", period.start.isoformat()),
        ("end", period.end.isoformat()),
        ("granularity", "hour" if query.grain is AskGrain.HOUR else "day"),
        ("metric", query.metric.value),
    ]
    params.extend(("group_by", name) for name in query.group_by)
    for item in query.filters:
        if item.dimension.startswith("tag:"):
            key = item.dimension[4:]
            params.extend(("tag", f"{key}:{value}") for value in item.values)
        else:
            params.extend((item.dimension, value) for value in item.values)
    return ApiRequest("/v1/costs", tuple(params))


def anomaly_request(query: StructuredQuery) -> ApiRequest | None:
    if query.intent is not Intent.EXPLAIN_SPIKE:
        return None
    params = (
        ("direction", "spike"),
        ("since", query.period.start.isoformat()),
        ("until", query.period.end.isoformat()),
        ("limit", str(ANOMALY_LIMIT)),
    )
    return ApiRequest("/v1/anomalies", params)


def requests_for(query: StructuredQuery) -> tuple[ApiRequest, ApiRequest | None, ApiRequest | None]:
    """(costs over the period, costs over compare_to or None, anomalies or None)."""
    previous = None if query.compare_to is None else cost_request(query, query.compare_to)
    return cost_request(query, query.period), previous, anomaly_request(query)


def business_request(query: StructuredQuery) -> ApiRequest:
    """The one request that answers a unit_cost, gross_margin, correlation or allocation query."""
    days = (("start", query.period.start.isoformat()), ("end", query.period.end.isoformat()))
    metric = query.unit_metric()
    if query.kind in UNIT_KINDS:
        params: list[tuple[str, str]] = [("metric", metric or "")]
        if query.per is not None or query.kind is QueryKind.GROSS_MARGIN:
            params.append(("per", str(query.per or 1)))  # margins: cost per unit of revenue, a plain ratio
        params.append(("by", UNIT_GROUPS[query.group_by[0]] if query.group_by else "none"))
        params.extend(days)
        params.append(("grain", "hour" if query.grain is AskGrain.HOUR else "day"))
        params.append(("cost_metric", query.metric.value))
        if query.shared_by_usage:
            params.append(("shared", "by_usage"))
        return ApiRequest(UNIT_COSTS, tuple(params))
    if query.kind is QueryKind.CORRELATION:
        return ApiRequest(CORRELATION, (("driver", metric or ""), *days, ("cost_metric", query.metric.value)))
    if query.kind is QueryKind.ALLOCATION:
        by = (("by", query.allocate_by or ""),)
        return ApiRequest(ALLOCATION, (*by, *days, ("grain", "day"), ("metric", query.metric.value)))
    raise ValueError(f"kind {query.kind.value} is answered by GET /v1/costs")
