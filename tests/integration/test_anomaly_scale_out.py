"""Scale-out: two anomaly workers in one group split the partitions and end with exactly the series states one
worker does, through the real broker.

The usage comes as a live source sends it: minute by minute (two minutes per step), each step sent once the last
one has reached the total series from every usage partition. Six services on all four usage partitions feed
per-service series (one partition each) and the total and team series (several partitions, so with two workers
both split stages feed them). Every series' final state is compared whole: buckets with their record ids, the
detector's baselines and likelihood, the seasonal profile and incident. Equal states give equal scores for
every point from here on, so the two deployments alert alike (an alert needs 300 learnt points, more minutes
than this test sends). Root-cause figures (each bucket's split by dimension value, and their baselines) are
floats summed in arrival order, so they are compared to a relative 1e-9; everything else must be equal.

What this does not cover (docs/anomaly.md): a backfill, where one worker's split stage can read its partitions
far ahead of the other's, and the series fed by both then drop the lagging worker's lines as late.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack, asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from outlay.events import CostKind, UsageRecord
from outlay.events.usage import stable_record_id
from outlay.kafka.embedded_broker import EmbeddedBroker
from outlay.kafka.producer import EventProducer, key_partition
from outlay.kafka.topics_admin import ensure_topics
from outlay.settings import Settings
from tests.integration.test_anomaly_worker import CHANGELOG, TOTAL, anomaly_worker
from tests.unit.test_anomaly_series import MINUTE, T0

pytestmark = pytest.mark.e2e
ACCOUNT = "111122223333"
# Chosen so their usage keys land on all four partitions (checked below); three teams' spend crosses partitions.
TEAM_OF = {
    "AmazonEC2": "web",
    "AmazonCloudFront": "web",
    "AmazonSNS": "web",
    "AWSLambda": "data",
    "AmazonRedshift": "data",
    "AmazonEFS": "data",
}
MINUTES = 40
WITHIN = 90.0


def line(minute: int, service: str) -> UsageRecord:
    rng = random.Random(f"{service}/{minute}")  # the same lines in both runs
    base = 2.0 + sorted(TEAM_OF).index(service)
    cost = Decimal(f"{base * (1 + 0.05 * rng.gauss(0, 1)) * (4 if service == 'AmazonEC2' and minute >= 30 else 1):.6f}")
    return team_usage(stable_record_id("scale-out", service, minute), minute, service, cost)


def team_usage(
    record_id: str,
    minute: int,
    service: str,
    cost: Decimal,
    resource: str | None = None,
    usage_type: str | None = None,
) -> UsageRecord:
    """A minute of one service's usage in the account, tagged with the service's team."""
    start = T0 + minute * MINUTE
    return UsageRecord(
        record_id=record_id,
        source="generator",
        cost_kind=CostKind.ESTIMATED,
        charge_period_start=start,
        charge_period_end=start + MINUTE,
        billing_account_id=ACCOUNT,
        region="us-east-1",
        service=service,
        resource_id=resource,
        usage_type=usage_type,
        billed_cost=cost,
        effective_cost=cost,
        list_cost=cost,
        tags={"team": TEAM_OF[service]},
    )


def minute_lines(minute: int) -> list[UsageRecord]:
    return [line(minute, service) for service in TEAM_OF]


class Changelog:
    """The latest state of every series, read from the workers' changelog as they write it."""

    def __init__(self, bootstrap: str) -> None:
        self._consumer = AIOKafkaConsumer(
            CHANGELOG, bootstrap_servers=bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=100
        )
        self.latest: dict[str, dict[str, Any]] = {}

    async def wait_for(self, condition: Callable[[dict[str, dict[str, Any]]], bool], what: str) -> None:
        deadline = time.monotonic() + WITHIN
        while not condition(self.latest):
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            batch = await self._consumer.getmany(timeout_ms=200)
            for messages in batch.values():
                for m in messages:
                    if m.key is not None and m.value is not None:
                        self.latest[json.loads(m.key)] = json.loads(m.value)

    @classmethod
    @asynccontextmanager
    async def reading(cls, bootstrap: str) -> AsyncIterator[Changelog]:
        changelog = cls(bootstrap)
        await changelog._consumer.start()
        try:
            yield changelog
        finally:
            await changelog._consumer.stop()


def minute_complete(minute: int) -> Callable[[dict[str, dict[str, Any]]], bool]:
    """The total series holds every line of `minute` (from every usage partition, so from both split stages)."""
    bucket = (T0 + minute * MINUTE).isoformat()
    want = sorted(r.record_id for r in minute_lines(minute))

    def done(latest: dict[str, dict[str, Any]]) -> bool:
        total = latest.get(TOTAL)
        return total is not None and total["buckets"]["open"].get(bucket, {}).get("ids") == want

    return done


