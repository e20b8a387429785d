"""The worker's stages read each partition exactly once, in offset order: `ReadPositions` decides; this adapter
starts a partition at the group's committed offset and reads the messages faust skipped itself, with a
group-less consumer, before the message that showed them missing (read_positions.py says why)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka.structs import ConsumerRecord
from faust.types import TP, AppT, EventT

from outlay.kafka.consumer import KafkaMessage
from outlay.kafka.offsets import GroupOffsets, read_range
from outlay.telemetry import metrics
from services.anomaly.worker.read_positions import ReadPositions

log = logging.getLogger(__name__)


class InOrder:
    def __init__(self, app: AppT, bootstrap_servers: str, group: str) -> None:
        self._app = app
        self._bootstrap_servers = bootstrap_servers
        self._group = group
        self._offsets = GroupOffsets(bootstrap_servers, group)
        self._positions = ReadPositions()

    def forget(self, partitions: Iterable[TP]) -> None:
        self._positions.forget(partitions)

    def record_lag(self) -> None:
        """Each partition read so far: its high watermark (as of the last fetch) minus the next offset to read."""
        lags = {(tp.topic, tp.partition): lag for tp, lag in self._lags().items()}
        metrics.record_consumer_lag(self._group, lags)

    def _lags(self) -> dict[TP, int]:
        lags = {}
        for tp, expected in self._positions.positions():
            try:
                highwater = self._app.consumer.highwater(tp)
            except Exception:  # no longer assigned (a rebalance under way): no figure this time
                continue
            if highwater is not None:
                lags[tp] = highwater - expected
        return lags

    async def close(self) -> None:
        await self._offsets.close()

    async def messages(self, events: Sequence[EventT]) -> list[KafkaMessage]:
        """The events' messages to process, in order: repeats left out, skipped ones read back in."""
        await self._start({e.message.tp for e in events})
        found: list[KafkaMessage] = []
        for event in events:
            message = event.message
            missing = self._positions.admit(message.tp, message.offset)
            if missing is None:
                continue
            if missing:
                found += await self._read_back(message.tp, missing)
            found.append(message)
        return found

    async def processed(self, messages: Iterable[KafkaMessage]) -> None:
        """Tell faust the messages read back among `messages` are processed. It commits a partition only up to its
        first offset not acked, and it never delivered these to be acked: the group's offset would stay before the
        first one for good, and the next owner after a rebalance would read everything since again."""
        for message in messages:
            if isinstance(message, ConsumerRecord):  # read back here; faust's own are acked through their events
                tp = TP(message.topic, message.partition)
                await self._app.consumer._add_gap(tp, message.offset, message.offset)  # type: ignore[attr-defined]

    async def _read_back(self, tp: TP, missing: range) -> list[KafkaMessage]:
        log.warning("%s[%d]: offsets %d-%d were not delivered; reading them", *tp, missing.start, missing.stop - 1)
        records = list(await read_range(self._bootstrap_servers, tp.topic, tp.partition, missing))
        if len(records) < len(missing):
            log.error("%s[%d]: %d of offsets %s no longer exist", *tp, len(missing) - len(records), missing)
        return records

    async def _start(self, partitions: set[TP]) -> None:
        """Start the partitions read for the first time at the group's committed offset (the log's start if
        there is none), so a message lost before the first one delivered is found missing too."""
        unknown = {tp for tp in partitions if not self._positions.knows(tp)}
        if not unknown:
            return
        try:
            starts: dict[Any, int | None] = dict(await self._offsets.committed(unknown))
            never = [tp for tp in unknown if starts.get(tp) is None]
            if never:
                starts.update(await self._app.consumer.earliest_offsets(*never))
        except Exception as exc:  # the broker did not answer: read from the first message delivered
            log.warning("committed offsets of %s not read (%r); reading from the first message", sorted(unknown), exc)
            return
        for tp in unknown:
            start = starts.get(tp)
            if start is not None:
                self._positions.start(tp, start)
