"""The live stream: follow topics and fan their news out to WebSocket clients.

- `StreamHub` keeps the connected clients. Each has a bounded queue; the hub never awaits a client, and a
  client whose queue is full is dropped, so one slow reader cannot hold back the others.
- `TopicFollower` reads a topic from the latest offset with manual partition assignment (no consumer
  group: every gateway process sees every event, and there is no group join to wait for).
- `ProgressFollower` follows `outlay.ledger.progress.v1`, asks the store for the minutes each batch of
  events touched, and hands per-minute cost ticks to the hub; `AnomalyFollower` follows
  `outlay.anomalies.v1` and hands each update to the clients subscribed to anomalies; budget alerts, forecasts
  and plan updates follow the same way. Every event goes only to clients of its own tenant.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import BaseModel, ValidationError

from outlay.events import CostAnomaly, CostForecast, LedgerProgress, Severity
from outlay.events.budget_alert import BudgetAlert
from outlay.events.plan import ActionPlan
from outlay.events.topics import ANOMALIES, BUDGET_ALERTS, FORECASTS, LEDGER_PROGRESS, PLANS, Topic
from outlay.kafka.consumer import stop_consumer
from outlay.kafka.keep_running import keep_running
from outlay.spread import Grain, floor_to, to_naive_utc
from outlay.tenancy import DEFAULT_TENANT
from services.gateway.anomalies.render import anomaly_json
from services.gateway.answer_cache import AnswerCache
from services.gateway.costs_query import CostStore
from services.gateway.permissions import Principal, Scope
from services.gateway.query import CostQuery, Filters, QueryError, TimeRange, parse_group_by
from services.gateway.report import CostReport, iso, money

log = logging.getLogger(__name__)
E = TypeVar("E", bound=BaseModel)

TICK_WINDOW = timedelta(minutes=60)  # at most this many minutes are re-read per batch of progress events
TICK_MAX_CELLS = 200_000  # services x kinds x minutes of one tick query; the window bounds it in practice
DROP_SIGNAL: dict[str, Any] = {"type": "_drop"}
# How long a fetch may wait at the broker when no data is there. A broker that does not answer early when data
# arrives (the embedded one) would otherwise add aiokafka's default 500 ms to every pushed update.
FETCH_MAX_WAIT_MS = 100


@dataclass(frozen=True)
class CostTick:
    """One minute's cost of one kind and currency, per service (nano-units)."""

    minute: datetime
    cost_kind: str
    currency: str
    by_service: dict[str, int]

    def message(self, services: frozenset[str] | None) -> dict[str, Any] | None:
        """The JSON a client with this service filter receives, or None if nothing is left."""
        chosen = {s: n for s, n in self.by_service.items() if services is None or s in services}
        if not chosen:
            return None
        return {
            "type": "cost_tick",
            "minute": iso(self.minute),
            "cost": money(sum(chosen.values())),
            "by_service": {s: money(n) for s, n in sorted(chosen.items())},
            "cost_kind": self.cost_kind,
            "currency": self.currency,
        }


def ticks_from_report(report: CostReport) -> list[CostTick]:
    """Fold a minute report grouped by (service, currency, cost_kind): one tick per minute, kind, currency."""
    labels = [key.label for key in report.query.group_by]
    service_at, currency_at, kind_at = (
        labels.index("service"),
        labels.index("currency"),
        labels.index("cost_kind"),
    )
    folded: dict[tuple[datetime, str, str], dict[str, int]] = defaultdict(dict)
    for row in report.rows:
        key = (row.period_start, row.group[kind_at] or "", row.group[currency_at] or "")
        service = row.group[service_at] or ""
        folded[key][service] = folded[key].get(service, 0) + row.nanos
    return [CostTick(m, k, c, by) for (m, k, c), by in sorted(folded.items())]


def tick_query(events: list[LedgerProgress], window: timedelta = TICK_WINDOW) -> CostQuery:
    """The minutes a batch of progress events touched, bounded to the last `window` of them."""
    start = to_naive_utc(min(e.period_start for e in events))
    end = to_naive_utc(max(e.period_end for e in events))
    end_minute = floor_to(end, Grain.MINUTE)
    if end_minute < end:
        end_minute += timedelta(minutes=1)
    start_minute = max(floor_to(start, Grain.MINUTE), end_minute - window)
    kinds = tuple(sorted({k for e in events for k in e.cost_kinds}))
    return CostQuery(
        range=TimeRange(start_minute, end_minute),
        grain=Grain.MINUTE,
        group_by=parse_group_by(["service"]),
        filters=Filters(dimensions={"cost_kind": kinds} if kinds else {}),
        max_cells=TICK_MAX_CELLS,
    )


