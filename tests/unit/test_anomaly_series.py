"""The series layer: which series a record feeds, buckets (duplicates, lateness, zeros), root cause, and one
series monitored end to end with feedback and a state round trip. Plain Python, no I/O."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from outlay.events import AnomalyFeedback, CostAnomaly, CostKind, FeedbackVerdict, UsageRecord
from outlay.events.usage import stable_record_id
from services.anomaly.series.buckets import BucketSeries
from services.anomaly.series.keys import SeriesContribution, SeriesSettings, contributions, usage_problem
from services.anomaly.series.monitor import SeriesMonitor
from services.anomaly.series.root_cause import NEW_VALUE, CauseBaselines

T0 = datetime(2026, 11, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def usage(
    minute: int,
    cost: str,
    *,
    service: str = "AmazonEC2",
    region: str = "us-east-1",
    team: str | None = "checkout",
    length: timedelta = MINUTE,
    n: int = 0,
) -> UsageRecord:
    start = T0 + minute * MINUTE
    return UsageRecord(
        record_id=stable_record_id("t", service, region, team, minute, n),
        source="generator",
        cost_kind=CostKind.ESTIMATED,
        charge_period_start=start,
        charge_period_end=start + length,
        billing_account_id="111122223333",
        region=region,
        service=service,
        billed_cost=Decimal(cost),
        effective_cost=Decimal(cost),
        list_cost=Decimal(cost),
        tags={"team": team} if team else {},
    )


def test_a_record_feeds_total_account_service_and_tag_series_at_its_granularity() -> None:
    out = contributions([usage(0, "1.5"), usage(0, "0.5", service="AmazonS3", team=None)], SeriesSettings())
    by_series = {c.series: c for c in out}
    assert set(by_series) == {
        "minute|total",
        "minute|billing_account_id=111122223333|service=AmazonEC2",
        "minute|billing_account_id=111122223333|service=AmazonS3",
        "minute|tag:team=checkout",
    }
    total = by_series["minute|total"]
    assert total.amount == Decimal("2.0") and len(total.record_ids) == 2
    assert total.breakdown["service=AmazonEC2"] == 1.5
    ec2 = by_series["minute|billing_account_id=111122223333|service=AmazonEC2"]
    assert "service=AmazonEC2" not in ec2.breakdown and ec2.breakdown["tag:team=checkout"] == 1.5


def test_hourly_lines_feed_hourly_series_and_monthly_fees_feed_none() -> None:
    hourly = contributions([usage(0, "3", length=timedelta(hours=1))], SeriesSettings())
    assert {c.series.split("|")[0] for c in hourly} == {"hour"}
    assert contributions([usage(0, "700", length=timedelta(days=30))], SeriesSettings()) == []


def test_nan_and_negative_costs_are_refused_with_the_field_named() -> None:
    assert usage_problem(usage(0, "1")) is None
    assert usage_problem(usage(0, "-2")) == (
        "effective_cost",
        "is negative (-2): credits and refunds are not learnt as spend",
    )
    with pytest.raises(ValidationError, match="finite number"):
        usage(0, "NaN")  # the event itself refuses NaN, so it reaches the DLQ when decoded
    nan = usage(0, "1").model_copy(update={"effective_cost": Decimal("NaN")})
    assert usage_problem(nan) == ("effective_cost", "is NaN")


def test_a_line_delivered_twice_in_one_batch_counts_once() -> None:
    # At-least-once delivery: after a rebalance a batch can hold a re-fetched copy of a line it already has.
    ec2, s3 = usage(0, "1.5"), usage(0, "2", service="AmazonS3")
    total = next(c for c in contributions([ec2, s3, ec2], SeriesSettings()) if c.series == "minute|total")
    assert total.amount == Decimal("3.5")
    assert total.record_ids == [ec2.record_id, s3.record_id]


def test_buckets_close_after_the_lateness_fill_gaps_with_zero_and_drop_duplicates_and_late_lines() -> None:
    b = BucketSeries(MINUTE, lateness=2)
    assert b.add(T0, Decimal(1), ["a"], {}) == []
    assert b.add(T0, Decimal(1), ["a"], {}) == []  # a duplicate
    assert b.add(T0 + MINUTE, Decimal(2), ["b"], {}) == []
    closed = b.add(T0 + 5 * MINUTE, Decimal(4), ["c"], {})
    assert [(p.at - T0) // MINUTE for p in closed] == [0, 1, 2, 3]
    assert [p.amount for p in closed] == [1, 2, 0, 0]
    assert b.add(T0 + 2 * MINUTE, Decimal(9), ["late"], {}) == [] and b.late == 1
    assert b.duplicates == 1
    # an out-of-order line within the lateness joins its bucket
    assert b.add(T0 + 4 * MINUTE, Decimal(1), ["d"], {}) == []
    assert [p.amount for p in b.advance(T0 + 8 * MINUTE)] == [1, 4, 0]  # minutes 4, 5 and an empty 6


def test_state_survives_json() -> None:
    b = BucketSeries(MINUTE)
    b.add(T0, Decimal("1.25"), ["a"], {"service=x": 1.25})
    again = BucketSeries.from_state(json.loads(json.dumps(b.state())))
    assert again.state() == b.state()


def steady(minutes: range, seed: int = 3) -> list[UsageRecord]:
    rng = random.Random(seed)
    out = []
    for m in minutes:
        out.append(usage(m, f"{10 + rng.gauss(0, 0.3):.4f}"))
        out.append(usage(m, f"{5 + rng.gauss(0, 0.2):.4f}", service="AmazonRDS", region="eu-west-1", team="data"))
    return out


def in_order(records: list[UsageRecord]) -> list[UsageRecord]:
    """By minute, as a live source sends them (lines later than the lateness would be dropped)."""
    return sorted(records, key=lambda r: r.charge_period_start)


def run(monitor: SeriesMonitor, records: list[UsageRecord]) -> list[CostAnomaly]:
    published: list[CostAnomaly] = []
    for record in records:
        for c in contributions([record], SeriesSettings()):
            if c.series == monitor.series:
                published += monitor.add(c)
    return published


def total_monitor() -> SeriesMonitor:
    first = SeriesContribution(
        series="minute|total", granularity_s=60, bucket=T0, amount=Decimal(0), record_ids=[], currency="USD"
    )
    return SeriesMonitor.for_contribution(first)


def test_a_spike_in_one_service_is_found_with_its_root_cause() -> None:
    monitor = total_monitor()
    assert run(monitor, steady(range(400))) == []
    spike = [usage(m, "60", service="AmazonEC2", region="us-east-1", n=1) for m in range(400, 405)]
    published = run(monitor, spike + steady(range(400, 420), seed=4))
    assert published, "the spike was not found"
    first = published[0]
    assert first.start == T0 + 400 * MINUTE and first.alerted and first.impact > 0
    assert "service=AmazonEC2" in first.root_cause and "region=us-east-1" in first.root_cause
    assert "service=AmazonRDS" not in first.root_cause
    assert "billing_account_id=111122223333" not in first.root_cause  # the only account explains nothing
    assert {p.anomaly_id for p in published} == {first.anomaly_id}


def test_one_point_alone_never_alerts() -> None:
    monitor = total_monitor()
    assert run(monitor, [usage(0, "1000000")]) == []
    assert monitor.advance(T0 + 10 * MINUTE) == []


def test_planned_feedback_makes_a_launch_normal_and_it_is_not_alerted_again() -> None:
    launch = [usage(m, "30", service="AmazonEC2", n=1) for m in range(400, 700)]
    # The verdict comes while the launch's incident is open: after its first five minutes.
    first, rest = in_order(launch[:5] + steady(range(400, 405), seed=5)), in_order(launch[5:] + steady(range(405, 700)))
    judged, unjudged = total_monitor(), total_monitor()
    for monitor in (judged, unjudged):
        run(monitor, steady(range(400)))
    opened = run(judged, first)
    assert opened and opened[0].alerted and run(unjudged, first) == opened
    (closed,) = judged.give_feedback(
        AnomalyFeedback(
            anomaly_id=opened[0].anomaly_id,
            series=judged.series,
            verdict=FeedbackVerdict.PLANNED,
            given_at=T0,
        )
    )
    assert closed.end is not None and not closed.alerted and closed.feedback is FeedbackVerdict.PLANNED
    # Without the verdict the launch keeps alerting (its incident's updates); with it, nothing more is alerted.
    assert [a for a in run(unjudged, rest) if a.alerted]
    assert [a for a in run(judged, rest) if a.alerted] == []


def test_false_positive_feedback_makes_the_series_less_ready_to_alert() -> None:
    monitor = total_monitor()
    level = monitor.detector.alert_level
    monitor.give_feedback(
        AnomalyFeedback(anomaly_id="x", series=monitor.series, verdict=FeedbackVerdict.FALSE_POSITIVE, given_at=T0)
    )
    assert monitor.detector.alert_level > level


def test_a_restored_monitor_continues_exactly_like_the_original() -> None:
    history = steady(range(350))
    rest = [usage(m, "60", n=1) for m in range(350, 355)] + steady(range(350, 380), seed=9)
    original = total_monitor()
    run(original, history)
    restored = SeriesMonitor.from_state(json.loads(json.dumps(original.state())))
    assert run(restored, rest) == run(original, rest)
    assert restored.state() == original.state()


def test_duplicates_and_out_of_order_lines_change_nothing() -> None:
    records = steady(range(380)) + [usage(m, "60", n=1) for m in range(380, 384)] + steady(range(380, 420), seed=4)
    in_order = run(total_monitor(), records)
    assert len({a.anomaly_id for a in in_order}) == 1
    # Every line twice, and neighbours within the lateness (2 minutes) swapped: the same anomalies, once each.
    messy: list[UsageRecord] = []
    for i in range(0, len(records) - 1, 2):
        messy += [records[i + 1], records[i], records[i + 1]]
    messy += records[len(messy) // 3 * 2 :]
    assert run(total_monitor(), messy) == in_order
    # A line far too late is dropped, not learnt: no false alert, no change to what was published.
    late = run(total_monitor(), records + [usage(10, "500", n=7)])
    assert late == in_order


def calm(minutes: range, rds: str = "5") -> list[UsageRecord]:
    """Two services with little noise (0.1%), like a database's hourly price: a few percent is many sigma."""
    rng = random.Random(11)
    out = []
    for m in minutes:
        out.append(usage(m, f"{10 * (1 + rng.gauss(0, 0.001)):.5f}"))
        rds_cost = Decimal(rds) * Decimal(f"{1 + rng.gauss(0, 0.001):.5f}")
        out.append(usage(m, f"{rds_cost:.5f}", service="AmazonRDS", region="eu-west-1", team="data"))
    return out


