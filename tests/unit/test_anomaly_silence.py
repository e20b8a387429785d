"""Zeros for live series that went silent: on time while live, never in a backfill, bounded, forgotten; only for
series fed by one usage partition (the others get theirs from the partitions' watermark)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.anomaly.series.keys import SeriesContribution
from services.anomaly.series.silence import SilenceFiller

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
PINNED = {"billing_account_id": "111122223333", "service": "AmazonEC2"}  # one usage partition feeds it


def fed(series: str, minute: int, amount: str = "1", granularity_s: int = 60) -> SeriesContribution:
    return SeriesContribution(series=series, dimensions=PINNED, granularity_s=granularity_s,
                              bucket=T0 + minute * MINUTE, amount=Decimal(amount), record_ids=[f"{series}-{minute}"])  # fmt: skip


def test_a_series_that_stops_gets_zeros_once_the_stream_is_grace_past_it() -> None:
    filler = SilenceFiller(grace=timedelta(minutes=10))
    filler.observe([fed("minute|billing_account_id=1|service=AmazonEC2", m) for m in range(5)])  # i-1 stops after 12:04
    filler.observe([fed("minute|total", m) for m in range(5, 15)])  # the stream goes on to 12:14
    now = T0 + 15 * MINUTE
    assert filler.zeros(now) == []  # 12:14 - 10 min = 12:04, the last minute i-1 was fed: nothing due yet
    filler.observe([fed("minute|total", 20)])  # total skips 12:15-12:19, but those are within the grace
    zeros = filler.zeros(T0 + 21 * MINUTE)
    assert {z.series for z in zeros} == {"minute|billing_account_id=1|service=AmazonEC2"}
    mine = zeros
    assert [z.bucket for z in mine] == [T0 + m * MINUTE for m in range(5, 11)]  # 12:05 .. 12:10 = 12:20 - 10 min
    assert all(z.amount == 0 and z.record_ids == [] and z.dimensions == PINNED for z in mine)
    assert filler.zeros(T0 + 21 * MINUTE) == []  # each minute once


def test_no_zeros_in_a_backfill_or_for_hourly_series() -> None:
    filler = SilenceFiller()
    filler.observe([fed("minute|billing_account_id=1|service=AmazonEC2", 0), fed("minute|total", 60)])
    assert filler.zeros(T0 + timedelta(days=3)) == []  # the stream is three days old: not live
    hourly = SilenceFiller()
    hourly.observe([fed("hour|total", 0, granularity_s=3600), fed("minute|total", 60)])
    assert {z.series for z in hourly.zeros(T0 + 61 * MINUTE)} <= {"minute|total"}


def test_tenants_have_their_own_clocks_and_zeros_are_bounded_and_forgotten() -> None:
    filler = SilenceFiller(grace=timedelta(minutes=10), max_zeros=5, give_up=timedelta(hours=1))
    filler.observe([fed("acme/minute|total", 0), fed("globex/minute|total", 0)])
    filler.observe([fed("acme/minute|other", 30)])  # only acme's stream moved on
    zeros = filler.zeros(T0 + 31 * MINUTE)
    assert {z.series for z in zeros} == {"acme/minute|total"} and len(zeros) == 5  # 20 minutes due, 5 a call
    assert [z.bucket for z in filler.zeros(T0 + 31 * MINUTE)] == [T0 + m * MINUTE for m in range(6, 11)]
    filler.observe([fed("acme/minute|other", 90)])  # acme's total silent for 90 minutes: forgotten
    assert "acme/minute|total" not in {z.series for z in filler.zeros(T0 + 91 * MINUTE)}


def test_a_series_fed_by_several_partitions_gets_no_zeros_from_here() -> None:
    filler = SilenceFiller()
    held = fed("minute|tag:team=web", 0).model_copy(update={"dimensions": {"tag:team": "web"}})
    filler.observe([held, fed("minute|total", 0)])
    filler.observe([fed("minute|total", m) for m in range(1, 30)])
    assert {z.series for z in filler.zeros(T0 + 30 * MINUTE)} == set()  # total too is pinned here: it kept going
