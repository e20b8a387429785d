"""Entrypoint of the live sources: backfill (generator), then one minute of usage every minute.

Minutes are aligned to the clock: the records for [12:04, 12:05) go out once the clock passes 12:05. The
wait is on the stop event with a timeout, so a stop request ends the loop at once. `speedup` runs a
simulated clock that many times faster than real time (demos and tests): with speedup=600 a minute lasts
0.1 s. If a pass falls behind, the missed minutes are emitted back to back, so no minute is skipped.

Generator restarts: which time is history (hourly records) and which is minutes is kept in
`<state_dir>/generator-<seed>.anchor` (see `coverage`), so a restart re-sends the same records (deduplicated
by the ledger) instead of hourly records for hours already streamed as minutes. Without a state directory
every run starts afresh (tests, one-off demos).

Tenant: everything a live source produces belongs to `tenant_id` (`OUTLAY_TENANT` under `outlay run` and
`outlay services run generator|metering`).

Metering: a pass that fails on AWS (throttling, a dropped connection, an expired token) is logged and
counted and the next minute tries again; a resource without a price is dead-lettered once per process (the
repeats are still counted in `LiveStats.unpriced`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from outlay import telemetry
from outlay.kafka.producer import EventProducer
from outlay.pricing import PriceCatalogue
from outlay.settings import Settings, get_settings
from outlay.spread import Grain, floor_to
from outlay.tenancy import DEFAULT_TENANT, checked_tenant
from services.ingest.live import coverage
from services.ingest.live.coverage import DEFAULT_MAX_GAP, Coverage, CoverageFile
from services.ingest.live.generator import CompanyProfile, DeployLabel, deploys, generate, labels
from services.ingest.live.metering import DeadLetterOnce, Inventory, meter_pass
from services.ingest.live.profiles import demo_company

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
DeployReporter = Callable[[list[DeployLabel]], Awaitable[None]]
MINUTE = timedelta(minutes=1)
_CHUNK = 5000  # events per send_many during backfill: bounded memory, and a chance to stop between chunks
# CloudWatch publishes a minute's datapoints a few minutes late; asking for an older minute finds them.
DEFAULT_METRICS_LAG_MINUTES = 5
# What a metering pass may fail with and still be worth retrying next minute: botocore's own errors
# (connection, timeout, credentials), AWS error responses (throttling, 5xx) and socket errors.
_PASS_ERRORS = (BotoCoreError, ClientError, OSError)


def utc_now() -> datetime:
    return datetime.now(UTC)


class SimClock:
    """Time that starts at `clock()` and runs `speedup` times faster than the monotonic clock."""

    def __init__(self, clock: Clock = utc_now, speedup: float = 1.0) -> None:
        if speedup <= 0:
            raise ValueError("speedup must be positive")
        self.speedup = speedup
        self._origin = clock()
        self._mono = time.monotonic()

    def now(self) -> datetime:
        return self._origin + timedelta(seconds=(time.monotonic() - self._mono) * self.speedup)

    def wall_seconds_until(self, when: datetime) -> float:
        return max(0.0, (when - self.now()).total_seconds() / self.speedup)


@dataclass
class LiveStats:
    backfilled: int = 0
    minutes: int = 0
    records: int = 0
    dead_letters: int = 0  # dead letters published (each unpriced resource and reason once)
    unpriced: int = 0  # resource-minutes without a price, repeats included
    samples: int = 0
    errors: int = 0  # metering passes that failed (the loop carried on)
    last_minute: datetime | None = None


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds`; True if stop was set meanwhile."""
    if stop.is_set():
        return True
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


async def _send(
    producer: EventProducer, events: Iterable[BaseModel], stop: asyncio.Event, counted: bool = False
) -> int:
    """Send in chunks; `counted`: the events are generator records, counted per chunk as they go out."""
    sent = 0
    it = iter(events)
    while chunk := list(islice(it, _CHUNK)):
        delivered = await producer.send_many(chunk)
        sent += delivered
        if counted:
            telemetry.count_live_records("generator", delivered)
        if stop.is_set():
            break
    return sent


def metering_regions(settings: Settings) -> list[str]:
    regions = [r.strip() for r in settings.metering_regions.split(",") if r.strip()]
    return regions or [settings.aws_region]


