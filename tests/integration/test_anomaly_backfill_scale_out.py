"""Scale-out on a backfill: with all usage already in the topic before any worker starts, one worker, two workers
in one group, and a second worker joining halfway learn the same series states, and no line is dropped as late or
closed early.

The live case (`test_anomaly_scale_out.py`) sends minute by minute, so every usage partition is read up to about
the same minute before the next arrives. A backfill has no such pacing of its own: each usage partition is read as
fast as it is fetched, and a partition with many lines per minute lags in event time behind one with few (a fetch
is bytes, not minutes). Here one service (AmazonEC2) has 20 lines a minute and the five others one each, so its
partition falls hours behind the others in event time. The total and team series take lines from several
partitions: without per-source-partition watermarks they close buckets on the fastest partition's minutes and
drop the lagging one's lines as late (`buckets.late`), even with one worker; with watermarks but no pacing they
must hold hours of buckets open, more than a series may (`buckets.MAX_OPEN_BYTES`), and close the oldest early
(`buckets.forced`), differently in each deployment. With pacing (`series/pacing.py`), every deployment learns every
line of every minute.

The EC2 lines are four resources with five usage types each, interleaved, so every resource is a top spender
from its first line in any batch split, and the four resource series are the same in both runs (20 resources of
about 5% each would hover at the top-spender threshold, and which get series would depend on batch boundaries).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from outlay.events import UsageRecord
from outlay.events.usage import stable_record_id
from outlay.kafka.embedded_broker import EmbeddedBroker
from outlay.kafka.producer import EventProducer
from outlay.kafka.topics_admin import ensure_topics
from tests.integration.test_anomaly_scale_out import (
    ACCOUNT,
    TEAM_OF,
    Changelog,
    assert_same_states,
    assert_services_cover_every_usage_partition,
    team_usage,
    wait_for_group,
)
from tests.integration.test_anomaly_worker import TOTAL, anomaly_worker
from tests.unit.test_anomaly_series import MINUTE, T0

pytestmark = pytest.mark.e2e
MINUTES = 360  # six hours: read by bytes, the sparse partitions would run hours ahead of the EC2 one
HEAVY = "AmazonEC2"
RESOURCES = [f"i-{n:04d}" for n in range(1, 5)]
USAGE_TYPES = ["BoxUsage", "EBS:VolumeUsage", "DataTransfer-Out", "DataTransfer-Regional", "EBS:SnapshotUsage"]


def line(minute: int, service: str, resource: str | None = None, usage_type: str | None = None) -> UsageRecord:
    rng = random.Random(f"{service}/{resource}/{usage_type}/{minute}")  # the same lines in both runs
    cost = Decimal(f"{(2.0 + sorted(TEAM_OF).index(service)) * rng.uniform(0.8, 1.2):.6f}")
    return team_usage(
        stable_record_id("backfill", service, resource, usage_type, minute), minute, service, cost, resource, usage_type
    )


def minute_lines(minute: int) -> list[UsageRecord]:
    heavy = [line(minute, HEAVY, r, u) for u in USAGE_TYPES for r in RESOURCES]  # resources interleaved
    return heavy + [line(minute, s) for s in TEAM_OF if s != HEAVY]


SERIES = [  # every series this data must make
    TOTAL,
    *(f"minute|tag:team={team}" for team in sorted(set(TEAM_OF.values()))),
    *(f"minute|billing_account_id={ACCOUNT}|service={s}" for s in TEAM_OF),
    *(f"minute|resource_id={r}" for r in RESOURCES),
]


def feeds(record: UsageRecord) -> set[str]:
    return {
        TOTAL,
        f"minute|tag:team={record.tags['team']}",
        f"minute|billing_account_id={ACCOUNT}|service={record.service}",
        f"minute|resource_id={record.resource_id}",
    }


def ids(series: str, minute: int) -> list[str]:
    return sorted(r.record_id for r in minute_lines(minute) if series in feeds(r))


def read_to_the_end(latest: dict[str, dict[str, Any]]) -> bool:
    """Every series has closed its buckets up to the third-last minute and holds every line of the last two: all
    usage has been read. (Not `points == MINUTES - 2`: that is asserted after, so a lost line fails an assert.)"""
    closed = (T0 + (MINUTES - 3) * MINUTE).isoformat()
    last_two = {m: (T0 + m * MINUTE).isoformat() for m in (MINUTES - 2, MINUTES - 1)}
    for series in SERIES:
        state = latest.get(series)
        if state is None or state["buckets"]["last_closed"] != closed:
            return False
        if any(state["buckets"]["open"].get(at, {}).get("ids") != ids(series, m) for m, at in last_two.items()):
            return False
    return True


def total_closed_past(minute: int) -> Callable[[dict[str, dict[str, Any]]], bool]:
    at = (T0 + minute * MINUTE).isoformat()
    return lambda latest: (latest.get(TOTAL, {}).get("buckets", {}).get("last_closed") or "") >= at


async def backfilled_states(workers: int, logs: Path, join_at: int | None = None) -> dict[str, dict[str, Any]]:
    """The states `workers` workers end with; with `join_at`, the second starts once the first has closed the
    total's minute `join_at` (a rebalance in the middle of the backfill, lines held back by pacing)."""
    with EmbeddedBroker() as broker:
        bootstrap = broker.bootstrap_servers
        await ensure_topics(bootstrap)
        async with EventProducer(bootstrap) as producer:  # all of it before any worker starts
            await producer.send_many([r for minute in range(MINUTES) for r in minute_lines(minute)])
        run = f"backfill-{workers}-workers{'' if join_at is None else '-joining'}"
        with ExitStack() as stack:
            async with Changelog.reading(bootstrap) as changelog:
                for n in range(workers):
                    if n and join_at is not None:
                        await changelog.wait_for(total_closed_past(join_at), f"the total closed past minute {join_at}")
                        assert not total_closed_past(MINUTES - 30)(changelog.latest), "joined too late to matter"
                    stack.enter_context(anomaly_worker(bootstrap, logs / f"{run}-{n}.log"))
                    if join_at is None or n:
                        await wait_for_group(bootstrap, n + 1)
                await changelog.wait_for(read_to_the_end, f"every series read to minute {MINUTES - 1}")
                return changelog.latest


