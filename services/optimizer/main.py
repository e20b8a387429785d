"""Entrypoint of the optimizer service: scheduled region scans, people's decisions from `outlay.plan_decisions.v1`,
and live metering's samples from `outlay.utilization.v1` (kept for scans), until SIGINT/SIGTERM.
`outlay services run optimizer` calls `run(settings)`.

A deployment serves one tenant (`OUTLAY_OPTIMIZER_TENANT`): its stores are bound to it, and its consumer groups are
its own (`<group>-<tenant>` for a tenant other than `default`), so every tenant's optimizer reads every decision
and sample and keeps only its tenant's, instead of tenants' optimizers splitting the partitions between them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.aws.actions import AwsActions
from outlay.aws.inventory import AwsInventory
from outlay.events.plan import ActionPlan, PlanDecision
from outlay.events.policy import PolicyViolation
from outlay.events.utilization import UtilizationSample
from outlay.kafka.consumer import BatchConsumer
from outlay.kafka.keep_running import consume_forever
from outlay.kafka.producer import EventProducer
from outlay.lifecycle import prepare
from outlay.pricing.catalogue import PriceCatalogue
from outlay.settings import Settings
from outlay.store.audit import AuditLog
from outlay.store.engine import make_engine
from outlay.store.plans import PlanStore, RecommendationStore
from outlay.store.policies import PolicyStore
from outlay.store.prices import load_catalogue
from outlay.store.utilization import UtilizationStore
from outlay.tenancy import DEFAULT_TENANT
from services.optimizer.execution import PlanExecutor, planned_and_quiet
from services.optimizer.policy_checks import TenantRules
from services.optimizer.rightsizing.recommend import RightsizingSettings
from services.optimizer.scan import ScanResult, scan_region
from services.optimizer.service import Optimizer, Policy
from services.optimizer.stored_metrics import StoredFirst

log = logging.getLogger(__name__)
LOOKBACK = timedelta(days=RightsizingSettings().lookback_days)


def _policy(settings: Settings) -> Policy:
    return Policy(
        auto_apply=settings.optimizer_auto_apply,
        env_tag=settings.optimizer_env_tag,
        canary=settings.optimizer_canary,
        batch=settings.optimizer_batch,
        approval_window=timedelta(days=settings.optimizer_approval_days),
    )


def group_id(settings: Settings) -> str:
    """The decisions' consumer group: the configured one, the tenant's own for a tenant other than `default`."""
    tenant = settings.optimizer_tenant
    return settings.optimizer_group_id if tenant == DEFAULT_TENANT else f"{settings.optimizer_group_id}-{tenant}"


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    bootstrap, stop = await prepare(settings, stop)
    tenant = settings.optimizer_tenant
    log.info("optimizer of tenant %r", tenant)
    endpoint = settings.aws_endpoint_url
    engine = make_engine(settings.store_url)
    prices = Prices(engine)

    utilization = UtilizationStore(engine).for_tenant(settings.optimizer_tenant)

    async def scanner(region: str, now: datetime, rules: TenantRules) -> ScanResult:
        # Metering's samples where they cover the lookback; CloudWatch for the rest (blocking boto3: a thread).
        stored = await utilization.series(region, now - LOOKBACK, now)
        inventory = StoredFirst(AwsInventory([region], endpoint_url=endpoint), stored)
        found = await asyncio.to_thread(
            scan_region, inventory, region, prices.current, now, RightsizingSettings(), settings.optimizer_env_tag,
            rules.type_filter,
        )  # fmt: skip
        log.info("%s: %d metric series from stored samples, %d from CloudWatch", region, inventory.from_store,
                 inventory.from_cloudwatch)  # fmt: skip
        return found

    def executor_for(region: str) -> PlanExecutor:
        actions = AwsActions(region, endpoint_url=endpoint)
        return PlanExecutor(actions, planned_and_quiet(actions))

    client_id = f"{settings.kafka_client_id}-optimizer"
    try:
        async with EventProducer(bootstrap, client_id=client_id) as producer:

            async def publish(plans: Sequence[ActionPlan]) -> None:
                await producer.send_many(plans)

            async def report(violations: Sequence[PolicyViolation]) -> None:
                await producer.send_many(violations)

            optimizer = Optimizer(
                PlanStore(engine).for_tenant(tenant), RecommendationStore(engine).for_tenant(tenant),
                AuditLog(engine).for_tenant(tenant), publish, scanner, executor_for, _policy(settings),
                policies=PolicyStore(engine).for_tenant(tenant), report=report,
            )  # fmt: skip
            await optimizer.resume()
            tasks = [
                asyncio.create_task(_decisions(optimizer, settings, producer, client_id), name="optimizer-decisions"),
                asyncio.create_task(_schedule(optimizer, prices, settings, stop), name="optimizer-scans"),
                asyncio.create_task(_utilization(utilization, settings, producer, client_id), name="optimizer-samples"),
            ]
            try:
                await stop.wait()
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
    finally:
        await engine.dispose()


class Prices:
    """The catalogue scans price with: the bundled one with the store's synced prices, reloaded before each round
    so an `outlay pricing sync` takes effect without a restart."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.current = PriceCatalogue.load()

    async def refresh(self) -> None:
        self.current = await load_catalogue(self._engine)