@dataclass(frozen=True)
class AnomalyFilter:
    """Which anomaly updates a client wants: by series, from a minimum severity, alerted only by default."""

    series: frozenset[str] | None = None  # None: every series
    severities: frozenset[Severity] = frozenset(Severity)
    include_unalerted: bool = False

    def accepts(self, anomaly: CostAnomaly) -> bool:
        return (
            (self.series is None or anomaly.series in self.series)
            and anomaly.severity in self.severities
            and (anomaly.alerted or self.include_unalerted)
        )


@dataclass(frozen=True)
class BudgetAlertFilter:
    budget_ids: frozenset[str] | None = None  # None: every budget

    def accepts(self, alert: BudgetAlert) -> bool:
        return self.budget_ids is None or alert.budget_id in self.budget_ids


@dataclass(frozen=True)
class ForecastFilter:
    scopes: frozenset[str] | None = None  # None: every scope

    def accepts(self, forecast: CostForecast) -> bool:
        return self.scopes is None or forecast.scope in self.scopes


@dataclass(frozen=True)
class PlanFilter:
    statuses: frozenset[str] | None = None  # None: every status
    regions: frozenset[str] | None = None  # None: every region

    def accepts(self, plan: ActionPlan) -> bool:
        return (self.statuses is None or plan.status.value in self.statuses) and (
            self.regions is None or plan.region in self.regions
        )


@dataclass(eq=False)
class StreamClient:
    queue: asyncio.Queue[dict[str, Any]]
    services: frozenset[str] | None = None  # cost ticks of these services; None: every service
    anomalies: AnomalyFilter | None = None  # None: not subscribed to anomalies
    budget_alerts: BudgetAlertFilter | None = None  # None: not subscribed to budget alerts
    plans: PlanFilter | None = None  # None: not subscribed to plans
    forecasts: ForecastFilter | None = None  # None: not subscribed to forecasts
    principal: Principal | None = None  # whose connection: what it may subscribe to (None: anything, in tests)
    dropped: bool = False

    def may(self, scope: Scope) -> bool:
        return self.principal is None or self.principal.may(scope)

    @property
    def tenant_id(self) -> str:
        """Whose events this client may see: its key's tenant's, never another's."""
        return DEFAULT_TENANT if self.principal is None else self.principal.tenant_id

    def offer(self, message: dict[str, Any]) -> bool:
        """Queue without waiting; False once the client is too far behind and has been dropped."""
        if self.dropped:
            return False
        try:
            self.queue.put_nowait(message)
            return True
        except asyncio.QueueFull:
            self.dropped = True
            # Its backlog will never be sent; make room for the signal that tells its sender to close.
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(DROP_SIGNAL)
            return False


