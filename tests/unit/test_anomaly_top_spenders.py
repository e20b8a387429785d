"""Top spenders get series of their own: ranked within their (account, service), decayed over time."""

from __future__ import annotations

from datetime import timedelta

from outlay.events import UsageRecord
from services.anomaly.series.keys import SeriesSettings, contributions
from services.anomaly.series.top_spenders import TopSpenders, TopSpenderSettings
from tests.unit.test_anomaly_series import usage


def resource_usage(minute: int, resource: str | None, cost: str, service: str = "AmazonEC2") -> UsageRecord:
    record = usage(minute, cost, service=service, n=hash(resource) % 1000)
    return record.model_copy(update={"resource_id": resource})


def test_the_largest_spenders_of_each_service_get_their_own_series() -> None:
    top = TopSpenders(TopSpenderSettings(top=2, min_share=0.05))
    batch = [
        resource_usage(0, "i-big", "50"),
        resource_usage(0, "i-mid", "30"),
        resource_usage(0, "i-small", "19"),
        resource_usage(0, "i-tiny", "1"),
        resource_usage(0, None, "40"),  # no resource id: no series of its own
        resource_usage(0, "db-1", "3", service="AmazonRDS"),  # ranked among RDS, where it is the top
    ]
    series = {c.series for c in contributions(batch, SeriesSettings(), top)}
    own = {s for s in series if "resource_id=" in s}
    assert own == {"minute|resource_id=i-big", "minute|resource_id=i-mid", "minute|resource_id=db-1"}
    assert {s for s in {c.series for c in contributions(batch, SeriesSettings())} if "resource_id=" in s} == set()


def test_a_resource_that_stops_spending_falls_out_of_the_top() -> None:
    top = TopSpenders(TopSpenderSettings(top=1, min_share=0.05, half_life=timedelta(hours=1)))
    top.observe([resource_usage(0, "i-old", "10"), resource_usage(0, "i-new", "5")])
    assert top.is_top(resource_usage(0, "i-old", "1")) and not top.is_top(resource_usage(0, "i-new", "1"))
    top.observe([resource_usage(m, "i-new", "5") for m in range(60, 300, 60)])  # four hours later, i-old silent
    assert top.is_top(resource_usage(0, "i-new", "1")) and not top.is_top(resource_usage(0, "i-old", "1"))


def test_a_resource_keeps_its_series_while_its_share_hovers_around_the_minimum() -> None:
    """Entering takes 5% of the group's spend; a resource with a series keeps it down to 2%, so a share hovering at
    5% does not drop the series for a while (its gap would be read as minutes of zero spend)."""
    top = TopSpenders(TopSpenderSettings(top=5, min_share=0.05, keep_share=0.02, half_life=timedelta(hours=1)))
    top.observe(
        [
            resource_usage(0, "db-big", "94", service="AmazonRDS"),
            resource_usage(0, "db-small", "6", service="AmazonRDS"),
        ]
    )
    assert top.is_top(resource_usage(0, "db-small", "1", service="AmazonRDS"))  # 6%: in
    lower = [resource_usage(m, "db-big", "97", service="AmazonRDS") for m in range(60, 600, 60)]
    top.observe(lower + [resource_usage(m, "db-small", "3", service="AmazonRDS") for m in range(60, 600, 60)])
    assert top.is_top(resource_usage(0, "db-small", "1", service="AmazonRDS"))  # 3%: kept
    newcomer = TopSpenders(TopSpenderSettings(top=5, min_share=0.05, keep_share=0.02))
    newcomer.observe(
        [
            resource_usage(0, "db-big", "97", service="AmazonRDS"),
            resource_usage(0, "db-small", "3", service="AmazonRDS"),
        ]
    )
    assert not newcomer.is_top(resource_usage(0, "db-small", "1", service="AmazonRDS"))  # 3% without a series: out
    top.observe([resource_usage(m, "db-big", "99", service="AmazonRDS") for m in range(600, 1200, 60)])
    assert not top.is_top(resource_usage(0, "db-small", "1", service="AmazonRDS"))  # silent: below 2%, out
