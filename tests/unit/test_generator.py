"""The demo usage generator: deterministic, minute-level, seasonal, with labelled anomalies that show."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from statistics import mean

import pytest

from outlay.events import CostKind, UsageRecord
from services.ingest.live.generator import AnomalyKind, CompanyProfile, generate, labels
from services.ingest.live.profiles import demo_company

START = datetime(2026, 6, 1, tzinfo=UTC)  # a Monday
WEB = "200000000002/us-east-1/web/0"


@pytest.fixture(scope="module")
def profile() -> CompanyProfile:
    return demo_company(seed=7)


@pytest.fixture(scope="module")
def month_hourly(profile: CompanyProfile) -> list[UsageRecord]:
    return list(generate(profile, START, START + timedelta(days=30), 60))


def _by_series(profile: CompanyProfile, records: list[UsageRecord]) -> dict[str, dict[datetime, Decimal]]:
    series_of = {s.resource_id: s.series_id for s in profile.series()}
    out: dict[str, dict[datetime, Decimal]] = defaultdict(dict)
    for r in records:
        out[series_of[r.resource_id or ""]][r.charge_period_start] = r.billed_cost
    return out


def test_minute_records_are_one_minute_estimated_and_exact(profile: CompanyProfile) -> None:
    records = list(generate(profile, START, START + timedelta(minutes=10)))
    assert len(records) == 10 * len(profile.series())
    for r in records:
        assert r.charge_period_end - r.charge_period_start == timedelta(minutes=1)
        assert (r.cost_kind, r.source) == (CostKind.ESTIMATED, "generator")
        assert r.billed_cost == r.effective_cost == r.list_cost > 0
        assert r.billed_cost.as_tuple().exponent >= -9  # type: ignore[operator]
        assert {"team", "project", "env"} <= r.tags.keys()
    assert len({r.record_id for r in records}) == len(records)


def test_deterministic_and_independent_of_the_window(profile: CompanyProfile) -> None:
    whole = list(generate(profile, START, START + timedelta(minutes=30)))
    again = list(generate(demo_company(seed=7), START, START + timedelta(minutes=30)))
    part = list(generate(profile, START + timedelta(minutes=10), START + timedelta(minutes=20)))
    assert whole == again
    assert part == [
        r for r in whole if START + timedelta(minutes=10) <= r.charge_period_start < START + timedelta(minutes=20)
    ]
    other_seed = list(generate(demo_company(seed=8), START, START + timedelta(minutes=30)))
    assert {r.record_id for r in other_seed}.isdisjoint(r.record_id for r in whole)


def test_windows_snap_to_the_granularity_grid(profile: CompanyProfile) -> None:
    records = list(generate(profile, START + timedelta(minutes=5), START + timedelta(hours=3), 60))
    assert {r.charge_period_start for r in records} == {
        START + timedelta(hours=1),
        START + timedelta(hours=2),
    }
    assert all(r.minutes == 60 for r in records)
    with pytest.raises(ValueError, match="divide a day"):
        list(generate(profile, START, START + timedelta(hours=1), 7))


def test_hourly_history_agrees_with_minute_data(profile: CompanyProfile) -> None:
    day = START + timedelta(days=3)
    minutes = sum((r.billed_cost for r in generate(profile, day, day + timedelta(days=1))), Decimal(0))
    hours = sum((r.billed_cost for r in generate(profile, day, day + timedelta(days=1), 60)), Decimal(0))
    assert abs(hours - minutes) / minutes < Decimal("0.01")


def test_daily_and_weekly_seasonality(profile: CompanyProfile, month_hourly: list[UsageRecord]) -> None:
    web = _by_series(profile, month_hourly)[WEB]
    # Business hours 13:00-17:00 in UTC-5 are 18:00-22:00 UTC; night 01:00-05:00 local is 06:00-10:00 UTC.
    weekday = [t for t in web if t.weekday() < 5]
    business = mean(float(web[t]) for t in weekday if 18 <= t.hour < 22)
    night = mean(float(web[t]) for t in weekday if 6 <= t.hour < 10)
    assert business > 1.5 * night
    weekend = mean(float(c) for t, c in web.items() if t.weekday() >= 5 and t.hour > 6)
    weekdays = mean(float(c) for t, c in web.items() if t.weekday() < 5 and t.hour > 6)
    assert weekend < 0.9 * weekdays


def test_labelled_anomalies_are_present_and_change_the_series(profile: CompanyProfile) -> None:
    end = START + timedelta(days=30)
    found = labels(profile, START, end)
    assert {label.kind for label in found} == set(AnomalyKind)
    assert labels(profile, START, end) == found
    assert all(label.start < end and label.end > START for label in found)

    quiet = dataclasses.replace(profile, anomalies_per_series_30d=0.0)
    assert labels(quiet, START, end) == []
    checked = 0
    for label in found:
        overlapping = [
            o
            for o in found
            if o is not label and o.resource_id == label.resource_id and o.start < label.end and o.end > label.start
        ]
        if label.kind is AnomalyKind.DRIFT or overlapping:
            continue  # drifts ramp (tested below); overlapping anomalies compound
        window_start = max(label.start, START)
        window_end = min(label.end, end)
        noisy = [
            r.billed_cost for r in generate(profile, window_start, window_end) if r.resource_id == label.resource_id
        ]
        clean = [r.billed_cost for r in generate(quiet, window_start, window_end) if r.resource_id == label.resource_id]
        assert len(noisy) == len(clean) == int((window_end - window_start).total_seconds() // 60)
        ratio = float(sum(noisy) / sum(clean))
        assert ratio == pytest.approx(label.magnitude, rel=0.01), label
        checked += 1
    assert checked >= 3


def test_drift_ramps_up_and_stops(profile: CompanyProfile) -> None:
    drift = next(lb for lb in labels(profile, START, START + timedelta(days=60)) if lb.kind is AnomalyKind.DRIFT)
    quiet = dataclasses.replace(profile, anomalies_per_series_30d=0.0)

    def cost(p: CompanyProfile, at: datetime) -> Decimal:
        return next(
            r.billed_cost for r in generate(p, at, at + timedelta(minutes=1)) if r.resource_id == drift.resource_id
        )

    last = drift.end - timedelta(minutes=1)
    assert float(cost(profile, last) / cost(quiet, last)) == pytest.approx(drift.magnitude, rel=0.01)
    early = drift.start + (drift.end - drift.start) / 10
    early = early.replace(second=0, microsecond=0)
    assert 1.0 < float(cost(profile, early) / cost(quiet, early)) < drift.magnitude
    assert cost(profile, drift.end) == cost(quiet, drift.end)


def test_outside_anomalies_the_series_is_untouched(profile: CompanyProfile, month_hourly: list[UsageRecord]) -> None:
    quiet = dataclasses.replace(profile, anomalies_per_series_30d=0.0)
    clean = list(generate(quiet, START, START + timedelta(days=30), 60))
    windows: dict[str | None, list[tuple[datetime, datetime]]] = defaultdict(list)
    for label in labels(profile, START, START + timedelta(days=30)):
        windows[label.resource_id].append((label.start, label.end))
    differ = 0
    for a, b in zip(month_hourly, clean, strict=True):
        assert a.record_id == b.record_id
        hit = any(s < a.charge_period_end and e > a.charge_period_start for s, e in windows[a.resource_id])
        if not hit:
            assert a.billed_cost == b.billed_cost
        elif a.billed_cost != b.billed_cost:
            differ += 1
    assert differ > 0


def test_deploys_shift_the_level(profile: CompanyProfile) -> None:
    no_deploys = dataclasses.replace(profile, deploys_per_series_week=0.0, anomalies_per_series_30d=0.0)
    with_deploys = dataclasses.replace(profile, anomalies_per_series_30d=0.0)
    a = _by_series(profile, list(generate(with_deploys, START, START + timedelta(days=14), 60)))[WEB]
    b = _by_series(profile, list(generate(no_deploys, START, START + timedelta(days=14), 60)))[WEB]
    ratios = {round(float(a[t] / b[t]), 6) for t in a}
    assert len(ratios) >= 3  # several distinct levels over two weeks
    assert all(0.74 < r < 1.31 for r in ratios)


def test_naive_times_are_rejected(profile: CompanyProfile) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        list(generate(profile, datetime(2026, 6, 1), datetime(2026, 6, 2)))