@dataclass
class StreamHub:
    queue_size: int = 256
    heartbeat_seconds: float = 15.0
    clients: set[StreamClient] = field(default_factory=set)
    ticks_sent: int = 0

    def register(self, principal: Principal | None = None) -> StreamClient:
        client = StreamClient(asyncio.Queue(maxsize=self.queue_size), principal=principal)
        self.clients.add(client)
        return client

    def unregister(self, client: StreamClient) -> None:
        self.clients.discard(client)

    def tenants(self) -> set[str]:
        """The tenants with a client connected."""
        return {client.tenant_id for client in self.clients}

    def publish(self, tenant_id: str, ticks: list[CostTick]) -> None:
        """One tenant's cost ticks, to that tenant's clients."""
        for client in list(self.clients):
            if client.tenant_id != tenant_id:
                continue
            messages = [m for tick in ticks if (m := tick.message(client.services)) is not None]
            self.ticks_sent += self._deliver(client, messages)

    def publish_anomalies(self, anomalies: list[CostAnomaly]) -> None:
        rendered = [(a, {"type": "anomaly", "anomaly": anomaly_json(a)}) for a in anomalies]  # once, not per client
        for client in list(self.clients):
            wanted = client.anomalies
            if wanted is not None:
                self._deliver(client, [m for a, m in rendered if a.tenant_id == client.tenant_id and wanted.accepts(a)])

    def publish_budget_alerts(self, alerts: list[BudgetAlert]) -> None:
        rendered = [(a, {"type": "budget_alert", "alert": a.model_dump(mode="json")}) for a in alerts]
        for client in list(self.clients):
            wanted = client.budget_alerts
            if wanted is not None:
                self._deliver(client, [m for a, m in rendered if a.tenant_id == client.tenant_id and wanted.accepts(a)])

    def publish_plans(self, plans: list[ActionPlan]) -> None:
        rendered = [(p, {"type": "plan", "plan": p.model_dump(mode="json")}) for p in plans]
        for client in list(self.clients):
            wanted = client.plans
            if wanted is not None:
                self._deliver(client, [m for p, m in rendered if p.tenant_id == client.tenant_id and wanted.accepts(p)])

    def publish_forecasts(self, forecasts: list[CostForecast]) -> None:
        rendered = [(f, {"type": "forecast", "forecast": f.model_dump(mode="json")}) for f in forecasts]
        for client in list(self.clients):
            wanted = client.forecasts
            if wanted is not None:
                self._deliver(client, [m for f, m in rendered if f.tenant_id == client.tenant_id and wanted.accepts(f)])

    def heartbeat(self) -> None:
        message = {"type": "heartbeat", "at": iso(datetime.now(UTC))}
        for client in list(self.clients):
            self._deliver(client, [message])

    def _deliver(self, client: StreamClient, messages: list[dict[str, Any]]) -> int:
        """Offer each message; a client that falls behind is dropped. Returns how many were queued."""
        for sent, message in enumerate(messages):
            if not client.offer(message):
                self.unregister(client)
                log.warning("stream client too slow (queue of %d full): dropped", self.queue_size)
                return sent
        return len(messages)

    async def run_heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            self.heartbeat()


def parse_events(event: type[E], values: list[bytes | None]) -> list[E]:
    events = []
    for value in values:
        if value is None:
            continue
        try:
            events.append(event.model_validate_json(value))
        except ValidationError as exc:
            # A malformed event must not stop the stream; it only means one missed update.
            log.warning("skipping malformed %s event: %s", event.__name__, exc.errors()[:1])
    return events


# A follower asks the broker for its topic's end offsets every PROBE_AFTER seconds, and counts as away (`live` is
# False) after SILENCE_LIMIT seconds without an answer showing it has handled everything published.
PROBE_AFTER = 2.0
PROBE_TIMEOUT = 2.0
SILENCE_LIMIT = 6.0


