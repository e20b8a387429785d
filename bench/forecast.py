"""`make bench-forecast`: rolling-origin backtests of Outlay's forecaster, seasonal naive and the statistical
peer (statsforecast AutoETS) on real series, side by side in one run, then the 10,000-series speed run.

Series groups (docs/forecast.md): the WorkshopCUR bill's daily total and its daily cost per service (horizons
7 and 30 days, origins from day 28 on), the NAB AWS CloudWatch series as daily means (horizon 7; they span two
weeks, so 30 days ahead cannot be scored) and as hourly means (horizon 24 hours, every 12th hour from the
first week on). Prints a table, then one JSON line with the figures.
"""

from __future__ import annotations

import json
import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.forecast_synthetic import synthetic_costs
from services.forecast.evaluation import datasets
from services.forecast.evaluation.backtest import (
    Method,
    Scores,
    nan_median,
    outlay_method,
    rolling_origin,
    seasonal_naive_method,
)
from services.forecast.models.forecaster import forecast
from services.forecast.models.history import SeriesBatch

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("OUTLAY_SHARED_DATA", ROOT.parent / "shared" / "data"))
SPEED_SERIES = 10_000
SPEED_DAYS = 365
SPEED_HORIZON = 30
PEER_SPEED_SAMPLE = int(os.environ.get("OUTLAY_BENCH_PEER_SAMPLE", "300"))
console = Console(width=160)


@dataclass(frozen=True)
class Group:
    name: str
    batch: SeriesBatch
    horizons: tuple[int, ...]
    first_origin: int
    stride: int = 1


def groups() -> list[Group]:
    return [
        Group("WorkshopCUR total", datasets.workshop_total(DATA), (7, 30), 28),
        Group("WorkshopCUR per service", datasets.workshop_services(DATA), (7, 30), 28),
        Group("NAB AWS daily", datasets.nab_daily(DATA), (7,), 7),
        Group("NAB AWS hourly", datasets.nab_hourly(DATA), (24,), 168, stride=12),
    ]


def methods() -> dict[str, Method]:
    from bench.forecast_peer import autoets

    return {"outlay": outlay_method, "seasonal naive": seasonal_naive_method, "peer": autoets}


def accuracy() -> dict[tuple[str, int], dict[str, Scores]]:
    results = {}
    for group in groups():
        for horizon in group.horizons:
            console.print(f"backtest: {group.name}, horizon {horizon}…")
            results[(group.name, horizon)] = rolling_origin(
                group.batch, horizon, methods(), group.first_origin, group.stride
            )
    return results


def speed() -> dict[str, float]:
    from bench.forecast_peer import autoets

    batch = synthetic_costs(SPEED_SERIES, SPEED_DAYS)
    console.print(f"speed: Outlay on {SPEED_SERIES} series × {SPEED_DAYS} days, {SPEED_HORIZON} days ahead…")
    t0 = time.perf_counter()
    forecast(batch, SPEED_HORIZON)
    ours = time.perf_counter() - t0
    sample = SeriesBatch(batch.ids[:PEER_SPEED_SAMPLE], batch.values[:PEER_SPEED_SAMPLE], batch.start, batch.step)
    console.print(f"speed: peer AutoETS batch call (n_jobs=2) on {PEER_SPEED_SAMPLE} of them…")
    t0 = time.perf_counter()
    autoets(sample, SPEED_HORIZON, n_jobs=2)
    peer_sample = time.perf_counter() - t0
    t0 = time.perf_counter()
    forecast(sample, SPEED_HORIZON)
    ours_sample = time.perf_counter() - t0
    return {
        "seconds_10k_series": ours,
        "series_per_s": SPEED_SERIES / ours,
        "peer_sample_seconds": peer_sample,
        "peer_seconds_10k_series": peer_sample * SPEED_SERIES / PEER_SPEED_SAMPLE,
        "peer_series_per_s": PEER_SPEED_SAMPLE / peer_sample,
        "ours_sample_seconds": ours_sample,
    }


def main() -> None:
    if not (DATA / "forecasting").is_dir():
        console.print(f"shared data not found at {DATA}; set OUTLAY_SHARED_DATA")
        raise SystemExit(2)
    results = accuracy()
    table = Table(title="bench-forecast: rolling-origin backtests (Outlay / seasonal naive / AutoETS peer)")
    for col in ("series group", "h", "windows", "MASE", "sMAPE %", "total err (median)", "regular", "cov80"):
        table.add_column(col)
    ratios_snaive, ratios_peer = [], []
    for (name, horizon), scores in results.items():
        o, s, p = scores["outlay"], scores["seasonal naive"], scores["peer"]
        ratios_snaive.append(o.mean_mase() / s.mean_mase())
        ratios_peer.append(o.mean_mase() / p.mean_mase())
        table.add_row(
            name,
            str(horizon),
            str(o.windows()),
            " / ".join(f"{x.mean_mase():.3f}" for x in (o, s, p)),
            " / ".join(f"{x.mean_smape():.1f}" for x in (o, s, p)),
            " / ".join(f"{x.median_total_error():.3f}" for x in (o, s, p)),
            f"{int(np.sum(~np.isnan(o.total_errors(True))))}: "
            + " / ".join(f"{x.median_total_error(True):.3f}" for x in (o, s, p)),
            f"{o.mean_coverage80():.3f} / - / {p.mean_coverage80():.3f}",
        )
    console.print(table)
    thirty = [scores for (_, horizon), scores in results.items() if horizon == 30]
    total30 = {
        m: nan_median(np.concatenate([sc[m].total_errors(regular_only=True) for sc in thirty])) for m in thirty[0]
    }
    coverage = {
        m: float(np.nanmean(np.concatenate([sc[m].coverages80() for sc in results.values()])))
        for m in ("outlay", "peer")
    }
    console.print(f"30-day total error, median over regular windows: {total30}")
    console.print(f"80% interval coverage over every window: {coverage}")
    figures = speed()
    console.print(
        f"speed: Outlay {figures['seconds_10k_series']:.1f} s for {SPEED_SERIES} series "
        f"({figures['series_per_s']:,.0f} series/s); peer {figures['peer_series_per_s']:.1f} series/s on "
        f"{PEER_SPEED_SAMPLE} series, so ~{figures['peer_seconds_10k_series']:.0f} s for {SPEED_SERIES}"
    )
    print(
        json.dumps(
            {
                "total30_error_median": round(total30["outlay"], 4),
                "total30_error_median_snaive": round(total30["seasonal naive"], 4),
                "total30_error_median_peer": round(total30["peer"], 4),
                "mase_ratio_vs_snaive": round(max(ratios_snaive), 3),
                "mase_ratio_vs_peer": round(max(ratios_peer), 3),
                "coverage80": round(coverage["outlay"], 3),
                "coverage80_peer": round(coverage["peer"], 3),
                "seconds_10k_series": round(figures["seconds_10k_series"], 2),
                "series_per_s": round(figures["series_per_s"]),
                "peer_seconds_10k_series": round(figures["peer_seconds_10k_series"], 1),
                "peer_seconds_measured_on": PEER_SPEED_SAMPLE,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
