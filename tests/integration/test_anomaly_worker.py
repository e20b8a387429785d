"""The anomaly worker (faust) through the real broker: it finds a spike, keeps its state in the changelog so
a restarted worker carries on (no relearning, no second alert), per tenant, and sends unlearnable lines to the
DLQ."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from outlay.events import CostAnomaly, DeadLetter, UsageRecord
from outlay.kafka.producer import EventProducer
from tests.unit.test_anomaly_series import MINUTE, T0, steady, usage
from tests.unit.test_anomaly_tenants import ACME, of

pytestmark = pytest.mark.e2e
CHANGELOG = "outlay-anomaly-series-monitors-changelog"
TOTAL = "minute|total"
ACME_TOTAL = "acme/minute|total"


@contextmanager
def anomaly_worker(bootstrap: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=bootstrap, OUTLAY_STATE_DIR=str(log.parent))
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "outlay.cli.main", "services", "run", "anomaly"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


async def read_until(
    bootstrap: str, topic: str, done: Callable[[list[Any]], bool], decode: Callable[[bytes, bytes | None], Any]
) -> list[Any]:
    """Everything on `topic` from the start, until `done(seen)` holds (or fail after 120 s)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    seen: list[Any] = []
    deadline = time.monotonic() + 120
    try:
        while not done(seen):
            assert time.monotonic() < deadline, f"timed out on {topic}; saw {len(seen)} messages"
            batch = await consumer.getmany(timeout_ms=500)
            seen += [decode(m.value, m.key) for msgs in batch.values() for m in msgs if m.value is not None]
    finally:
        await consumer.stop()
    return seen


def anomalies(bootstrap: str, done: Callable[[list[CostAnomaly]], bool]) -> Any:
    return read_until(bootstrap, "outlay.anomalies.v1", done, lambda v, _: CostAnomaly.model_validate_json(v))


def total_state_reached(minute: int, *series: str) -> Callable[[list[Any]], bool]:
    """The changelog holds the state of the total series (or of each of `series`) with buckets closed up to
    `minute`."""
    want = (T0 + minute * MINUTE).isoformat()

    def reached(seen: list[Any], name: str) -> bool:
        states = [v for k, v in seen if k == name]
        return bool(states) and (states[-1]["buckets"]["last_closed"] or "") >= want

    def done(seen: list[Any]) -> bool:
        return all(reached(seen, name) for name in series or (TOTAL,))

    return done


def ec2(minutes: range, seed: int = 3) -> list[UsageRecord]:
    """The steady EC2 lines only: one usage partition. The total series takes lines from every partition, and
    until buckets close on every partition's read marks (docs/anomaly.md) a partition read ahead of another makes
    the other's lines late, which would make this test depend on how the worker interleaves its fetches."""
    return [r for r in steady(minutes, seed=seed) if r.service == "AmazonEC2"]


def in_second_spike(anomaly: CostAnomaly) -> bool:
    """The second spike's incident (minutes 420-423): it opens on its first or second minute, as the
    likelihood (a short window of raw scores) reaches the alert level."""
    return T0 + 420 * MINUTE <= anomaly.start <= T0 + 421 * MINUTE


def outline(updates: list[CostAnomaly]) -> list[tuple[str, int, int | None, bool, str, str]]:
    """Each update as (direction, start and end minute, alerted, actual, expected): what a failure shows."""
    return [
        (
            a.direction.value,
            (a.start - T0) // MINUTE,
            None if a.end is None else (a.end - T0) // MINUTE,
            a.alerted,
            str(a.actual_cost),
            str(a.expected_cost),
        )
        for a in updates
    ]


async def send(bootstrap: str, records: list[UsageRecord]) -> None:
    async with EventProducer(bootstrap) as producer:
        await producer.send_many(records)


async def test_spike_found_state_survives_a_restart_and_old_anomalies_are_not_alerted_again(
    broker: str, tmp_path: Path
) -> None:
    first_spike = [usage(m, "60", n=1) for m in range(320, 324)]
    second_spike = [usage(m, "80", n=1) for m in range(420, 424)]
    log = tmp_path / "anomaly.log"
    # Tenant acme sends the very same lines: its own series, state and incidents, carried over the restart too.
    first = ec2(range(320)) + first_spike + ec2(range(320, 360), seed=4)
    second = ec2(range(340, 420), seed=4)[20:] + second_spike + ec2(range(420, 440), seed=5)
    with anomaly_worker(broker, log):
        await send(broker, first + of(ACME, first))
        before = await anomalies(
            broker, lambda seen: all(any(a.series == s and a.end for a in seen) for s in (TOTAL, ACME_TOTAL))
        )
        await read_until(
            broker, CHANGELOG, total_state_reached(357, TOTAL, ACME_TOTAL), lambda v, k: (json.loads(k), json.loads(v))
        )
    # A new worker, and the first one's last minutes sent again (a replay must not alert twice).
    with anomaly_worker(broker, log):
        await send(broker, second + of(ACME, second))
        after = await anomalies(
            broker,
            lambda seen: all(any(a.series == s and in_second_spike(a) for a in seen) for s in (TOTAL, ACME_TOTAL)),
        )
    for series, tenant in ((TOTAL, "default"), (ACME_TOTAL, ACME)):
        assert {a.tenant_id for a in before + after if a.series == series} == {tenant}
        total_ids = {a.anomaly_id for a in after if a.series == series}
        first_id = next(a.anomaly_id for a in before if a.series == series)
        assert [a.start for a in before if a.series == series][0] == T0 + 320 * MINUTE
        # Restarted with its state: the second spike is found (a relearning detector is silent for 300 points),
        # and the first anomaly's messages are exactly those published before the restart.
        assert total_ids == {
            first_id,
            next(a.anomaly_id for a in after if a.series == series and in_second_spike(a)),
        }, outline([a for a in after if a.series == series])
        assert [a for a in after if a.anomaly_id == first_id] == [a for a in before if a.anomaly_id == first_id]
        top = next(a for a in after if a.series == series and in_second_spike(a))
        assert top.alerted  # (root cause is left empty here: one service is the whole series; see the unit tests)
    # The two tenants' identical incidents are two anomalies.
    assert not {a.anomaly_id for a in before + after if a.series == TOTAL} & {
        a.anomaly_id for a in before + after if a.series == ACME_TOTAL
    }


async def test_negative_and_undecodable_lines_go_to_the_dlq_and_are_not_learnt(broker: str, tmp_path: Path) -> None:
    credit = usage(0, "-5", n=9)
    with anomaly_worker(broker, tmp_path / "anomaly.log"):
        async with EventProducer(broker) as producer:
            await producer.send_many([credit, *steady(range(5))])
            await producer._producer.send_and_wait("outlay.usage.v1", b'{"record_id": 1}', key=b"x")
        letters = await read_until(
            broker, "outlay.ingest.dlq.v1", lambda seen: len(seen) >= 2, lambda v, _: DeadLetter.model_validate_json(v)
        )
        states = await read_until(
            broker, CHANGELOG, total_state_reached(2), lambda v, k: (json.loads(k), json.loads(v))
        )
    assert {(d.field, d.reason.split(" (")[0]) for d in letters if d.field == "effective_cost"} == {
        ("effective_cost", "is negative")
    }
    assert any(d.reason.startswith("not a valid UsageRecord") for d in letters)
    learnt = [v for k, v in states if k == TOTAL][-1]
    assert all(credit.record_id not in b["ids"] for b in learnt["buckets"]["open"].values())
    assert learnt["points"] >= 3 and learnt["buckets"]["late"] == 0
