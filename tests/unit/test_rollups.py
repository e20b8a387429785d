"""Rollup increments: hour and day totals reconcile exactly with the records, whatever their period."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from outlay.events import CostKind, UsageRecord
from outlay.money import to_nanos
from outlay.store.models import RollupKeyHasher, rollup_key_hash
from services.ingest.ledger.rollups import RollupIncrement, RollupKey, rollup_increments, tags_hash

T0 = datetime(2024, 9, 1, tzinfo=UTC)


def record(
    rid: str,
    start: datetime,
    end: datetime,
    billed: str,
    *,
    effective: str | None = None,
    listed: str | None = None,
    resource: str | None = "i-1",
    tags: dict[str, str] | None = None,
) -> UsageRecord:
    return UsageRecord(
        record_id=rid,
        source="cur",
        cost_kind=CostKind.BILLED,
        charge_period_start=start,
        charge_period_end=end,
        billing_account_id="111122223333",
        region="us-east-1",
        service="AmazonEC2",
        resource_id=resource,
        billed_cost=Decimal(billed),
        effective_cost=Decimal(effective if effective is not None else billed),
        list_cost=Decimal(listed if listed is not None else billed),
        tags=tags or {},
    )


def totals(incs: dict[RollupKey, RollupIncrement], grain: str) -> tuple[int, int, int, int]:
    picked = [inc for key, inc in incs.items() if key.grain == grain]
    return (
        sum(i.billed_nanos for i in picked),
        sum(i.effective_nanos for i in picked),
        sum(i.list_nanos for i in picked),
        len(picked),
    )


def test_hourly_record_lands_whole_in_one_hour_and_one_day() -> None:
    rec = record("a", T0 + timedelta(hours=5), T0 + timedelta(hours=6), "0.096")
    incs = rollup_increments([rec])
    assert len(incs) == 2
    by_grain = {key.grain: (key, inc) for key, inc in incs.items()}
    hour_key, hour = by_grain["hour"]
    day_key, day = by_grain["day"]
    assert hour_key.period_start == datetime(2024, 9, 1, 5)  # naive UTC, as stored
    assert hour_key.period_start.tzinfo is None
    assert day_key.period_start == datetime(2024, 9, 1)
    assert hour.billed_nanos == day.billed_nanos == 96_000_000
    assert hour.records == day.records == 1
    assert hour_key.sub_account_id == "" and hour_key.service == "AmazonEC2"


def test_daily_record_spreads_over_24_hours_exactly() -> None:
    rec = record("d", T0, T0 + timedelta(days=1), "1.000000007", effective="0.9", listed="1.2")
    incs = rollup_increments([rec])
    assert totals(incs, "hour") == (1_000_000_007, 900_000_000, 1_200_000_000, 24)
    assert totals(incs, "day") == (1_000_000_007, 900_000_000, 1_200_000_000, 1)


@pytest.mark.parametrize("billed", ["1234.567890123", "-17.000000001", "0.000000001", "0"])
def test_month_long_record_reconciles_at_both_grains(billed: str) -> None:
    start = T0 + timedelta(minutes=7)  # an awkward start: partial first hour and day
    end = start + timedelta(days=30, minutes=13)
    rec = record("m", start, end, billed, effective="99.999999999", listed="0.000000031")
    incs = rollup_increments([rec])
    expected = (to_nanos(Decimal(billed)), 99_999_999_999, 31)
    hb, he, hl, hours = totals(incs, "hour")
    db, de, dl, days = totals(incs, "day")
    assert (hb, he, hl) == expected
    assert (db, de, dl) == expected
    assert hours == 30 * 24 + 1
    assert days == 31
    # Buckets of the same grain never overlap and sit on bucket boundaries.
    starts = sorted(k.period_start for k in incs if k.grain == "day")
    assert all(s.hour == 0 and s.minute == 0 for s in starts)
    assert len(set(starts)) == len(starts)


def test_record_across_midnight_splits_between_days_by_minutes() -> None:
    start = datetime(2024, 9, 1, 23, 30, tzinfo=UTC)
    rec = record("x", start, start + timedelta(hours=1), "0.000000060")  # 60 nanos over 60 minutes
    incs = rollup_increments([rec])
    days = {k.period_start: i.billed_nanos for k, i in incs.items() if k.grain == "day"}
    hours = {k.period_start: i.billed_nanos for k, i in incs.items() if k.grain == "hour"}
    assert days == {datetime(2024, 9, 1): 30, datetime(2024, 9, 2): 30}
    assert hours == {datetime(2024, 9, 1, 23): 30, datetime(2024, 9, 2, 0): 30}


def test_same_key_aggregates_within_a_batch_and_different_keys_do_not() -> None:
    h = T0 + timedelta(hours=1)
    recs = [
        record("1", h, h + timedelta(hours=1), "1", tags={"team": "a", "env": "prod"}),
        record("2", h, h + timedelta(hours=1), "2", tags={"env": "prod", "team": "a"}),  # same set
        record("3", h, h + timedelta(hours=1), "4", tags={"team": "b"}),
        record("4", h, h + timedelta(hours=1), "8", resource=None),
    ]
    incs = rollup_increments(recs)
    hours: dict[tuple[str, str], RollupIncrement] = {
        (k.resource_id, k.tags_hash): i for k, i in incs.items() if k.grain == "hour"
    }
    assert len(hours) == 3
    merged = hours[("i-1", tags_hash({"team": "a", "env": "prod"}))]
    assert merged.billed_nanos == 3_000_000_000
    assert merged.records == 2
    assert merged.tags == {"team": "a", "env": "prod"}
    assert hours[("", tags_hash({}))].billed_nanos == 8_000_000_000
    assert totals(incs, "day")[0] == totals(incs, "hour")[0] == 15_000_000_000


def test_tags_hash_is_stable_and_order_free() -> None:
    a = tags_hash({"team": "a", "env": "prod"})
    assert a == tags_hash({"env": "prod", "team": "a"})
    assert a != tags_hash({"team": "a", "env": "dev"})
    assert a != tags_hash({"team": "aenv", "": "prod"})
    assert len(a) == 32  # fits cost_rollups.tags_hash
    assert tags_hash({}) == tags_hash({})


def test_many_records_reconcile_in_aggregate() -> None:
    recs = []
    expected = 0
    for i in range(500):
        start = T0 + timedelta(minutes=37 * i)
        amount = Decimal(i * 7919) / Decimal(1_000_003)
        recs.append(record(f"r{i}", start, start + timedelta(minutes=1 + (i * 13) % 3000), str(amount)))
        expected += to_nanos(amount)
    incs = rollup_increments(recs)
    per_grain: dict[str, int] = defaultdict(int)
    for key, inc in incs.items():
        per_grain[key.grain] += inc.billed_nanos
    assert per_grain == {"hour": expected, "day": expected}


def test_rollup_key_hash_identifies_the_whole_key() -> None:
    key = next(iter(rollup_increments([record("a", T0, T0 + timedelta(hours=1), "1", tags={"team": "x"})])))
    digest = rollup_key_hash(key)
    assert len(digest) == 16
    assert rollup_key_hash(tuple(key)) == digest  # a plain tuple, as read back from the store
    hasher = RollupKeyHasher()  # the cached prefix must not change the result
    assert hasher(key) == digest and hasher(key._replace(grain="day")) == rollup_key_hash(key._replace(grain="day"))
    # Every field counts, and a character moved across a field boundary is a different key.
    changed = [key._replace(**{field: f"{value}x"}) for field, value in key._asdict().items() if isinstance(value, str)]
    changed.append(key._replace(period_start=key.period_start + timedelta(hours=1)))
    changed.append(key._replace(region=key.region + "a", service=key.service[1:]))
    changed.append(key._replace(region=key.region + key.service[0], service=key.service[1:]))
    digests = {rollup_key_hash(k) for k in changed}
    assert len(digests) == len(changed) and digest not in digests
