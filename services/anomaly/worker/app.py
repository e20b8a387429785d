"""The faust app: usage → per-series contributions (repartitioned by series) → series monitors kept in a
changelog-backed table → `outlay.anomalies.v1`.

Stage 1 (`split`) reads `outlay.usage.v1` in batches in its own consumer group (`anomaly_split_group_id`, an aiokafka
`BatchConsumer`, not a faust agent: faust hands each message to an agent through tasks of its own, ~200 µs a
message on the 2-core machine, and this stage needs none of faust's tables), sends bad lines (undecodable, NaN or negative cost) to
the DLQ, and sums each batch into one contribution per (series, bucket), sent to the internal topic keyed by
series. Feedback from `outlay.anomaly_feedback.v1` joins the same topic, so it reaches the worker that owns
its series; a verdict is routed within its own tenant only (`tenants.feedback_series`). Series names carry
their tenant (`tenants`), so every key here (the internal topic, the table, the published anomalies) is per
tenant. Stage 2 (`monitor`) owns each series on exactly one worker: the table holds every series'
`SeriesMonitor` state, restored from the changelog after a restart or a rebalance, so a worker continues
where the last one stopped, and anomaly ids are stable, so a replay updates anomalies instead of adding them.
Whether an anomaly is alerted follows its tenant's `anomaly_impact` policy where it has one (`series/thresholds`),
read from the store before the first series message and every minute after (`worker/policies`).
A series fed by several usage partitions (total, tags, resources) closes its buckets on the partitions' watermark
(`series/watermarks`): each split stage sends every series partition its read marks after each batch and every
second, so a backfill shared by several workers learns exactly what one worker would.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
from aiokafka import TopicPartition
from faust.types import StreamT, TopicT

from outlay.events.anomaly import AnomalyFeedback, CostAnomaly
from outlay.events.dead_letter import DeadLetter
from outlay.events.topics import ANOMALIES, ANOMALY_FEEDBACK, INGEST_DLQ, USAGE
from outlay.events.usage import UsageRecord
from outlay.kafka.compression import use_fast_lz4
from outlay.kafka.consumer import BatchConsumer, ConsumedBatch, KafkaMessage, dead_letter_for, decode_messages
from outlay.kafka.producer import KeyedEvent, key_partition
from outlay.settings import Settings
from outlay.store.engine import make_engine
from outlay.telemetry import metrics, tracing
from services.anomaly.detection.detector import DetectorSettings
from services.anomaly.detection.incidents import IncidentSettings
from services.anomaly.series.keys import (
    LineKey,
    SeriesContribution,
    SeriesSettings,
    contributions,
    fed_by_one_partition,
    line_key,
    usage_problem,
)
from services.anomaly.series.monitor import MonitorSettings, SeriesMonitor
from services.anomaly.series.pacing import Leads, Pacer
from services.anomaly.series.silence import SilenceFiller
from services.anomaly.series.tenants import feedback_series
from services.anomaly.series.thresholds import ALERT_LEVEL_BY_SENSITIVITY, TenantThresholds
from services.anomaly.series.top_spenders import TopSpenders
from services.anomaly.series.watermarks import PartitionReads, UsageMarks, Watermarks
from services.anomaly.worker.in_order import InOrder
from services.anomaly.worker.messages import SeriesMessage
from services.anomaly.worker.policies import REFRESH_EVERY, ThresholdRefresher, store_loader
from services.anomaly.worker.transport import FETCH_MAX_WAIT_MS, SCHEME

log = logging.getLogger(__name__)

# The cost series' detector: the NAB-chosen chain without what cost the labelled benchmark (docs/anomaly.md,
# seed 11): the z cap of 8 and the range-floored deviations delayed alerts (4.5 → 6 min), the alert-rate
# factor cost recall with the range rule, and the range rule at 2% cost precision (0.822 → 0.800); at 10% it
# left the labelled figures unchanged and adds 10 points on NAB (44.8 → 55.4).
COST_DETECTOR = DetectorSettings(
    cap=50.0, sd_floor=0.0, range_tolerance=0.1, alert_growth=1.0, run_tolerance=None, daily_slots=0
)
SERIES_TOPIC = "outlay-anomaly-series"  # internal: created by faust with the app's partition count
BATCH = 2000  # usage lines summed per stage-1 batch (at most)
BATCH_WITHIN = timedelta(milliseconds=200)
MARKS_EVERY = 1.0  # seconds: read marks are also sent this often without new usage (a caught-up partition)
# Seconds between sweeps of a series partition (its watermark closing buckets of series with no news) while the
# stream is behind: a sweep writes every series it closes, a second write per batch in a backfill. A live stream
# (every usage partition read to its end) is swept on each mark, so its alerts are not held back.
SWEEP_EVERY = 1.0
FETCH_UNTIL = 2 * BATCH  # lines of a partition waiting for pacing before it is no longer fetched
PACE_EVERY = 0.25  # seconds: how often lines held back by pacing are looked at again without new usage
COMMIT_EVERY = 1.0  # seconds between commits of the usage lines processed (and at every rebalance and stop)
PACED = -1  # the split stage's view in its `Watermarks` (the monitor's are keyed by series partition)


@dataclass(frozen=True)
class WorkerSettings:
    bootstrap_servers: str
    app_id: str
    split_group: str  # the split stage's consumer group (it reads usage outside faust)
    partitions: int
    replication: int
    series: SeriesSettings
    monitor: MonitorSettings
    # Where tenants' `anomaly_impact` policies are read (None: the deployment's thresholds for every tenant).
    store_url: str | None = None
    policy_refresh: timedelta = REFRESH_EVERY

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerSettings:
        assert settings.kafka_bootstrap_servers, "the service runner resolves the broker first"
        return cls(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            app_id=settings.anomaly_group_id,
            split_group=settings.anomaly_split_group_id,
            partitions=settings.topic_partitions,
            replication=settings.topic_replication,
            series=series_settings(settings),
            monitor=monitor_settings(settings),
            store_url=settings.store_url,
        )


def series_settings(settings: Settings) -> SeriesSettings:
    return SeriesSettings(tag_keys=settings.series_tag_keys)


def monitor_settings(settings: Settings) -> MonitorSettings:
    """What the deployment's settings make of every series' detector and incidents."""
    return MonitorSettings(
        detector=replace(COST_DETECTOR, alert_level=ALERT_LEVEL_BY_SENSITIVITY[settings.anomaly_sensitivity]),
        incidents=IncidentSettings(
            min_impact=settings.anomaly_min_impact, min_impact_ratio=settings.anomaly_min_impact_pct / 100
        ),
    )


class MonitorCache:
    """Live `SeriesMonitor` objects beside the table, so a state is rebuilt only when the table holds one this
    worker did not write (after recovery from the changelog, or after a rebalance)."""

    def __init__(self, settings: MonitorSettings) -> None:
        self._settings = settings
        self._live: dict[str, tuple[dict[str, Any], SeriesMonitor]] = {}

    def get(self, series: str, stored: dict[str, Any] | None) -> SeriesMonitor | None:
        if stored is None:
            return None
        cached = self._live.get(series)
        if cached is not None and cached[0] is stored:
            return cached[1]
        return SeriesMonitor.from_state(stored, self._settings)

    def saved(self, series: str, stored: dict[str, Any], monitor: SeriesMonitor) -> None:
        self._live[series] = (stored, monitor)


def create_app(settings: WorkerSettings) -> faust.App:
    use_fast_lz4()  # faust produces through aiokafka too
    brokers = ";".join(f"{SCHEME}://{host}" for host in settings.bootstrap_servers.split(","))
    app = faust.App(
        settings.app_id,
        broker=brokers,
        store="memory://",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        table_standby_replicas=0,
        # The embedded broker's group joins are slow with faust's defaults (DESIGN.md: 30 s to ready).
        broker_session_timeout=10,
        broker_rebalance_timeout=10,
        broker_heartbeat_interval=1,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_compression_type="lz4",
        web_enabled=False,
    )
    feedback = app.topic(ANOMALY_FEEDBACK.name, key_serializer="raw", value_serializer="raw")
    series_topic = app.topic(SERIES_TOPIC, internal=True, key_serializer="raw", value_serializer="raw")
    anomalies = app.topic(ANOMALIES.name, key_serializer="raw", value_serializer="raw")
    dead_letters = app.topic(INGEST_DLQ.name, key_serializer="raw", value_serializer="raw")
    # JSON keys and values (faust's codec). Values stored as bytes pre-encoded by pydantic's faster JSON
    # encoder were tried: under CPU load a restarted worker then lost series updates (a minute read as zero).
    table = app.Table("series-monitors", default=None, partitions=settings.partitions)
    cache = MonitorCache(settings.monitor)
    # In memory: after a restart the ranking is rebuilt from the next batches (the series' states are kept).
    top = TopSpenders()
    silence = SilenceFiller()  # zeros for live series that stopped, so a cost that stops is a drop on time
    # Tenants' alert thresholds: read before the monitor's first message, then every `policy_refresh`.
    engine = make_engine(settings.store_url) if settings.store_url else None
    thresholds = ThresholdRefresher(
        settings.monitor.incidents,
        None if engine is None else store_loader(engine),
        alert_level=settings.monitor.detector.alert_level,
    )

    # faust can deliver a message twice or drop one while a worker starts or rebalances: the monitor reads its
    # partitions in offset order through `in_order` (worker/read_positions.py).
    in_order = InOrder(app, settings.bootstrap_servers, settings.app_id)

    # Read marks: the split stage's, and per series partition those received and the series they hold back.
    reads = PartitionReads(settings.monitor.lateness)
    watermarks = Watermarks()
    # Pacing: usage lines waiting until the slowest partition is close enough, and every usage partition's
    # position as the split stage sees it (the marks every monitor receives, and its own, fresher).
    leads = Leads(lateness=settings.monitor.lateness)  # per tenant and granularity, from the sizes of its buckets
    pacer: Pacer[Intake] = Pacer(lead=leads)
    pace = Watermarks()
    processed: dict[TopicPartition, int] = {}  # per usage partition, the offset after its last line processed
    committed_at = [0.0]  # when `processed` was last committed (monotonic seconds)
    held = HeldSeries()
    # A batch's positions, contributions and marks change together: marks sent between them could say a partition
    # was read past lines whose contributions are not sent yet.
    split_lock = asyncio.Lock()

    @app.on_partitions_revoked.connect
    async def forget_revoked(_app: Any, /, *args: Any, signal: Any, **_kwargs: Any) -> None:
        (revoked,) = args
        in_order.forget(revoked)
        series_partitions = [tp.partition for tp in revoked if tp.topic == series_topic.get_topic_name()]
        watermarks.forget(series_partitions)
        held.forget(series_partitions)

    @app.on_before_shutdown.connect
    async def close_offsets(_app: Any, /, *_args: Any, signal: Any, **_kwargs: Any) -> None:
        await in_order.close()

    async def send(topic: TopicT, event: KeyedEvent) -> None:
        # The current span's context travels with it (nothing when tracing is off).
        await topic.send(key=event.key, value=event.model_dump_json().encode(), headers=tracing.kafka_headers() or None)

    async def revoke_usage(revoked: set[TopicPartition]) -> None:
        """Before a rebalance hands usage partitions on: commit what was processed of them and drop what pacing
        held back (their next owner reads it from the committed offset)."""
        async with split_lock:
            try:
                await commit_processed(revoked)
            finally:  # aiokafka logs a listener's error and goes on: these are no longer this worker's either way
                partitions = [tp.partition for tp in revoked]
                reads.forget(partitions)
                pacer.forget(partitions)
                for tp in revoked:
                    processed.pop(tp, None)
                window.close()

    # A live stream's fetches bring a few lines each: batches are gathered as faust's `take` did, as each batch
    # sends marks to every series partition (and a live partition is swept on each).
    window = BatchWindow(BATCH, BATCH_WITHIN.total_seconds())
    readers: list[BatchConsumer[UsageRecord]] = []  # the split stage's, made once the app's loop runs (aiokafka's rule)

    def usage_reader() -> BatchConsumer[UsageRecord]:
        return readers[-1]

    def usage_partitions() -> int:
        """The usage topic's partitions (the settings' count until the reader has seen the topic)."""
        return usage_reader().partitions() or settings.partitions

    @app.task
    async def split() -> None:
        """Stage 1: usage read in batches, each line held until pacing lets it through (series/pacing)."""
        readers.append(
            BatchConsumer(
                settings.bootstrap_servers,
                UsageRecord,
                settings.split_group,
                topic=USAGE,
                max_records=BATCH,
                decode_in_thread=False,
                fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
                on_revoked=revoke_usage,
            )
        )
        await usage_reader().start()
        try:
            while True:
                # The fetch and the pacer's taking its lines are one step (nothing awaited between them): a fetch moves
                # the reader's position, and marks sent in between would say a partition was read past lines not
                # sent yet. Not under the lock: aiokafka's fetch waits out a rebalance, whose listener takes the lock.
                _fetched, intakes, dead = await usage_reader().next_batch_held(
                    read_intakes, timeout_ms=int(window.wait(time.monotonic()) * 1000)
                )
                for intake in intakes or []:
                    pacer.offer(intake.partition, intake, intake.keys())
                window.took(len(intakes or ()), time.monotonic())
                await usage_reader().send_dead_letters(dead)  # before their offsets can be committed
                if window.full(time.monotonic()):
                    window.close()
                    async with split_lock:
                        await drain()
                if time.monotonic() - committed_at[0] >= COMMIT_EVERY:
                    async with split_lock:
                        await commit_processed()
        finally:
            try:
                async with split_lock:
                    await commit_processed()
            finally:
                await usage_reader().stop()

    async def drain() -> None:
        """Process what pacing lets through, a batch at a time, until it holds back all that is left."""
        while True:
            # Paced by the positions the last marks sent said (the ones the monitors close buckets by), so a batch
            # reaches at most its kind's lead (`pacing.Leads`) past the watermark whatever its size.
            now = time.monotonic()
            pace.update(PACED, local_marks(await usage_reader().caught_up()), now)
            batch = pacer.release(functools.partial(pace.watermark, PACED, now=now), BATCH)
            if not batch:
                throttle_fetches()
                return
            for intake in batch:  # lateness within a partition is judged in its order, as lines are released
                intake.late = {
                    (k.tenant, r.record_id) for r, k in intake.lines if k and reads.read(intake.partition, k)
                }
            began = time.perf_counter()
            with tracing.batch_span("anomaly split", [i.message.headers for i in batch], messages=len(batch)):
                await split_batch(batch)
                # In the batch's trace: the buckets these marks let close, and their anomalies, belong to it.
                await send_marks()
            for intake in batch:  # released in offset order within each partition
                processed[TopicPartition(USAGE.name, intake.partition)] = intake.message.offset + 1
            metrics.record_batch_seconds("anomaly split", time.perf_counter() - began)

    async def commit_processed(partitions: set[TopicPartition] | None = None) -> None:
        """Commit each usage partition up to its first line not processed (held lines come after it), once what those
        lines sent is on the broker."""
        committed_at[0] = time.monotonic()
        offsets = {tp: offset for tp, offset in processed.items() if partitions is None or tp in partitions}
        if not offsets:
            return
        await app.producer.flush()
        if await usage_reader().commit(ConsumedBatch(offsets=offsets)):
            for tp, offset in offsets.items():
                if processed.get(tp) == offset:  # not moved on meanwhile
                    del processed[tp]

    def throttle_fetches() -> None:
        """Stop fetching a usage partition while many of its lines wait (it is far ahead), and fetch it again once
        few do: what waits stays a few batches per partition, not the whole backfill."""
        paused = usage_reader().paused()
        for tp in usage_reader().assignment():
            waiting = pacer.waiting(tp.partition)
            if waiting > FETCH_UNTIL and tp not in paused:
                usage_reader().pause({tp})
            elif waiting <= BATCH and tp in paused:
                usage_reader().resume({tp})

    async def split_batch(batch: list[Intake]) -> None:
        kept = [record for intake in batch for record, _key in intake.lines]
        late = set().union(*(intake.late for intake in batch))
        found = contributions(kept, settings.series, top, late)
        # This worker's partitions send about their share of each bucket's lines.
        owned = len(usage_reader().assignment())
        leads.observe(found, share=owned / usage_partitions() if owned else 1.0)
        silence.observe(found)
        by_series: dict[str, list[SeriesContribution]] = {}
        for contribution in found + silence.zeros(datetime.now(UTC)):
            by_series.setdefault(contribution.series, []).append(contribution)
        for its_contributions in by_series.values():
            its_contributions.sort(key=lambda c: c.bucket)
            for part in SeriesMessage.of(its_contributions):
                await send(series_topic, part)

    def local_marks(caught_up: dict[TopicPartition, bool]) -> UsageMarks:
        """How far each usage partition this worker owns has been read, a line held back counting as read (it
        will send nothing earlier): a partition with lines held back is not caught up."""
        return UsageMarks(
            partitions=usage_partitions(),
            marks=reads.marks(
                {tp.partition: done and not pacer.holds(tp.partition) for tp, done in caught_up.items()},
                ahead=pacer.heads(),
            ),
        )

    async def send_marks() -> None:
        """Tell every series partition how far each usage partition this worker owns has been read."""
        if not readers or not usage_reader().assignment():
            return
        value = SeriesMessage(marks=local_marks(await usage_reader().caught_up())).model_dump_json().encode()
        for partition in range(settings.partitions):
            await series_topic.send(key=b"", value=value, partition=partition, headers=tracing.kafka_headers() or None)

    @app.timer(PACE_EVERY)
    async def release_paced() -> None:
        """Lines held back move on as other workers' marks come in, without new usage for this worker."""
        if pacer.waiting() and not window.opened:  # not a batch being gathered: it is drained when gathered
            async with split_lock:
                await drain()

    @app.timer(MARKS_EVERY)
    async def send_marks_while_idle() -> None:
        async with split_lock:
            await send_marks()
        in_order.record_lag()

    @app.agent(feedback)
    async def route_feedback(stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            verdicts, dead = decode_messages(AnomalyFeedback, [event.message])
            for letter in dead:
                await send(dead_letters, letter)
            for verdict in verdicts:
                routed = routed_feedback(verdict)
                if routed is None:
                    log.warning(
                        "feedback of tenant %s on series %r of another tenant ignored",
                        verdict.tenant_id,
                        verdict.series,
                    )
                    continue
                await send(series_topic, SeriesMessage(feedback=routed))
            yield None

    @app.agent(series_topic)
    async def monitor(stream: StreamT[bytes]) -> AsyncIterator[None]:
        await thresholds.start()
        async for _value in stream:
            # The series message, and before it any of its partition's that faust did not deliver.
            event = stream.current_event
            messages = [] if event is None else await in_order.messages([event])
            for delivered in messages:
                message = SeriesMessage.model_validate_json(delivered.value or b"")
                partition = delivered.partition
                # Anomalies are sent in the span of the message that published them (the batch's trace).
                if message.marks is not None:
                    watermarks.update(partition, message.marks, time.monotonic())
                    pace.update(PACED, message.marks, time.monotonic())
                    with tracing.batch_span("anomaly sweep", [delivered.headers], partition=partition):
                        for anomaly in await sweep(partition):
                            await send(anomalies, anomaly)
                    continue
                with tracing.batch_span("anomaly monitor", [delivered.headers], series=message.series or ""):
                    clock = functools.partial(watermarks.watermark, partition, now=time.monotonic())
                    for anomaly in _apply(message, table, cache, settings.monitor, thresholds.current, clock):
                        await send(anomalies, anomaly)
                held.saw(partition, message)
            await in_order.processed(messages)
            yield None

    async def sweep(partition: int) -> list[CostAnomaly]:
        """Close what the watermark allows in the partition's series fed by several usage partitions (at most
        every SWEEP_EVERY): a series' last buckets must not wait for its next line."""
        now = time.monotonic()
        if not held.due(partition, now, 0.0 if watermarks.live(partition) else SWEEP_EVERY):
            return []
        if not held.knows(partition):  # first sweep since it was assigned: the states it restored hold some too
            held.seed(partition, restored_held(table.items(), partition, settings.partitions))
        published: list[CostAnomaly] = []
        last: SeriesMonitor | None = None
        for series in held.series(partition):
            monitor = cache.get(series, table.get(series))
            if monitor is None:
                continue
            step_s = int(monitor.buckets.step.total_seconds())
            watermark = watermarks.watermark(partition, monitor.tenant_id, step_s, now)
            if watermark is None or not monitor.buckets.closes_before(watermark):
                continue
            published += _with_thresholds(monitor, thresholds.current).advance(watermark)
            _save(monitor, table, cache)
            last = monitor
        if last is not None:
            # The last state alone in the last produce batch: the embedded broker's ListOffsets under-reports by up
            # to one batch (DESIGN.md), so a restarted worker's recovery would stop short of a batch's later states.
            await app.producer.flush()
            _save(last, table, cache)
            await app.producer.flush()
        return published

    @app.timer(settings.policy_refresh.total_seconds())
    async def refresh_thresholds() -> None:
        await thresholds.refresh()

    if engine is not None:
        store = engine

        @app.on_before_shutdown.connect
        async def close_store(_app: Any, /, *_args: Any, signal: Any, **_kwargs: Any) -> None:
            await store.dispose()

    return app


@dataclass
class Intake:
    """A usage message as read: its lines (checked, each with where it falls in time)."""

    message: KafkaMessage
    lines: list[tuple[UsageRecord, LineKey | None]]
    late: set[tuple[str, str]] = field(default_factory=set)  # (tenant, record id) of lines late within the partition

    @property
    def partition(self) -> int:
        return self.message.partition

    @classmethod
    def of(cls, message: KafkaMessage) -> tuple[Intake, list[DeadLetter]]:
        """The message's intake, and the dead letters of what it holds that cannot be learnt."""
        records, dead = decode_messages(UsageRecord, [message])
        lines = []
        for record in records:
            problem = usage_problem(record)
            if problem is None:
                lines.append((record, line_key(record)))
            else:
                dead.append(dead_letter_for(message, problem[1], problem[0]))
        return cls(message, lines), dead

    def keys(self) -> list[LineKey]:
        return [key for _record, key in self.lines if key is not None]


def read_intakes(messages: Sequence[KafkaMessage]) -> tuple[list[Intake], list[DeadLetter]]:
    """The split stage's decoder: every message's intake, and the dead letters of them all."""
    intakes, dead = [], []
    for message in messages:
        intake, its_dead = Intake.of(message)
        intakes.append(intake)
        dead += its_dead
    return intakes, dead


@dataclass
class BatchWindow:
    """The split stage's batch being gathered: from its first line, until `size` lines or `within` seconds."""

    size: int
    within: float
    opened: float | None = None  # when its first line came (monotonic seconds); None: nothing gathered
    taken: int = 0

    def took(self, lines: int, now: float) -> None:
        if lines:
            self.taken += lines
            self.opened = now if self.opened is None else self.opened

    def wait(self, now: float) -> float:
        """How long the next fetch may wait for lines: the window's rest, or a whole window before the first."""
        return self.within if self.opened is None else max(0.0, self.opened + self.within - now)

    def full(self, now: float) -> bool:
        return self.opened is not None and (self.taken >= self.size or now - self.opened >= self.within)

    def close(self) -> None:
        self.opened, self.taken = None, 0


class HeldSeries:
    """Per series partition, the series there fed by several usage partitions (closed by the watermark), and
    when that partition was last swept."""

    def __init__(self) -> None:
        self._series: dict[int, set[str]] = {}
        self._swept: dict[int, float] = {}
        self._seeded: set[int] = set()

    def saw(self, partition: int, message: SeriesMessage) -> None:
        if message.contributions and not fed_by_one_partition(message.contributions[0].dimensions):
            self._series.setdefault(partition, set()).add(message.contributions[0].series)

    def knows(self, partition: int) -> bool:
        return partition in self._seeded

    def seed(self, partition: int, series: Iterable[str]) -> None:
        self._seeded.add(partition)
        self._series.setdefault(partition, set()).update(series)

    def series(self, partition: int) -> list[str]:
        return sorted(self._series.get(partition, ()))

    def due(self, partition: int, now: float, every: float) -> bool:
        if now - self._swept.get(partition, float("-inf")) < every:
            return False
        self._swept[partition] = now
        return True

    def forget(self, partitions: list[int]) -> None:
        for partition in partitions:
            self._series.pop(partition, None)
            self._swept.pop(partition, None)
            self._seeded.discard(partition)


def restored_held(states: Iterable[tuple[str, dict[str, Any]]], partition: int, partitions: int) -> list[str]:
    """The series of a series-topic partition, among stored states, that wait for the watermark with buckets open
    (a worker that restarted or took the partition over has seen no contribution of theirs yet)."""
    return [
        series
        for series, state in states
        if state
        and state["buckets"]["open"]
        and not fed_by_one_partition(state["dimensions"])
        and key_partition(series.encode(), partitions) == partition  # a series' key decides its partition
    ]


def routed_feedback(feedback: AnomalyFeedback) -> AnomalyFeedback | None:
    """The verdict as sent to its series' worker: its series named within its own tenant, or None when it
    names another tenant's series."""
    series = feedback_series(feedback)
    if series is None:
        return None
    return feedback if series == feedback.series else feedback.model_copy(update={"series": series})


def _apply(
    message: SeriesMessage,
    table: Any,
    cache: MonitorCache,
    settings: MonitorSettings,
    thresholds: TenantThresholds | None = None,
    watermark: Callable[[str, int], datetime | None] | None = None,
) -> list[CostAnomaly]:
    """One series message applied to its series' monitor, which alerts by its tenant's `thresholds` (None: the
    deployment's, `settings.incidents`, for every tenant). A series fed by several usage partitions closes its
    buckets on `watermark` ((tenant, granularity in seconds) → the partitions' watermark); without one, every
    series closes on its own data."""
    series = message.series
    if series is None:
        return []
    monitor = cache.get(series, table.get(series))
    if message.contributions:
        monitor = monitor or SeriesMonitor.for_contribution(message.contributions[0], settings)
    elif monitor is None:
        log.info("feedback for unknown series %s ignored", series)
        return []
    else:
        assert message.feedback is not None
        if message.feedback.tenant_id != monitor.tenant_id:  # `routed_feedback` sends none such: kept out anyway
            log.warning("feedback of tenant %s on series %r ignored", message.feedback.tenant_id, series)
            return []
    _with_thresholds(monitor, thresholds)
    if not message.contributions:
        assert message.feedback is not None
        published = monitor.give_feedback(message.feedback)
    elif watermark is None or fed_by_one_partition(monitor.incidents.dimensions):
        published = [anomaly for c in message.contributions for anomaly in monitor.add(c)]
    else:
        at = watermark(monitor.tenant_id, message.contributions[0].granularity_s)
        published = monitor.add_held(message.contributions, at)
    _save(monitor, table, cache)
    return published


def _with_thresholds(monitor: SeriesMonitor, thresholds: TenantThresholds | None) -> SeriesMonitor:
    if thresholds is not None:
        monitor.use_incident_settings(thresholds.incident_settings(monitor.tenant_id))
    return monitor


def _save(monitor: SeriesMonitor, table: Any, cache: MonitorCache) -> None:
    stored = monitor.state()
    table[monitor.series] = stored
    cache.saved(monitor.series, stored, monitor)
