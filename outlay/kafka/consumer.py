"""A typed batch consumer: decoded events in batches, explicit offset commits, bad messages to the DLQ.

Offsets are committed only when the caller says a batch is done (`commit(batch)`), after its sink has
written it: delivery is at-least-once and every sink is idempotent. A message that does not decode as
the topic's event type is sent to `outlay.ingest.dlq.v1` as a `DeadLetter` (and counted) before its
batch can be committed, so a bad message never stops the stream and is never silently lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType
from typing import Generic, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from pydantic import BaseModel, ValidationError

from outlay.events.dead_letter import DeadLetter
from outlay.events.topics import Topic, topic_for
from outlay.kafka.producer import EventProducer
from outlay.telemetry import metrics, tracing
from outlay.telemetry.tracing import KafkaHeaders

log = logging.getLogger(__name__)

E = TypeVar("E", bound=BaseModel)
R = TypeVar("R")

RAW_LIMIT = 4096  # characters of an undecodable value kept in the dead letter


@dataclass
class ConsumedBatch(Generic[E]):
    """Decoded events of one fetch, and the offsets that commit it (next offset per partition)."""

    events: list[E] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    rejected: int = 0
    # Each message's headers, kept only while tracing (they carry the producers' trace contexts).
    headers: list[KafkaHeaders] = field(default_factory=list)
    # Valid messages decoded by the caller's own decoder (`next_batch_decoded`), so not in `events`.
    accepted: int = 0

    @property
    def messages(self) -> int:
        return len(self.events) + self.accepted + self.rejected

    def __bool__(self) -> bool:
        return bool(self.offsets)


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= RAW_LIMIT else text[:RAW_LIMIT] + "…"


class KafkaMessage(Protocol):
    """What a dead letter (and a trace) needs of a consumed message (aiokafka's ConsumerRecord and faust's Message both fit)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> KafkaHeaders: ...


# Turns a fetch's messages into what the caller wants (say rows to write) and the dead letters of the
# messages that do not decode; no I/O (it may run in a worker thread).
BatchDecoder = Callable[[Sequence[KafkaMessage]], tuple[R, list[DeadLetter]]]


def dead_letter_for(message: KafkaMessage, reason: str, field_name: str | None) -> DeadLetter:
    return DeadLetter(
        source="kafka",
        file=f"kafka://{message.topic}/{message.partition}/{message.offset}",
        field=field_name,
        reason=reason,
        raw={"key": _text(message.key), "value": _text(message.value)},
    )


def decode_messages(event: type[E], messages: Sequence[KafkaMessage]) -> tuple[list[E], list[DeadLetter]]:
    """Decode `messages` as `event`; the ones that do not decode become dead letters. No I/O."""
    events: list[E] = []
    dead: list[DeadLetter] = []
    for msg in messages:
        if msg.value is None:
            dead.append(dead_letter_for(msg, "empty message value (tombstone)", None))
            continue
        try:
            events.append(event.model_validate_json(msg.value))
        except ValidationError as exc:
            first = exc.errors()[0] if exc.error_count() else None
            where = ".".join(str(part) for part in first["loc"]) if first and first["loc"] else None
            reason = f"not a valid {event.__name__}: {exc.error_count()} error(s); first: " + (
                f"{where or '(message)'}: {first['msg']}" if first else str(exc)
            )
            dead.append(dead_letter_for(msg, reason, where))
    return events, dead


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """`consumer.stop()`, with its client closed even when the stop fails part-way.

    aiokafka's fetcher cancels its pending requests on close and awaits them unguarded: with the broker gone, that
    re-raises their CancelledError and skips closing the client, whose metadata task then runs for the life of the
    process. Errors still propagate (a cancellation only when this task is being cancelled); only the client is
    not left behind."""
    try:
        await consumer.stop()
    except BaseException as exc:
        client = getattr(consumer, "_client", None)  # no public way to close it alone
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
        task = asyncio.current_task()
        if isinstance(exc, asyncio.CancelledError) and task is not None and not task.cancelling():
            # aiokafka's own requests' cancellation, not this task's: it must not pass for a shutdown (a retry loop
            # would stop retrying, or replace the error that ended the consumer).
            log.debug("a stopping consumer's pending requests were cancelled")
            return
        raise