SERIES_SERVICES: dict[str, set[str]] = {
    TOTAL: set(TEAM_OF),
    **{f"minute|tag:team={team}": {s for s, t in TEAM_OF.items() if t == team} for team in set(TEAM_OF.values())},
    **{f"minute|billing_account_id={ACCOUNT}|service={s}": {s} for s in TEAM_OF},
}


def last_minutes_complete(latest: dict[str, dict[str, Any]]) -> bool:
    """Every series has learnt all but the last two minutes and holds each line of those two in its open buckets."""
    for series, services in SERIES_SERVICES.items():
        state = latest.get(series)
        if state is None or state["points"] != MINUTES - 2:
            return False
        for minute in (MINUTES - 2, MINUTES - 1):
            want = sorted(line(minute, s).record_id for s in services)
            if state["buckets"]["open"].get((T0 + minute * MINUTE).isoformat(), {}).get("ids") != want:
                return False
    return True


async def group_members(bootstrap: str, group: str) -> tuple[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = (await admin.describe_consumer_groups([group]))[0].to_object()["groups"][0]
    finally:
        await admin.close()
    return described["state"], len(described["members"])


async def wait_for_group(bootstrap: str, members: int) -> None:
    """Both of the workers' groups settled with `members` members: faust's, and the split stage's usage readers'."""
    deadline = time.monotonic() + WITHIN
    for group in (Settings().anomaly_group_id, Settings().anomaly_split_group_id):
        while (found := await group_members(bootstrap, group)) != ("Stable", members):
            assert time.monotonic() < deadline, f"group {group} did not settle with {members} members: {found}"
            await asyncio.sleep(0.2)  # polling the broker's view of the group, not a synchronisation by time


async def final_states(workers: int, logs: Path) -> dict[str, dict[str, Any]]:
    with EmbeddedBroker() as broker:
        bootstrap = broker.bootstrap_servers
        await ensure_topics(bootstrap)
        with ExitStack() as stack:
            for n in range(workers):
                stack.enter_context(anomaly_worker(bootstrap, logs / f"{workers}-workers-{n}.log"))
            await wait_for_group(bootstrap, workers)
            async with EventProducer(bootstrap) as producer, Changelog.reading(bootstrap) as changelog:
                for minute in range(0, MINUTES, 2):
                    await producer.send_many(minute_lines(minute) + minute_lines(minute + 1))
                    await changelog.wait_for(minute_complete(minute + 1), f"minute {minute + 1} in the total")
                # Every series has closed all but its last two buckets and holds every line of those two: a
                # team series is fed from several partitions, so with two workers its last lines can come after
                # the total's.
                await changelog.wait_for(lambda latest: len(latest) == len(SERIES_SERVICES), "every series")
                await changelog.wait_for(last_minutes_complete, "the last points and lines of every series")
                return changelog.latest


def exact_part(state: dict[str, Any]) -> dict[str, Any]:
    """The state without its float root-cause figures (bucket breakdowns, cause baselines)."""
    buckets = dict(state["buckets"], open={b: dict(o, breakdown=None) for b, o in state["buckets"]["open"].items()})
    return {key: value for key, value in state.items() if key != "causes"} | {"buckets": buckets}


def root_cause_floats(state: dict[str, Any]) -> dict[str, float]:
    out = {f"open {b} {k}": v for b, o in state["buckets"]["open"].items() for k, v in o["breakdown"].items()}
    out |= {f"{part} {k}": v for part in ("means", "deviation") for k, v in state["causes"][part].items()}
    return out


def assert_services_cover_every_usage_partition() -> None:
    count = Settings().topic_partitions
    used = {key_partition(f"{ACCOUNT}|{s}".encode(), count) for s in TEAM_OF}
    assert used == set(range(count)), "the services must cover every usage partition"


def assert_same_states(alone: dict[str, dict[str, Any]], shared: dict[str, dict[str, Any]]) -> None:
    """Every series' state equal in both runs: exactly, but for root-cause floats summed in arrival order."""
    for series, state in alone.items():
        assert exact_part(shared[series]) == exact_part(state), series
        assert root_cause_floats(shared[series]) == pytest.approx(root_cause_floats(state), rel=1e-9, abs=1e-12)


async def test_two_workers_end_with_the_states_one_worker_does(tmp_path: Path) -> None:
    assert_services_cover_every_usage_partition()

    alone = await final_states(1, tmp_path)
    shared = await final_states(2, tmp_path)

    assert set(shared) == set(alone) == set(SERIES_SERVICES)
    for series, state in alone.items():
        assert state["buckets"]["late"] == 0 and shared[series]["buckets"]["late"] == 0, series
    assert_same_states(alone, shared)
