"""Live metering's samples kept for scans (PostgreSQL and SQLite): five-minute means of the minutes seen, a sample
delivered twice counted once, old rows pruned; and scans that take stored series where they cover the lookback
and ask CloudWatch only for the rest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from outlay.aws.resources import MetricQuery
from outlay.events.utilization import UtilizationSample
from outlay.store.engine import make_engine
from outlay.store.utilization import UtilizationStore
from services.optimizer.stored_metrics import StoredFirst

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def sample(resource_id: str, minute: int, value: float, metric: str = "CPUUtilization") -> UtilizationSample:
    return UtilizationSample(
        record_id=f"{resource_id}-{metric}-{minute}", timestamp=T0 + timedelta(minutes=minute), account_id="1",
        region="us-east-1", resource_type="ec2-instance", resource_id=resource_id, metric=metric, value=value,
    )  # fmt: skip


async def test_samples_are_kept_once_per_minute_as_five_minute_means(dialect_url: str) -> None:
    engine = make_engine(dialect_url)
    try:
        store = UtilizationStore(engine)
        first = [sample("i-1", m, float(m)) for m in range(7)] + [sample("i-1", 0, 5.0, "NetworkIn")]
        assert await store.add(first) == 7  # NetworkIn is not kept: scans do not read it
        assert await store.add(first[3:7]) == 4  # redelivered: lands on its own minutes again
        await store.add([sample("i-1", 2, 2.0), sample("i-2", 1, 40.0, "FreeableMemory")])
        series = await store.series("us-east-1", T0, T0 + timedelta(hours=1))
        assert series[("i-1", "CPUUtilization")] == [(T0, 2.0), (T0 + timedelta(minutes=5), 5.5)]
        assert series[("i-2", "FreeableMemory")] == [(T0, 40.0)]
        assert await store.series("eu-west-1", T0, T0 + timedelta(hours=1)) == {}
        assert await store.prune(T0 + timedelta(minutes=5)) == 2  # the first bucket of each series
        assert list(await store.series("us-east-1", T0, T0 + timedelta(hours=1))) == [("i-1", "CPUUtilization")]
    finally:
        await engine.dispose()


async def test_each_tenant_keeps_its_own_samples_of_the_same_resource_ids(dialect_url: str) -> None:
    engine = make_engine(dialect_url)
    try:
        acme, default = UtilizationStore(engine).for_tenant("acme"), UtilizationStore(engine)
        theirs = [sample("i-1", m, 90.0).model_copy(update={"tenant_id": "acme"}) for m in range(5)]
        assert await default.add(theirs) == 0  # another tenant's samples are not this store's to keep
        assert await acme.add(theirs) == 5
        assert await default.add([sample("i-1", m, 10.0) for m in range(5)]) == 5
        window = (T0, T0 + timedelta(hours=1))
        assert (await acme.series("us-east-1", *window))[("i-1", "CPUUtilization")] == [(T0, 90.0)]
        assert (await default.series("us-east-1", *window))[("i-1", "CPUUtilization")] == [(T0, 10.0)]
        assert await acme.prune(T0 + timedelta(hours=1)) == 1
        assert (await default.series("us-east-1", *window))[("i-1", "CPUUtilization")] == [(T0, 10.0)]
    finally:
        await engine.dispose()


class CountingCloudWatch:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def metric_values(
        self, region: str, queries: Sequence[MetricQuery], start: datetime, end: datetime, period_s: int = 60,
        stat: str = "Average",
    ) -> dict[str, list[tuple[datetime, float]]]:  # fmt: skip
        self.asked.extend(q.resource_id for q in queries)
        return {q.id: [(start, 99.0)] for q in queries}

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{name} should not be called")


def test_scans_take_stored_series_that_cover_the_window_and_ask_cloudwatch_for_the_rest() -> None:
    start, end = T0, T0 + timedelta(hours=1)  # 12 five-minute slots; 80% is 9.6
    full = [(start + timedelta(minutes=5 * k), 10.0) for k in range(12)]
    sparse = full[:9]
    inner = CountingCloudWatch()
    stored = StoredFirst(inner, {("i-full", "CPUUtilization"): full, ("i-sparse", "CPUUtilization"): sparse})  # type: ignore[arg-type]

    def query(resource_id: str) -> MetricQuery:
        return MetricQuery(f"q-{resource_id}", "AWS/EC2", "CPUUtilization", "InstanceId", resource_id, "Percent",
                           "ec2", resource_id, "us-east-1", "1")  # fmt: skip

    got = stored.metric_values("us-east-1", [query("i-full"), query("i-sparse"), query("i-new")], start, end, 300)
    assert got["q-i-full"] == full and got["q-i-sparse"] == [(start, 99.0)] and got["q-i-new"] == [(start, 99.0)]
    assert inner.asked == ["i-sparse", "i-new"] and (stored.from_store, stored.from_cloudwatch) == (1, 2)
    daily = stored.metric_values("us-east-1", [query("i-full")], start, end, 86400, "Sum")
    assert daily == {"q-i-full": [(start, 99.0)]}  # other periods and statistics always go to CloudWatch