async def run_live(
    producer: EventProducer,
    source: Literal["generator", "metering"] | str,
    stop: asyncio.Event,
    backfill_days: int = 30,
    clock: Clock = utc_now,
    speedup: float = 1.0,
    profile: CompanyProfile | None = None,
    inventory: Inventory | None = None,
    catalogue: PriceCatalogue | None = None,
    billing_account_id: str | None = None,
    metrics_lag_minutes: int = DEFAULT_METRICS_LAG_MINUTES,
    stats: LiveStats | None = None,
    state_dir: Path | None = None,
    max_catchup: timedelta = DEFAULT_MAX_GAP,
    tenant_id: str = DEFAULT_TENANT,
    on_deploys: DeployReporter | None = None,
) -> LiveStats:
    """Run a live source until `stop` is set. Returns (and updates in place, if given) the counts.

    `on_deploys`: told of the generator's deploys (those of the backfilled history, then each minute's), as a
    company's CD pipeline reports them to `POST /v1/deployments`; a failure there is logged, never stops the stream.

    `state_dir`: where the generator keeps which time it emitted as minutes, so restarts never count time
    twice (None: memory only). `max_catchup`: the longest outage a restart catches up minute by minute;
    after a longer one the missed hours are emitted as history (see `coverage`). `tenant_id`: the tenant every
    record and sample belongs to."""
    if source not in ("generator", "metering"):
        raise ValueError(f"unknown live source {source!r} (generator | metering)")
    checked_tenant(tenant_id)
    stats = stats if stats is not None else LiveStats()
    sim = SimClock(clock, speedup)
    catalogue = catalogue or PriceCatalogue.load()
    current = floor_to(sim.now(), Grain.MINUTE)
    once = DeadLetterOnce()

    state: CoverageFile | None = None
    cov: Coverage | None = None
    if source == "generator":
        profile = profile or demo_company(catalogue=catalogue)
        state = CoverageFile(coverage.state_file(state_dir, profile.seed, tenant_id) if state_dir else None)
        # Persisted before anything is sent: the spans decide every record's granularity (write-ahead).
        cov = state.put(coverage.at_start(state.load(), current, profile.history_minutes, max_catchup))
        stats.backfilled, cov = await _backfill(producer, profile, cov, state, current, backfill_days, stop, tenant_id)
        await _report_deploys(on_deploys, profile, current - timedelta(days=backfill_days), current)
    else:
        if inventory is None:
            from outlay.aws.inventory import AwsInventory

            settings = get_settings()
            inventory = AwsInventory(metering_regions(settings), endpoint_url=settings.aws_endpoint_url)

    while not await _wait(stop, sim.wall_seconds_until(current + MINUTE)):
        if source == "generator":
            assert profile is not None and state is not None and cov is not None
            cov = state.put(cov.cover(current, profile.history_minutes))
            records = (
                list(generate(profile, current, current + MINUTE, tenant_id=tenant_id))
                if cov.is_minute(current)
                else []
            )
            # (no records: a clock gone back landed on history, which the hour record covers)
            count = await _send(producer, records, stop, counted=True)
            stats.records += count
            if count < len(records):  # stopped halfway: the next run sends this minute again
                break
            cov = state.put(cov.emitted(current, current + MINUTE))
            await _report_deploys(on_deploys, profile, current, current + MINUTE)
        else:
            assert inventory is not None
            await _meter(producer, inventory, catalogue, current, billing_account_id, metrics_lag_minutes,
                         once, stats, stop, tenant_id)  # fmt: skip
        stats.minutes += 1
        stats.last_minute = current
        current += MINUTE
    return stats


async def _report_deploys(
    on_deploys: DeployReporter | None, profile: CompanyProfile, start: datetime, end: datetime
) -> None:
    if on_deploys is None or start >= end:
        return
    found = deploys(profile, start, end)
    if not found:
        return
    try:
        await on_deploys(found)
    except Exception:  # the store may be down: deploy markers are a nicety, the usage stream is not
        log.warning("could not report %d deploys", len(found), exc_info=True)


async def _meter(
    producer: EventProducer,
    inventory: Inventory,
    catalogue: PriceCatalogue,
    minute: datetime,
    billing_account_id: str | None,
    metrics_lag_minutes: int,
    once: DeadLetterOnce,
    stats: LiveStats,
    stop: asyncio.Event,
    tenant_id: str = DEFAULT_TENANT,
) -> None:
    """One metering pass. An AWS failure loses this minute's records, not the process: the launcher stops
    the whole platform when a service exits."""
    try:
        result = await asyncio.to_thread(
            meter_pass, inventory, catalogue, minute, billing_account_id,
            minute - timedelta(minutes=metrics_lag_minutes), tenant_id,
        )  # fmt: skip
    except _PASS_ERRORS as exc:
        stats.errors += 1
        log.warning("metering %s failed (%d failed passes so far), retrying next minute: %s", minute, stats.errors, exc)
        return
    fresh = once.first_time(result.dead_letters)
    await _send(producer, [*result.records, *fresh, *result.samples], stop)
    stats.records += len(result.records)
    stats.unpriced += len(result.dead_letters)
    stats.dead_letters += len(fresh)
    stats.samples += len(result.samples)
    telemetry.count_live_records("metering", len(result.records))
    telemetry.count_dead_letters("metering", len(fresh))
    if fresh:
        log.warning("metering %s: %d more resources without a price (dead-lettered once)", minute, len(fresh))


async def _backfill(
    producer: EventProducer,
    profile: CompanyProfile,
    cov: Coverage,
    state: CoverageFile,
    now_minute: datetime,
    days: int,
    stop: asyncio.Event,
    tenant_id: str = DEFAULT_TENANT,
) -> tuple[int, Coverage]:
    """History and catch-up (see `coverage.backfill_windows`); returns the records sent and the state."""
    sent = 0
    for window in coverage.backfill_windows(cov, now_minute, days, profile.history_minutes, profile.live_minutes):
        records = generate(profile, window.start, window.end, window.minutes, tenant_id)
        sent += await _send(producer, records, stop, counted=True)
        if stop.is_set():  # maybe halfway through the window: the next run sends it again
            return sent, cov
        if window.catch_up:
            cov = state.put(cov.emitted(window.start, window.end))
    start = coverage.floor_to(now_minute, profile.history_minutes) - timedelta(days=days)
    injected = labels(profile, start, now_minute) if days > 0 else []
    log.info("backfilled %d records from %s to %s (%d labelled anomalies)", sent, start, now_minute, len(injected))
    return sent, cov
