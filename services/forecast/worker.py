"""The forecast service's loop: reforecast every tenant's scopes at start and on its schedule, and a tenant's when
billed data of it lands (the ledger's progress names the cost kinds and the tenants each commit wrote), at most
once per debounce interval; publish each scope's forecast to `outlay.forecasts.v1`. On-demand forecasts (gRPC) go
through `Reforecaster` too.

Every read is one tenant's (`CostHistory.for_tenant`, `BudgetStore.for_tenant`): a tenant's forecasts, budget
statuses and alerts are computed from its own rollups and budgets only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.budgets import Budget, BudgetStatus
from outlay.events import CostKind, LedgerProgress
from outlay.events.forecast import CostForecast
from outlay.events.topics import LEDGER_PROGRESS
from outlay.kafka.consumer import stop_consumer
from outlay.kafka.producer import EventProducer
from outlay.store.budgets import BudgetStore
from outlay.store.tenants import TenantStore
from outlay.tenancy import DEFAULT_TENANT
from services.forecast.budget_status import AlertTracker, budget_statuses
from services.forecast.scopes import HOURLY_HISTORY_DAYS, ScopeHistory, build_forecasts, hourly_forecasts
from services.forecast.store import CostHistory

log = logging.getLogger(__name__)


class Reforecaster:
    """Reads one tenant's daily history and forecasts its scopes; publishes when a producer is given."""

    def __init__(
        self,
        engine: AsyncEngine,
        tag_keys: tuple[str, ...],
        producer: EventProducer | None = None,
        today: Callable[[], date] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._tag_keys = tag_keys
        self._producer = producer
        self._now = now
        self._today = today or (lambda: now().date())
        self._history = CostHistory(engine)
        self._budgets = BudgetStore(engine)
        self._tenants = TenantStore(engine)
        self._alerts = AlertTracker()
        self.runs = 0
        self.last_tenants: list[str] = []  # the tenants the latest publishing run visited

    async def tenant_known(self, tenant_id: str) -> bool:
        """The default tenant, or one the operator created."""
        return tenant_id == DEFAULT_TENANT or await self._tenants.get(tenant_id) is not None

    async def forecasts(self, horizon_days: int, only: set[str] | None = None, *, tenant_id: str) -> list[CostForecast]:
        """Every scope's (or those in `only`) daily forecast of `tenant_id`, with its hourly one where its
        history is hourly."""
        as_of = self._today()
        history = self._history.for_tenant(tenant_id)
        return await self._forecasts(history, await history.daily(as_of, self._tag_keys), as_of, horizon_days, only)

    async def _forecasts(
        self, history: CostHistory, days: ScopeHistory, as_of: date, horizon_days: int, only: set[str] | None
    ) -> list[CostForecast]:
        now = self._now()
        since = (now - timedelta(days=HOURLY_HISTORY_DAYS)).replace(tzinfo=None, minute=0, second=0, microsecond=0)
        hours = await history.hourly(since, self._tag_keys)
        # numpy work in a thread: the gRPC server and the progress consumer stay responsive meanwhile.
        daily = await asyncio.to_thread(build_forecasts, days, as_of, horizon_days, only, tenant_id=history.tenant_id)
        hourly = await asyncio.to_thread(hourly_forecasts, hours, now, only)
        return [f.model_copy(update={"hours": hourly.get((f.scope, f.currency), [])}) for f in daily]

    async def budget_statuses(self, budget_id: str | None = None, *, tenant_id: str) -> list[BudgetStatus]:
        """Every budget's status of `tenant_id` (or one budget's; [] when the tenant has no such budget)."""
        store = self._budgets.for_tenant(tenant_id)
        if budget_id is None:
            budgets = await store.all()
        else:
            budgets = [b] if (b := await store.get(budget_id)) is not None else []
        as_of = self._today()
        history = self._history.for_tenant(tenant_id)
        days = await history.daily(as_of, self._tag_keys) if budgets else ScopeHistory()
        return await self._statuses(days, budgets, as_of)

    @staticmethod
    async def _statuses(days: ScopeHistory, budgets: list[Budget], as_of: date) -> list[BudgetStatus]:
        return await asyncio.to_thread(budget_statuses, days, budgets, as_of)

    async def publish(self, horizon_days: int, tenants: Iterable[str] | None = None) -> list[CostForecast]:
        """Forecast every scope of each tenant in `tenants` (None: every tenant with costs) and publish the
        forecasts, then the budget alerts whose state changed, tenant by tenant; each tenant's history is read
        once for both. A tenant whose run fails is logged and the others still run."""
        started = time.perf_counter()
        visit = sorted(set(tenants)) if tenants is not None else await self._tenants.with_costs()
        events: list[CostForecast] = []
        alerts = failed = 0
        for tenant_id in visit:
            try:
                forecasts, alerted = await self._publish_tenant(tenant_id, horizon_days)
            except Exception:  # one tenant's bad row must not starve the others
                log.exception("reforecast of tenant %r failed", tenant_id)
                failed += 1
                continue
            events += forecasts
            alerts += alerted
        self.runs += 1
        self.last_tenants = visit
        log.info(
            "forecast %d scopes, %d budget alerts of %d tenants (%d failed) in %.2f s",
            len(events), alerts, len(visit), failed, time.perf_counter() - started,
        )  # fmt: skip
        return events

    async def _publish_tenant(self, tenant_id: str, horizon_days: int) -> tuple[list[CostForecast], int]:
        as_of = self._today()
        history = self._history.for_tenant(tenant_id)
        days = await history.daily(as_of, self._tag_keys)
        events = await self._forecasts(history, days, as_of, horizon_days, None)
        statuses = await self._statuses(days, await self._budgets.for_tenant(tenant_id).all(), as_of)
        alerts = self._alerts.changes(statuses, datetime.now(UTC), tenant_id, record=False)
        if self._producer is not None:
            await self._producer.send_many([*events, *alerts])  # raises when not delivered: alerts raised again
        self._alerts.sent(alerts)
        return events, len(alerts)


def billed_tenants(progress: LedgerProgress) -> set[str]:
    """The tenants whose billed cost a ledger commit wrote (none when it wrote only estimates, or nothing)."""
    if progress.written > 0 and CostKind.BILLED.value in progress.cost_kinds:
        return set(progress.tenant_ids)
    return set()


class ProgressWatch:
    """Follows the ledger's progress topic from its end (what was written before start is in the first run)."""

    def __init__(self, bootstrap: str, client_id: str) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, client_id=client_id, enable_auto_commit=False)
        self._partition = TopicPartition(LEDGER_PROGRESS.name, 0)
        self.seen = 0  # progress events read

    async def start(self) -> None:
        try:
            await self._consumer.start()
            self._consumer.assign([self._partition])
            await self._consumer.seek_to_end(self._partition)
            await self._consumer.position(self._partition)
        except BaseException:
            await stop_consumer(self._consumer)  # else a start cut short leaves the client's tasks running
            raise

    async def stop(self) -> None:
        await stop_consumer(self._consumer)

    async def landed_tenants(self, timeout_s: float) -> set[str]:
        """The tenants whose billed cost progress events in the next `timeout_s` say was written."""
        batch = await self._consumer.getmany(timeout_ms=int(timeout_s * 1000))
        landed: set[str] = set()
        for messages in batch.values():
            for message in messages:
                self.seen += 1
                if message.value is None:
                    continue
                try:
                    landed |= billed_tenants(LedgerProgress.model_validate_json(message.value))
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
    """Reforecast every tenant now and whenever the schedule is due; the tenants whose billed data landed when it
    did; never twice within debounce_s. One tenant's runs do not postpone the others' scheduled one."""
    last_run = last_full = time.monotonic()
    await _publish_logged(reforecaster, horizon_days, None)
    pending: set[str] = set()
    while not stop.is_set():
        pending |= await watch.landed_tenants(timeout_s=1.0)
        now = time.monotonic()
        due = now - last_full >= interval_s
        if (due or pending) and now - last_run >= debounce_s:
            last_run = now
            if due:
                last_full = now
            tenants, pending = (None if due else pending), set()
            await _publish_logged(reforecaster, horizon_days, tenants)


async def _publish_logged(reforecaster: Reforecaster, horizon_days: int, tenants: set[str] | None) -> None:
    try:
        await reforecaster.publish(horizon_days, tenants)
    except Exception:  # a failed run (store away, a bad row) must not end the service; the next one retries
        log.exception("reforecast failed")