def learnt(states: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The states without their counts of lines that came again (`late`, `duplicates`). A rebalance hands a
    partition over at its committed offset, so lines processed since the last commit are read again: counted,
    not learnt twice. Those counts depend on when the group rebalanced; what was learnt must not."""
    return {
        series: state | {"buckets": {k: v for k, v in state["buckets"].items() if k not in ("late", "duplicates")}}
        for series, state in states.items()
    }


async def test_a_backfill_split_over_two_workers_ends_with_the_states_one_worker_does(tmp_path: Path) -> None:
    assert_services_cover_every_usage_partition()

    alone = await backfilled_states(1, tmp_path)
    shared = await backfilled_states(2, tmp_path)
    joined = await backfilled_states(2, tmp_path, join_at=MINUTES // 3)

    assert set(shared) == set(alone) == set(joined) and set(alone) >= set(SERIES), (sorted(alone), sorted(shared))
    lost = {s: (st["buckets"]["late"], st["points"]) for s, st in alone.items() if st["buckets"]["late"]}
    assert not lost, f"one worker: lines dropped as late (series: (late, points)): {lost}"
    for run, states in (("one worker", alone), ("two workers", shared), ("a worker joining", joined)):
        forced = {s: st["buckets"].get("forced") for s, st in states.items() if st["buckets"].get("forced")}
        assert not forced, f"{run}: buckets closed before the watermark passed them: {forced}"
        assert {s: states[s]["points"] for s in SERIES} == dict.fromkeys(SERIES, MINUTES - 2), run
    # Every line learnt once, in every bucket, as one worker did: a line dropped as late (not one read again)
    # would leave a bucket's amount and everything learnt after it different.
    assert_same_states(learnt(alone), learnt(shared))
    assert_same_states(learnt(alone), learnt(joined))
