"""Generator restarts: across any sequence of runs, every (series, minute) is costed exactly once.

Runs are simulated with a clock we set: each run does what `run_live` does (start state, backfill windows,
then live minutes) into a dict keyed by record id, which is how the ledger deduplicates.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from outlay.events import UsageRecord
from services.ingest.live import coverage
from services.ingest.live.coverage import Coverage, at_start, backfill_windows
from services.ingest.live.generator import CompanyProfile, generate
from services.ingest.live.profiles import demo_company

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
DAY0 = datetime(2026, 6, 1, tzinfo=UTC)

Ledger = dict[str, UsageRecord]


@pytest.fixture(scope="module")
def profile() -> CompanyProfile:
    full = demo_company(seed=11)
    return dataclasses.replace(full, services=tuple(s for s in full.services if s.name in ("assets", "lake")))


def _run(
    profile: CompanyProfile,
    previous: Coverage | None,
    start: datetime,
    end: datetime,
    ledger: Ledger,
    days: int = 1,
    max_gap: timedelta = coverage.DEFAULT_MAX_GAP,
) -> tuple[Coverage, int]:
    """One run from `start` (clock) to `end` (exclusive last live minute), as `run_live` drives it; the state
    goes through its file format each time, as it would on disk. Returns the state and how many minute
    records the start sent (the catch-up)."""
    step = profile.history_minutes
    cov = at_start(coverage.loads(coverage.dumps(previous)) if previous else None, start, step, max_gap)
    caught_up = 0
    for w in backfill_windows(cov, start, days, step):
        records = list(generate(profile, w.start, w.end, w.minutes))
        ledger.update((r.record_id, r) for r in records)
        if w.catch_up:
            caught_up += len(records)
            cov = cov.emitted(w.start, w.end)
    minute = start
    while minute < end:
        cov = cov.cover(minute, step)
        if cov.is_minute(minute):
            ledger.update((r.record_id, r) for r in generate(profile, minute, minute + MINUTE))
        cov = cov.emitted(minute, minute + MINUTE)
        minute += MINUTE
    return coverage.loads(coverage.dumps(cov)), caught_up


def _coverage_counts(ledger: Ledger) -> Counter[tuple[str, datetime]]:
    counts: Counter[tuple[str, datetime]] = Counter()
    for r in ledger.values():
        minute = r.charge_period_start
        while minute < r.charge_period_end:
            counts[(r.resource_id or "", minute)] += 1
            minute += MINUTE
    return counts


def _assert_once(profile: CompanyProfile, ledger: Ledger, start: datetime, end: datetime) -> None:
    """Every series has exactly one record covering each minute of [start, end), and nothing counts twice."""
    counts = _coverage_counts(ledger)
    assert max(counts.values()) == 1, [k for k, n in counts.items() if n > 1][:5]
    missing = [
        (s.resource_id, start + i * MINUTE)
        for s in profile.series()
        for i in range(int((end - start) / MINUTE))
        if counts[(s.resource_id, start + i * MINUTE)] != 1
    ]
    assert not missing, missing[:5]


def _true_hour_cost(profile: CompanyProfile, cov: Coverage, hour: datetime) -> Decimal:
    """What the generator says the hour costs, at the granularity the state assigns it."""
    minutes = 1 if cov.is_minute(hour) else profile.history_minutes
    return sum((r.billed_cost for r in generate(profile, hour, hour + HOUR, minutes)), Decimal(0))


def _ledger_hour_cost(ledger: Ledger, hour: datetime) -> Decimal:
    return sum((r.billed_cost for r in ledger.values() if hour <= r.charge_period_start < hour + HOUR), Decimal(0))


def test_restart_after_streaming_does_not_count_streamed_hours_again(profile: CompanyProfile) -> None:
    # The reviewer's case: stream 10:30 -> 12:45, restart at 13:10.
    ledger: Ledger = {}
    first, _ = _run(
        profile, None, DAY0 + timedelta(hours=10, minutes=30), DAY0 + timedelta(hours=12, minutes=45), ledger
    )
    second, _ = _run(
        profile, first, DAY0 + timedelta(hours=13, minutes=10), DAY0 + timedelta(hours=13, minutes=20), ledger
    )

    _assert_once(
        profile, ledger, DAY0 + timedelta(hours=10) - timedelta(days=1), DAY0 + timedelta(hours=13, minutes=20)
    )
    window = [DAY0 + timedelta(hours=h) for h in (10, 11, 12)]
    minute_cost = sum((r.billed_cost for r in generate(profile, window[0], window[-1] + HOUR)), Decimal(0))
    assert sum(_ledger_hour_cost(ledger, h) for h in window) == minute_cost  # not minutes + hours
    assert not any(r.minutes == 60 and r.charge_period_start >= window[0] for r in ledger.values())
    for hour in [DAY0 + timedelta(hours=h) for h in range(-14, 13)]:
        assert _ledger_hour_cost(ledger, hour) == _true_hour_cost(profile, second, hour) > 0


def test_a_short_outage_is_caught_up_minute_by_minute(profile: CompanyProfile) -> None:
    ledger: Ledger = {}
    first, _ = _run(profile, None, DAY0 + timedelta(hours=9, minutes=5), DAY0 + timedelta(hours=9, minutes=50), ledger)
    restart = DAY0 + timedelta(hours=30, minutes=7)  # 20 h later, within the 2-day catch-up
    second, backfilled = _run(profile, first, restart, restart + timedelta(minutes=3), ledger)

    _assert_once(profile, ledger, DAY0 + timedelta(hours=9) - timedelta(days=1), restart + timedelta(minutes=3))
    assert second.spans == ((DAY0 + timedelta(hours=9), DAY0 + timedelta(hours=31)),)
    gap = [r for r in ledger.values() if DAY0 + timedelta(hours=10) <= r.charge_period_start < restart]
    assert gap and all(r.minutes == 1 for r in gap)
    assert backfilled == len(profile.series()) * int((restart - (DAY0 + timedelta(hours=9, minutes=50))) / MINUTE)


def test_a_long_outage_becomes_history_and_catch_up_stays_bounded(profile: CompanyProfile) -> None:
    ledger: Ledger = {}
    first, _ = _run(
        profile, None, DAY0 + timedelta(hours=9, minutes=5), DAY0 + timedelta(hours=9, minutes=50), ledger, days=7
    )
    restart = DAY0 + timedelta(days=5, hours=3, minutes=20)
    second, backfilled = _run(profile, first, restart, restart + timedelta(minutes=5), ledger, days=7)

    _assert_once(profile, ledger, DAY0 + timedelta(hours=9) - timedelta(days=7), restart + timedelta(minutes=5))
    assert second.spans == (
        (DAY0 + timedelta(hours=9), DAY0 + timedelta(hours=10)),
        (DAY0 + timedelta(days=5, hours=3), DAY0 + timedelta(days=5, hours=4)),
    )
    # Minutes sent on restart: the first span's unsent 10 minutes and the 20 of the new span's hour only.
    assert backfilled == len(profile.series()) * 30
    assert second.done == restart + timedelta(minutes=5)  # past the history between the spans
    third, backfilled = _run(
        profile, second, restart + timedelta(minutes=45), restart + timedelta(minutes=46), ledger, days=7
    )
    assert backfilled == len(profile.series()) * 40  # only the 40 minutes missed, not the whole span again
    for hour in [DAY0 + timedelta(hours=h) for h in range(-24, 5 * 24 + 3)]:
        assert _ledger_hour_cost(ledger, hour) == _true_hour_cost(profile, second, hour) > 0


def test_an_outage_longer_than_the_backfill_leaves_old_time_empty_never_doubled(profile: CompanyProfile) -> None:
    ledger: Ledger = {}
    first, _ = _run(profile, None, DAY0 + timedelta(hours=9, minutes=5), DAY0 + timedelta(hours=9, minutes=50), ledger)
    restart = DAY0 + timedelta(days=5, hours=3, minutes=20)
    _run(profile, first, restart, restart + timedelta(minutes=5), ledger, days=1)
    counts = _coverage_counts(ledger)
    assert max(counts.values()) == 1
    _assert_once(profile, ledger, restart.replace(minute=0) - timedelta(days=1), restart + timedelta(minutes=5))
    assert not any(DAY0 + timedelta(hours=10) <= m < restart - timedelta(days=1, hours=1) for _, m in counts)


def test_a_clock_gone_back_skips_history_minutes(profile: CompanyProfile) -> None:
    ledger: Ledger = {}
    first, _ = _run(profile, None, DAY0 + timedelta(hours=12), DAY0 + timedelta(hours=14, minutes=30), ledger)
    # A demo run with a sped-up clock got ahead of real time; the restart is at real time, 11:20.
    _run(profile, first, DAY0 + timedelta(hours=11, minutes=20), DAY0 + timedelta(hours=12, minutes=10), ledger)
    _assert_once(
        profile, ledger, DAY0 + timedelta(hours=12) - timedelta(days=1), DAY0 + timedelta(hours=14, minutes=30)
    )


def test_a_crash_before_saving_progress_only_resends_the_same_records(profile: CompanyProfile) -> None:
    ledger: Ledger = {}
    first, _ = _run(
        profile, None, DAY0 + timedelta(hours=8, minutes=40), DAY0 + timedelta(hours=11, minutes=15), ledger
    )
    stale = dataclasses.replace(first, done=DAY0 + timedelta(hours=9, minutes=3))  # last saves of `done` lost
    before = len(ledger)
    _, backfilled = _run(
        profile, stale, DAY0 + timedelta(hours=11, minutes=30), DAY0 + timedelta(hours=11, minutes=31), ledger
    )
    assert backfilled > 0 and len(ledger) - before < backfilled  # re-sent records were duplicates
    _assert_once(profile, ledger, DAY0 + timedelta(hours=8) - timedelta(days=1), DAY0 + timedelta(hours=11, minutes=31))


def test_random_restart_sequences(profile: CompanyProfile) -> None:
    rng = random.Random(5)
    for _ in range(4):
        ledger: Ledger = {}
        cov: Coverage | None = None
        clock = DAY0 + timedelta(minutes=rng.randrange(1440))
        first = clock
        for _ in range(5):
            end = clock + timedelta(minutes=rng.randrange(0, 90))
            cov, _ = _run(profile, cov, clock, end, ledger, max_gap=timedelta(hours=6))
            last = end
            clock = end + timedelta(minutes=rng.choice([0, 3, 61, 7 * 60, 30 * 60]))
        assert cov is not None
        counts = _coverage_counts(ledger)
        assert max(counts.values()) == 1
        _assert_once(profile, ledger, first.replace(minute=0) - timedelta(days=1), first)
        _assert_once(profile, ledger, last.replace(minute=0) - timedelta(days=1), last)


def test_state_file_round_trip_and_corruption(tmp_path: Path) -> None:
    path = coverage.state_file(tmp_path, 11)
    assert path.name == "generator-11.anchor" and coverage.load(path) is None
    cov = at_start(None, DAY0 + timedelta(hours=10, minutes=30), 60)
    coverage.save(path, cov)
    assert (
        coverage.load(path)
        == cov
        == Coverage(((DAY0 + timedelta(hours=10), DAY0 + timedelta(hours=11)),), DAY0 + timedelta(hours=10))
    )
    path.write_text('{"version": 1, "spans": [], "done": "2026-06-01T00:00:00+00:00"}')
    with pytest.raises(ValueError, match="no valid minute spans"):
        coverage.load(path)
    path.write_text("not json")
    with pytest.raises(ValueError):
        coverage.load(path)