async def _schedule(optimizer: Optimizer, prices: Prices, settings: Settings, stop: asyncio.Event) -> None:
    """Expire stale proposals and scan every configured region, now and then every interval; a failed scan is
    retried next time."""
    regions = settings.optimizer_regions
    if not regions:
        log.info("no regions to scan (set OUTLAY_OPTIMIZER_REGIONS); taking decisions on stored plans only")
    while not stop.is_set():
        if regions:
            await prices.refresh()
        try:
            await optimizer.expire_stale()
        except Exception as exc:
            log.warning("expiring stale proposals failed, trying next round: %s", exc)
        for region in regions:
            try:
                await optimizer.scan(region)
            except Exception as exc:  # AWS unreachable, throttled beyond retries, no credentials: next round
                log.warning("scan of %s failed, retrying in %.0f s: %s", region, settings.optimizer_interval_s, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.optimizer_interval_s)


async def _utilization(store: UtilizationStore, settings: Settings, producer: EventProducer, client_id: str) -> None:
    """Keep live metering's samples of this tenant for scans (other tenants' are not read by this tenant's scans);
    rows older than the lookback (and a day) are dropped hourly."""
    assert settings.kafka_bootstrap_servers
    bootstrap = settings.kafka_bootstrap_servers
    tenant = settings.optimizer_tenant

    pruned = 0.0

    def consumer() -> BatchConsumer[UtilizationSample]:
        return BatchConsumer(
            bootstrap,
            UtilizationSample,
            f"{group_id(settings)}-utilization",
            producer=producer,
            client_id=f"{client_id}-utilization",
            max_records=5000,
            session_timeout_ms=settings.kafka_session_timeout_ms,
        )

    async def keep(samples: list[UtilizationSample]) -> None:
        nonlocal pruned
        mine = [s for s in samples if s.tenant_id == tenant]
        if mine:
            await store.add(mine)
        if time.monotonic() - pruned > 3600:
            await store.prune(datetime.now(UTC) - LOOKBACK - timedelta(days=1))
            pruned = time.monotonic()

    await consume_forever("utilization consumer", consumer, keep, timeout_ms=1000)


async def _decisions(optimizer: Optimizer, settings: Settings, producer: EventProducer, client_id: str) -> None:
    """Decisions in order, each committed once taken (a crash re-delivers; a taken decision is then ignored:
    the plan is no longer proposed)."""
    assert settings.kafka_bootstrap_servers
    bootstrap = settings.kafka_bootstrap_servers

    def consumer() -> BatchConsumer[PlanDecision]:
        return BatchConsumer(
            bootstrap,
            PlanDecision,
            group_id(settings),
            producer=producer,
            client_id=f"{client_id}-decisions",
            max_records=50,
            session_timeout_ms=settings.kafka_session_timeout_ms,
            max_poll_interval_ms=3_600_000,  # applying a large plan may take long between polls
            decode_in_thread=False,
        )

    async def take(decisions: list[PlanDecision]) -> None:
        for decision in decisions:
            try:
                await optimizer.decide(decision)
            except (DataError, IntegrityError) as exc:  # this decision can never be stored: skip it
                log.error("decision on plan %s cannot be stored, skipped: %s", decision.plan_id, exc)

    await consume_forever("plan decision consumer", consumer, take)