class BatchConsumer(Generic[E]):
    """Consumes one topic's events in a consumer group, in batches, committing only on request.

    `producer` sends the dead letters; one is created (and owned) when none is given. The session
    and heartbeat defaults are short because group joins are slow on the embedded broker and a
    stopped worker's partitions should move quickly; production can raise them.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        event: type[E],
        group_id: str,
        *,
        topic: Topic | None = None,
        producer: EventProducer | None = None,
        client_id: str = "outlay",
        max_records: int = 5000,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 1_000,
        rebalance_timeout_ms: int | None = None,
        max_poll_interval_ms: int = 300_000,
        auto_offset_reset: str = "earliest",
        decode_in_thread: bool = True,
        fetch_max_wait_ms: int = 500,
        on_revoked: Callable[[set[TopicPartition]], Awaitable[None]] | None = None,
    ) -> None:
        self.event = event
        self.topic = topic or topic_for(event)
        self.max_records = max_records
        self.decode_in_thread = decode_in_thread  # keeps the loop free for the sink's I/O meanwhile
        self.consumed = 0
        self.rejected = 0
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        self._group_id = group_id
        self._producer = producer
        self._owns_producer = producer is None
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset=auto_offset_reset,
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=heartbeat_interval_ms,
            rebalance_timeout_ms=rebalance_timeout_ms or session_timeout_ms,
            max_poll_interval_ms=max_poll_interval_ms,
            fetch_max_wait_ms=fetch_max_wait_ms,
        )
        self._consumer.subscribe([self.topic.name], listener=None if on_revoked is None else _OnRevoked(on_revoked))

    async def start(self) -> BatchConsumer[E]:
        if self._producer is None:
            self._producer = EventProducer(self._bootstrap, client_id=f"{self._client_id}-dlq")
        try:
            if self._owns_producer:
                await self._producer.start()
            await self._consumer.start()
        except BaseException:
            # A start cut short (cancelled at shutdown, broker away) leaves aiokafka's tasks running, and
            # `async with` calls no __aexit__ when __aenter__ fails: they would retry a gone broker for ever.
            with contextlib.suppress(Exception):
                await self.stop()
            raise
        return self

    async def stop(self) -> None:
        try:
            await stop_consumer(self._consumer)
        finally:
            if self._owns_producer and self._producer is not None:
                await self._producer.stop()

    async def __aenter__(self) -> BatchConsumer[E]:
        return await self.start()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def assignment(self) -> set[TopicPartition]:
        return set(self._consumer.assignment())

    def partitions(self) -> int | None:
        """The topic's partition count, as the last metadata said (None before any)."""
        found = self._consumer.partitions_for_topic(self.topic.name)
        return len(found) if found else None

    def pause(self, partitions: set[TopicPartition]) -> None:
        """Fetch nothing more of `partitions` (nor return what was fetched) until they are resumed."""
        self._consumer.pause(*(partitions & self.assignment()))

    def resume(self, partitions: set[TopicPartition]) -> None:
        self._consumer.resume(*(partitions & self.assignment()))

    def paused(self) -> set[TopicPartition]:
        """The assigned partitions paused (a new assignment starts with none)."""
        return set(self._consumer.paused())

    async def caught_up(self) -> dict[TopicPartition, bool]:
        """Whether each assigned partition has been read to its end, as far as the last fetch knew."""
        found = {}
        for tp in self.assignment():
            highwater = self._consumer.highwater(tp)
            try:
                # A position not known yet (just assigned) is waited for only briefly: not caught up meanwhile.
                found[tp] = (
                    highwater is not None and await asyncio.wait_for(self._consumer.position(tp), 0.05) >= highwater
                )
            except IllegalStateError:  # revoked meanwhile (a rebalance under way)
                continue
            except TimeoutError:
                found[tp] = False
        return found

    async def next_batch(self, timeout_ms: int = 200) -> ConsumedBatch[E]:
        """Fetch up to `max_records` messages (waiting at most `timeout_ms`) and decode them.

        Dead letters of the batch are delivered before this returns, so committing the batch
        afterwards never loses a bad message.
        """
        batch, messages = await self._fetch(timeout_ms)
        if not messages:
            return batch
        events, dead = await self._decode(partial(decode_messages, self.event), messages)
        batch.events = events
        await self._received(batch, messages, dead)
        return batch

    async def next_batch_decoded(
        self, decode: BatchDecoder[R], timeout_ms: int = 200
    ) -> tuple[ConsumedBatch[E], R | None]:
        """`next_batch`, but the caller's `decode` turns the raw messages into its own result (None
        when nothing was fetched); the batch then carries no events, only offsets, headers and the
        count of rejected messages. Dead letters are delivered before this returns, as for `next_batch`.
        """
        batch, messages = await self._fetch(timeout_ms)
        if not messages:
            return batch, None
        result, dead = await self._decode(decode, messages)
        batch.accepted = len(messages) - len(dead)
        await self._received(batch, messages, dead)
        return batch, result

    async def next_batch_held(
        self, decode: BatchDecoder[R], timeout_ms: int = 200
    ) -> tuple[ConsumedBatch[E], R | None, list[DeadLetter]]:
        """`next_batch_decoded` with its dead letters handed back, not sent: the caller resumes straight after the
        fetch (`decode` runs in this task, and nothing is awaited after the fetch), so what it does with the result
        before its own next await is one step with the fetch. It sends the dead letters (`send_dead_letters`)
        before committing the batch."""
        batch, messages = await self._fetch(timeout_ms)
        if not messages:
            return batch, None, []
        result, dead = decode(messages)
        batch.accepted = len(messages) - len(dead)
        self._counted(batch, messages, dead)
        return batch, result, dead

    async def send_dead_letters(self, dead: list[DeadLetter]) -> None:
        if dead:
            await self._dead_letter(dead)

    async def _decode(
        self, decode: BatchDecoder[R], messages: list[ConsumerRecord[bytes, bytes]]
    ) -> tuple[R, list[DeadLetter]]:
        if self.decode_in_thread and len(messages) > 64:
            return await asyncio.to_thread(decode, messages)
        return decode(messages)

    async def _fetch(self, timeout_ms: int) -> tuple[ConsumedBatch[E], list[ConsumerRecord[bytes, bytes]]]:
        fetched = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=self.max_records)
        batch: ConsumedBatch[E] = ConsumedBatch()
        messages: list[ConsumerRecord[bytes, bytes]] = []
        for tp, msgs in fetched.items():
            if msgs:
                messages.extend(msgs)
                batch.offsets[tp] = msgs[-1].offset + 1
        return batch, messages

    async def _received(
        self, batch: ConsumedBatch[E], messages: list[ConsumerRecord[bytes, bytes]], dead: list[DeadLetter]
    ) -> None:
        self._counted(batch, messages, dead)
        await self.send_dead_letters(dead)

    def _counted(
        self, batch: ConsumedBatch[E], messages: list[ConsumerRecord[bytes, bytes]], dead: list[DeadLetter]
    ) -> None:
        batch.rejected = len(dead)
        if tracing.enabled():
            batch.headers = [m.headers for m in messages]
        self.consumed += len(messages)
        metrics.count_events(self._group_id, self.topic.name, "in", len(messages))

    async def _dead_letter(self, dead: list[DeadLetter]) -> None:
        assert self._producer is not None, "start() the consumer first"
        self.rejected += len(dead)
        for letter in dead:
            log.warning("dead letter %s: %s", letter.file, letter.reason)
        await self._producer.send_many(dead)

    async def commit(self, batch: ConsumedBatch[E]) -> bool:
        """Commit the batch's offsets. False when the group rebalanced meanwhile: the partition's
        new owner re-reads those messages, which the idempotent sink absorbs."""
        if not batch.offsets:
            return True
        assigned = self.assignment()
        offsets = {tp: off for tp, off in batch.offsets.items() if tp in assigned}
        if not offsets:
            return False
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning("offset commit skipped after a rebalance: %s", exc)
            return False
        self._record_lag(offsets)
        return len(offsets) == len(batch.offsets)

    def _record_lag(self, committed: dict[TopicPartition, int]) -> None:
        lags = {}
        for tp, offset in committed.items():
            highwater = self._consumer.highwater(tp)  # as of the last fetch: no extra request
            if highwater is not None:
                lags[(tp.topic, tp.partition)] = highwater - offset
        metrics.record_consumer_lag(self._group_id, lags)


class _OnRevoked(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no type hints
    """aiokafka calls it before a rebalance hands partitions on: the caller commits what it processed of them."""

    def __init__(self, on_revoked: Callable[[set[TopicPartition]], Awaitable[None]]) -> None:
        self._on_revoked = on_revoked

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        pass