def test_a_deploy_sized_step_of_one_service_is_recorded_and_a_tripling_is_alerted() -> None:
    """The total moves 7% when the database steps by 20% (its deploy), 67% when the database triples: the detector
    opens an incident for both (each is many sigma on a calm series), and the cause's own change decides."""
    stepped, tripled = total_monitor(), total_monitor()
    for monitor in (stepped, tripled):
        assert not any(a.alerted for a in run(monitor, calm(range(400))))
    step = run(stepped, calm(range(400, 430), rds="6"))
    assert step and "service=AmazonRDS" in step[0].root_cause  # found and explained ...
    assert not any(a.alerted for a in step)  # ... but not alerted
    spike = run(tripled, calm(range(400, 430), rds="15"))
    assert spike and spike[0].alerted and "service=AmazonRDS" in spike[0].root_cause


def test_the_cause_change_is_measured_against_the_causes_own_usual_spend() -> None:
    causes = CauseBaselines(fading_factor=0.5)
    causes.observe({"resource_id=a": 10.0, "resource_id=b": 100.0}, in_incident=False)
    causes.observe({"resource_id=a": 30.0, "resource_id=b": 100.0, "resource_id=c": 1.0}, in_incident=True)
    assert causes.change(["resource_id=a"]) == pytest.approx(2.0)  # 20 over its usual 10
    assert causes.change(["resource_id=b"]) == 0.0
    assert causes.change(["resource_id=c"]) == NEW_VALUE  # new: it usually spends nothing (finite: JSON-safe)
    assert causes.change([]) == 0.0
    causes.observe({"resource_id=a": 10.0}, in_incident=False)  # the incident is over: forgotten
    assert causes.change(["resource_id=a"]) == 0.0
