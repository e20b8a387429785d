"""The forecast service's loop: reforecast every scope at start, on its schedule, and when billed data lands
(the ledger's progress names the cost kinds each commit wrote), at most once per debounce interval; publish each
scope's forecast to `outlay.forecasts.v1`. On-demand forecasts (gRPC) go through `Reforecaster` too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.budgets import Budget, BudgetStatus
from outlay.events import CostKind, LedgerProgress
from outlay.events.forecast import CostForecast
from outlay.events.topics import LEDGER_PROGRESS
from outlay.kafka.producer import EventProducer
from outlay.store.budgets import BudgetStore
from services.forecast.budget_status import AlertTracker, budget_statuses
from services.forecast.scopes import HOURLY_HISTORY_DAYS, ScopeHistory, build_forecasts, hourly_forecasts
from services.forecast.store import daily_history, hourly_history

log = logging.getLogger(__name__)


class Reforecaster:
    """Reads the ledger's daily history and forecasts scopes; publishes when a producer is given."""

    def __init__(
        self,
        engine: AsyncEngine,
        tag_keys: tuple[str, ...],
        producer: EventProducer | None = None,
        today: Callable[[], date] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._tag_keys = tag_keys
        self._producer = producer
        self._now = now
        self._today = today or (lambda: now().date())
        self._budgets = BudgetStore(engine)
        self._alerts = AlertTracker()
        self.runs = 0

    async def forecasts(self, horizon_days: int, only: set[str] | None = None) -> list[CostForecast]:
        """Every scope's (or those in `only`) daily forecast, with its hourly one where its history is hourly."""
        as_of = self._today()
        return await self._forecasts(await self._daily(as_of), as_of, horizon_days, only)

    async def _daily(self, as_of: date) -> ScopeHistory:
        return await daily_history(self._engine, as_of, self._tag_keys)

    async def _forecasts(
        self, days: ScopeHistory, as_of: date, horizon_days: int, only: set[str] | None
    ) -> list[CostForecast]:
        now = self._now()
        since = (now - timedelta(days=HOURLY_HISTORY_DAYS)).replace(tzinfo=None, minute=0, second=0, microsecond=0)
        hours = await hourly_history(self._engine, since, self._tag_keys)
        # numpy work in a thread: the gRPC server and the progress consumer stay responsive meanwhile.
        daily = await asyncio.to_thread(build_forecasts, days, as_of, horizon_days, only)
        hourly = await asyncio.to_thread(hourly_forecasts, hours, now, only)
        return [f.model_copy(update={"hours": hourly.get((f.scope, f.currency), [])}) for f in daily]

    async def budget_statuses(self, budget_id: str | None = None) -> list[BudgetStatus]:
        """Every budget's status (or one budget's; [] when it does not exist)."""
        if budget_id is None:
            budgets = await self._budgets.all()
        else:
            budgets = [b] if (b := await self._budgets.get(budget_id)) is not None else []
        as_of = self._today()
        return await self._statuses(await self._daily(as_of) if budgets else ScopeHistory(), budgets, as_of)

    @staticmethod
    async def _statuses(days: ScopeHistory, budgets: list[Budget], as_of: date) -> list[BudgetStatus]:
        return await asyncio.to_thread(budget_statuses, days, budgets, as_of)

    async def publish(self, horizon_days: int) -> list[CostForecast]:
        """Forecast every scope and publish the forecasts, then the budget alerts whose state changed; the
        ledger's history is read once for both."""
        started = time.perf_counter()
        as_of = self._today()
        days = await self._daily(as_of)
        events = await self._forecasts(days, as_of, horizon_days, None)
        statuses = await self._statuses(days, await self._budgets.all(), as_of)
        alerts = self._alerts.changes(statuses, datetime.now(UTC))
        if self._producer is not None:
            await self._producer.send_many([*events, *alerts])
        self.runs += 1
        log.info(
            "forecast %d scopes, %d budget alerts in %.2f s", len(events), len(alerts), time.perf_counter() - started
        )
        return events


def billed_data_landed(progress: LedgerProgress) -> bool:
    return progress.written > 0 and CostKind.BILLED.value in progress.cost_kinds


class ProgressWatch:
    """Follows the ledger's progress topic from its end (what was written before start is in the first run)."""

    def __init__(self, bootstrap: str, client_id: str) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, client_id=client_id, enable_auto_commit=False)
        self._partition = TopicPartition(LEDGER_PROGRESS.name, 0)
        self.seen = 0  # progress events read

    async def start(self) -> None:
        await self._consumer.start()
        self._consumer.assign([self._partition])
        await self._consumer.seek_to_end(self._partition)
        await self._consumer.position(self._partition)

    async def stop(self) -> None:
        await self._consumer.stop()

    async def billed_landed(self, timeout_s: float) -> bool:
        """True when a progress event in the next `timeout_s` says billed cost was written."""
        batch = await self._consumer.getmany(timeout_ms=int(timeout_s * 1000))
        landed = False
        for messages in batch.values():
            for message in messages:
                self.seen += 1
                try:
                    landed |= message.value is not None and billed_data_landed(
                        LedgerProgress.model_validate_json(message.value)
                    )
                except ValueError:
                    log.warning("ignored an unreadable ledger progress event at offset %d", message.offset)
        return landed


async def run_schedule(
    reforecaster: Reforecaster,
    watch: ProgressWatch,
    stop: asyncio.Event,
    horizon_days: int,
    interval_s: float,
    debounce_s: float,
) -> None:
    """Reforecast now, then whenever the schedule is due or billed data landed, never twice within debounce_s."""
    last_run = time.monotonic()
    await _publish_logged(reforecaster, horizon_days)
    pending = False
    while not stop.is_set():
        pending |= await watch.billed_landed(timeout_s=1.0)
        now = time.monotonic()
        due = now - last_run >= interval_s
        if (due or pending) and now - last_run >= debounce_s:
            last_run = now
            pending = False
            await _publish_logged(reforecaster, horizon_days)


async def _publish_logged(reforecaster: Reforecaster, horizon_days: int) -> None:
    try:
        await reforecaster.publish(horizon_days)
    except Exception:  # a failed run (store away, a bad row) must not end the service; the next one retries
        log.exception("reforecast failed")
