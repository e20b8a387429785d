"""The `BusinessMetric` event: what it accepts, what it refuses (naming the field), its id and key."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from outlay.events.business_metric import BusinessMetric, MetricGrain, business_metric_id
from outlay.events.topics import topic_for

DAY = {"period_start": "2026-11-29T00:00:00Z", "period_end": "2026-11-30T00:00:00Z"}


def metric(**fields: Any) -> BusinessMetric:
    return BusinessMetric.model_validate({"metric_id": "m1", "name": "requests", "value": "10", **DAY, **fields})


def test_a_day_and_an_hour_are_the_only_periods() -> None:
    assert metric().grain is MetricGrain.DAY
    hour = metric(period_start="2026-11-29T13:00:00Z", period_end="2026-11-29T14:00:00Z")
    assert hour.grain is MetricGrain.HOUR
    for start, end, field in (
        ("2026-11-29T13:30:00Z", "2026-11-29T14:30:00Z", "period_start"),
        ("2026-11-29T06:00:00Z", "2026-11-30T06:00:00Z", "period_start"),
        ("2026-11-29T00:00:00Z", "2026-11-29T02:00:00Z", "period_end"),
    ):
        with pytest.raises(ValidationError, match=field):
            metric(period_start=start, period_end=end)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"name": "revenue"}, "currency"),
        ({"name": "orders", "currency": "USD"}, "currency"),
        ({"name": "customers", "value": "-1"}, "value"),
        ({"name": "Requests"}, "metric name"),
        ({"value": "NaN"}, "value"),
        ({"dimension": "customer"}, "dimension_value"),
        ({"dimension": "team", "dimension_value": "x"}, "dimension"),
        ({"name": "revenue", "currency": "XXX"}, "currency"),
        ({"tenant_id": "Acme"}, "tenant_id"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_figures_are_refused_naming_what_is_wrong(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        metric(**fields)


def test_revenue_may_be_negative_and_is_exact_on_the_wire() -> None:
    refund = metric(name="revenue", value="-12.10", currency="usd", dimension="customer", dimension_value="acme")
    assert refund.currency == "USD" and refund.value == Decimal("-12.10")
    assert '"value":"-12.10"' in refund.model_dump_json()
    assert BusinessMetric.model_validate_json(refund.model_dump_json()) == refund


def test_the_id_follows_the_natural_key_and_the_key_the_series() -> None:
    start, end = datetime(2026, 11, 29, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)
    one = business_metric_id("acme", "requests", start, end, "customer", "globex")
    assert one == business_metric_id("acme", "requests", start, end, "customer", "globex")
    assert one != business_metric_id("other", "requests", start, end, "customer", "globex")
    assert one != business_metric_id("acme", "requests", start, end, "feature", "globex")
    assert (
        metric(tenant_id="acme", dimension="feature", dimension_value="search").key == b"acme|requests|feature=search"
    )
    assert topic_for(BusinessMetric).name == "outlay.business_metrics.v1"