class TopicFollower(Generic[E]):
    """Follows one topic from its latest offset and hands each batch of decoded events to `handle`."""

    def __init__(self, bootstrap_servers: str, topic: Topic, client_id: str = "outlay-gateway") -> None:
        self._bootstrap = bootstrap_servers
        self._topic = topic
        self._event: type[E] = topic.event  # type: ignore[assignment]
        self._client_id = client_id
        self.ready = asyncio.Event()  # set once positioned at the end of the topic
        self._heard_at = float("-inf")  # when the broker last answered (monotonic seconds)

    async def handle(self, events: list[E]) -> None:
        raise NotImplementedError

    def positioned(self) -> None:
        """Called each time the follower is positioned at the end of its topic (events before were not seen), and
        when it hears from the broker again after SILENCE_LIMIT (events may have been missed meanwhile)."""

    @property
    def live(self) -> bool:
        """Positioned, and caught up with the topic within SILENCE_LIMIT: nothing published waits unseen for long.
        (A consumer's fetch retries quietly while the broker is away; only a question it must answer tells.)"""
        return self.ready.is_set() and time.monotonic() - self._heard_at < SILENCE_LIMIT

    async def run(self) -> None:
        """Follow forever; broker outages are retried with backoff (the REST API keeps serving)."""
        await keep_running(f"{self._topic.name} follower", self._follow, on_failure=self.ready.clear)

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        try:
            await consumer.start()  # inside the try: a start cut short (shutdown, broker down) still stops it
            partitions = await self._partitions(consumer)
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            for tp in partitions:
                await consumer.position(tp)  # resolve "latest" now, so ready means positioned
            self.positioned()
            self._heard_at = time.monotonic()
            self.ready.set()
            probed_at = time.monotonic()
            while True:
                batch = await consumer.getmany(timeout_ms=1000)
                events = parse_events(self._event, [m.value for records in batch.values() for m in records])
                if events:
                    await self.handle(events)
                if time.monotonic() - probed_at >= PROBE_AFTER:
                    probed_at = time.monotonic()
                    if await self._caught_up(consumer, partitions):
                        self._heard()
        finally:
            with contextlib.suppress(Exception):
                await stop_consumer(consumer)

    @staticmethod
    async def _caught_up(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> bool:
        """The broker answers, and this follower has handled everything published so far."""
        try:
            ends = await asyncio.wait_for(consumer.end_offsets(partitions), PROBE_TIMEOUT)
            positions = [await consumer.position(tp) for tp in partitions]
            return all(position >= ends[tp] for position, tp in zip(positions, partitions, strict=True))
        except (TimeoutError, KafkaError, OSError):
            return False

    def _heard(self) -> None:
        if time.monotonic() - self._heard_at >= SILENCE_LIMIT:
            self.positioned()  # away long enough to have been counted away: start over
        self._heard_at = time.monotonic()

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        while True:
            await consumer.topics()  # refreshes metadata
            found = consumer.partitions_for_topic(self._topic.name)
            if found:
                return [TopicPartition(self._topic.name, p) for p in sorted(found)]
            # The topic is created by whoever sets the platform up; wait for it rather than auto-create it.
            await asyncio.sleep(1.0)


class ProgressFollower(TopicFollower[LedgerProgress]):
    """Ledger progress → per-minute cost ticks for the clients, and the end of the written tenants' cached answers."""

    def __init__(
        self,
        bootstrap_servers: str,
        store: CostStore,
        hub: StreamHub,
        client_id: str = "outlay-gateway",
        answers: AnswerCache | None = None,
    ):
        super().__init__(bootstrap_servers, LEDGER_PROGRESS, client_id)
        self._store = store
        self._hub = hub
        self._answers = answers
        if answers is not None:
            answers.attach(lambda: self.live)

    def positioned(self) -> None:
        if self._answers is not None:
            self._answers.invalidate_all()  # commits made while this follower was away went unseen

    async def handle(self, events: list[LedgerProgress]) -> None:
        if self._answers is not None:
            self._answers.invalidate(
                (t, to_naive_utc(e.period_start), to_naive_utc(e.period_end)) for e in events for t in e.tenant_ids
            )
        listening = self._hub.tenants()
        # Each tenant's ticks come from its own store query: only tenants both written and listened to.
        for tenant_id in sorted(listening & {t for e in events for t in e.tenant_ids}):
            mine = [e for e in events if tenant_id in e.tenant_ids]
            try:
                report = await self._store.for_tenant(tenant_id).costs(tick_query(mine))
            except QueryError as exc:
                log.warning("tick query refused: %s", exc)
                continue
            except Exception:
                # A store hiccup costs these ticks only; restarting the consumer would skip later events.
                log.exception("tick query failed")
                continue
            self._hub.publish(tenant_id, ticks_from_report(report))


class BudgetAlertFollower(TopicFollower[BudgetAlert]):
    """Budget threshold alerts → the clients subscribed to budget alerts."""

    def __init__(self, bootstrap_servers: str, hub: StreamHub, client_id: str = "outlay-gateway"):
        super().__init__(bootstrap_servers, BUDGET_ALERTS, client_id)
        self._hub = hub

    async def handle(self, events: list[BudgetAlert]) -> None:
        self._hub.publish_budget_alerts(events)


class PlanFollower(TopicFollower[ActionPlan]):
    """Plan updates (proposed, approved, applied, rolled back, ...) → the clients subscribed to plans."""

    def __init__(self, bootstrap_servers: str, hub: StreamHub, client_id: str = "outlay-gateway"):
        super().__init__(bootstrap_servers, PLANS, client_id)
        self._hub = hub

    async def handle(self, events: list[ActionPlan]) -> None:
        self._hub.publish_plans(events)


class AnomalyFollower(TopicFollower[CostAnomaly]):
    """Anomaly updates → the clients subscribed to anomalies."""

    def __init__(self, bootstrap_servers: str, hub: StreamHub, client_id: str = "outlay-gateway"):
        super().__init__(bootstrap_servers, ANOMALIES, client_id)
        self._hub = hub

    async def handle(self, events: list[CostAnomaly]) -> None:
        self._hub.publish_anomalies(events)


class ForecastFollower(TopicFollower[CostForecast]):
    """New forecasts → the clients subscribed to forecasts."""

    def __init__(self, bootstrap_servers: str, hub: StreamHub, client_id: str = "outlay-gateway"):
        super().__init__(bootstrap_servers, FORECASTS, client_id)
        self._hub = hub

    async def handle(self, events: list[CostForecast]) -> None:
        self._hub.publish_forecasts(events)
