"""Entrypoint of the live sources: backfill (generator), then one minute of usage every minute.

Minutes are aligned to the clock: the records for [12:04, 12:05) go out once the clock passes 12:05. The
wait is on the stop event with a timeout, so a stop request ends the loop at once. `speedup` runs a
simulated clock that many times faster than real time (demos and tests): with speedup=600 a minute lasts
0.1 s. If a pass falls behind, the missed minutes are emitted back to back, so no minute is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Literal

from pydantic import BaseModel

from outlay import telemetry
from outlay.kafka.producer import EventProducer
from outlay.pricing import PriceCatalogue
from outlay.settings import Settings, get_settings
from services.ingest.live.generator import CompanyProfile, generate, labels
from services.ingest.live.metering import Inventory, meter_pass
from services.ingest.live.profiles import demo_company

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MINUTE = timedelta(minutes=1)
_CHUNK = 5000  # events per send_many during backfill: bounded memory, and a chance to stop between chunks
# CloudWatch publishes a minute's datapoints a few minutes late; asking for an older minute finds them.
DEFAULT_METRICS_LAG_MINUTES = 5


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
    dead_letters: int = 0
    samples: int = 0
    last_minute: datetime | None = None


def floor_minute(when: datetime) -> datetime:
    return when.replace(second=0, microsecond=0)


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
) -> LiveStats:
    """Run a live source until `stop` is set. Returns (and updates in place, if given) the counts."""
    if source not in ("generator", "metering"):
        raise ValueError(f"unknown live source {source!r} (generator | metering)")
    stats = stats if stats is not None else LiveStats()
    sim = SimClock(clock, speedup)
    catalogue = catalogue or PriceCatalogue.load()
    current = floor_minute(sim.now())

    if source == "generator":
        profile = profile or demo_company(catalogue=catalogue)
        if backfill_days > 0:
            stats.backfilled = await _backfill(producer, profile, current, backfill_days, stop)
    else:
        if inventory is None:
            from services.ingest.live.aws import AwsInventory

            settings = get_settings()
            inventory = AwsInventory(metering_regions(settings), endpoint_url=settings.aws_endpoint_url)

    while not await _wait(stop, sim.wall_seconds_until(current + MINUTE)):
        if source == "generator":
            assert profile is not None
            count = await _send(producer, generate(profile, current, current + MINUTE), stop, counted=True)
            stats.records += count
        else:
            assert inventory is not None
            result = await asyncio.to_thread(
                meter_pass, inventory, catalogue, current, billing_account_id,
                current - timedelta(minutes=metrics_lag_minutes),
            )  # fmt: skip
            await _send(producer, [*result.records, *result.dead_letters, *result.samples], stop)
            stats.records += len(result.records)
            stats.dead_letters += len(result.dead_letters)
            stats.samples += len(result.samples)
            telemetry.count_live_records("metering", len(result.records))
            telemetry.count_dead_letters("metering", len(result.dead_letters))
            if result.dead_letters:
                log.warning("metering %s: %d resources without a price", current, len(result.dead_letters))
        stats.minutes += 1
        stats.last_minute = current
        current += MINUTE
    return stats


async def _backfill(
    producer: EventProducer, profile: CompanyProfile, now_minute: datetime, days: int, stop: asyncio.Event
) -> int:
    """History at the profile's history granularity up to the last whole bucket, then minutes up to now."""
    step = profile.history_minutes
    midnight = now_minute.replace(hour=0, minute=0)
    elapsed = int((now_minute - midnight).total_seconds() // 60)
    boundary = midnight + timedelta(minutes=elapsed - elapsed % step)
    start = boundary - timedelta(days=days)
    sent = await _send(producer, generate(profile, start, boundary, step), stop, counted=True)
    sent += await _send(producer, generate(profile, boundary, now_minute, profile.live_minutes), stop, counted=True)
    injected = labels(profile, start, now_minute)
    log.info("backfilled %d records from %s to %s (%d labelled anomalies)", sent, start, now_minute, len(injected))
    return sent
