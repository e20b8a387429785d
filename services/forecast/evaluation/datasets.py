"""The real series the forecast backtests run on, read from the shared datasets folder (`../shared/data`).

- WorkshopCUR daily cost: the bill's total and its cost per service (`forecasting/`, derived from the
  WorkshopCUR parquet by summing unblended cost per UTC day).
- NAB realAWSCloudwatch: 17 CloudWatch metrics at 5-minute steps over about two weeks, averaged per UTC day
  (only whole days: the first and last days of a file are partial and dropped) or per hour.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from services.forecast.models.history import SeriesBatch, Step, daily_batch

WORKSHOP = Path("forecasting")
NAB_AWS = Path("nab") / "data" / "realAWSCloudwatch"
SAMPLES_PER_DAY = 288  # 5-minute samples
SAMPLES_PER_HOUR = 12


def workshop_total(data: Path) -> SeriesBatch:
    with (data / WORKSHOP / "workshop_cur_daily_cost_total.csv").open() as f:
        days = {date.fromisoformat(r["date"]): float(r["unblended_cost_usd"]) for r in csv.DictReader(f)}
    return daily_batch({"workshop total": days})


def workshop_services(data: Path) -> SeriesBatch:
    series: dict[str, dict[date, float]] = defaultdict(dict)
    with (data / WORKSHOP / "workshop_cur_daily_cost_by_service.csv").open() as f:
        for r in csv.DictReader(f):
            series[r["product_code"]][date.fromisoformat(r["date"])] = float(r["unblended_cost_usd"])
    return daily_batch(dict(sorted(series.items())))


def _nab_samples(path: Path) -> list[tuple[datetime, float]]:
    with path.open() as f:
        return [
            (datetime.fromisoformat(r["timestamp"]).replace(tzinfo=UTC), float(r["value"])) for r in csv.DictReader(f)
        ]


def nab_daily(data: Path) -> SeriesBatch:
    """Daily means of each NAB AWS series over its whole days, every series on its own calendar aligned to end
    on the same index (their dates differ; the models only need the periods in order and the weekday slot)."""
    series: dict[str, list[float]] = {}
    for path in sorted((data / NAB_AWS).glob("*.csv")):
        by_day: dict[date, list[float]] = defaultdict(list)
        for at, value in _nab_samples(path):
            by_day[at.date()].append(value)
        whole = [float(np.mean(v)) for _, v in sorted(by_day.items()) if len(v) >= 0.9 * SAMPLES_PER_DAY]
        series[path.stem] = whole
    return _aligned(series, Step.DAY)


def nab_hourly(data: Path) -> SeriesBatch:
    series: dict[str, list[float]] = {}
    for path in sorted((data / NAB_AWS).glob("*.csv")):
        by_hour: dict[datetime, list[float]] = defaultdict(list)
        for at, value in _nab_samples(path):
            by_hour[at.replace(minute=0, second=0)].append(value)
        series[path.stem] = [float(np.mean(v)) for _, v in sorted(by_hour.items()) if len(v) >= SAMPLES_PER_HOUR - 2]
    return _aligned(series, Step.HOUR)


def _aligned(series: dict[str, list[float]], step: Step) -> SeriesBatch:
    """Right-aligned rows (NaN before a shorter series starts) on a nominal calendar inside one month, so no
    period falls on a month start (the files' own dates differ, and two weeks hold no month-start charge)."""
    longest = max(len(v) for v in series.values())
    values = np.full((len(series), longest), np.nan)
    for row, v in enumerate(series.values()):
        values[row, longest - len(v) :] = v
    start = datetime(2014, 1, 2, tzinfo=UTC)
    return SeriesBatch(list(series), values, start, step)
