"""The allocation stage on the real broker and PostgreSQL: usage in on `outlay.usage.v1`, each record out on
`outlay.usage.allocated.v1` with its allocation under its tenant's rules of that moment (read through the rules
store), a rule change picked up for the records that follow, the stream agreeing with the query-time report under
the same rules, tenants kept apart, and bad messages skipped without losing the good ones."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.allocation import UNALLOCATED, AllocationRules
from outlay.allocation.periods import ReportGrain
from outlay.events import AllocatedUsage, UsageRecord
from outlay.kafka.producer import EventProducer
from outlay.settings import Settings
from outlay.store.allocation import AllocationLinesStore, AllocationRulesStore, allocation_report
from services.ingest.allocation.main import run as run_stage
from services.ingest.allocation.stage import AllocationStats, run_allocation
from tests.integration.gateway_fixtures import record, wait_for, write_ledger
from tests.integration.ingest_support import read_topic

ALLOCATED = "outlay.usage.allocated.v1"
START, MIDDLE, END = datetime(2026, 11, 1), datetime(2026, 11, 2), datetime(2026, 11, 3)

V1: dict[str, Any] = {"dimensions": {"team": {"tags": {"keys": ["team"]}}}}
V2: dict[str, Any] = {"dimensions": {"team": {
    "tags": {"keys": ["team", "owner-team"], "aliases": {"chk": "checkout"}},
    "accounts": {"222222222222": "payments"},
    "shared": [{"name": "support", "match": {"services": ["AWS Support (Business)"]}, "split": "proportional"}],
}}}  # fmt: skip
GLOBEX: dict[str, Any] = {"dimensions": {"squad": {"tags": {"keys": ["squad"]}}}}


def of(tenant: str, records: list[UsageRecord]) -> list[UsageRecord]:
    return [r.model_copy(update={"tenant_id": tenant}) for r in records]


def day_one() -> list[UsageRecord]:
    return of("acme", [
        record("a1", "AmazonEC2", "2026-11-01T00:00", "2026-11-01T01:00", "10", tags={"Team": "Checkout "}),
        record("a2", "AmazonEC2", "2026-11-01T05:00", "2026-11-01T06:00", "6", tags={"owner_team": "chk"}),
        record("a3", "AmazonS3", "2026-11-01T09:00", "2026-11-01T10:00", "3", account="222222222222"),
        record("a4", "AWS Support (Business)", "2026-11-01T00:00", "2026-11-02T00:00", "1.000000001"),
    ])  # fmt: skip


def day_two() -> list[UsageRecord]:
    return of("acme", [
        record("b1", "AmazonEC2", "2026-11-02T00:00", "2026-11-02T01:00", "7", tags={"TEAM": "search"}),
        record("b2", "AmazonEC2", "2026-11-02T05:00", "2026-11-02T06:00", "5", tags={"Owner Team": "CHK"}),
        record("b3", "AmazonS3", "2026-11-02T09:00", "2026-11-02T10:00", "4", account="222222222222"),
        record("b4", "AWS Support (Business)", "2026-11-02T00:00", "2026-11-03T00:00", "2"),
        record("b5", "AmazonEC2", "2026-11-02T11:00", "2026-11-02T12:00", "1.5"),  # nobody's
    ])  # fmt: skip


def others(suffix: str) -> list[UsageRecord]:
    """Another tenant with its own rules (which name `squad`, not `team`), and one with none."""
    tags = {"team": "checkout", "squad": "Blue"}
    return [
        *of("globex", [record(f"g{suffix}", "AmazonEC2", "2026-11-01T00:00", "2026-11-01T01:00", "8", tags=tags)]),
        *of("initech", [record(f"i{suffix}", "AmazonEC2", "2026-11-01T00:00", "2026-11-01T01:00", "9", tags=tags)]),
    ]


def nanos(amount: Decimal) -> int:
    return int(amount * 10**9)


def by_id(messages: list[dict[str, Any]]) -> dict[str, AllocatedUsage]:
    events = [AllocatedUsage.model_validate(m) for m in messages]
    found = {e.usage.record_id: e for e in events}
    assert len(found) == len(events), "one event per record"
    return found


def labels(event: AllocatedUsage) -> dict[str, str]:
    return {name: a.label for name, a in event.allocation.items()}


@contextlib.asynccontextmanager
async def stage(broker: str, store_url: str, stats: AllocationStats) -> AsyncIterator[None]:
    """The stage in this process; `recheck_s=0`: a rule change counts from the next batch (deterministic here)."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_allocation(broker, store_url, "allocation-test", stop, recheck_s=0, stats=stats))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def produce(broker: str, records: list[UsageRecord]) -> None:
    async with EventProducer(broker, client_id="allocation-test-producer") as producer:
        await producer.send_many(records)


async def test_new_usage_carries_its_allocation_and_a_rule_change_applies_to_what_follows(
    broker: str, store_url: str, engine: AsyncEngine
) -> None:
    acme, globex = AllocationRulesStore(engine, "acme"), AllocationRulesStore(engine, "globex")
    await acme.put(AllocationRules.model_validate(V1), "test")
    await globex.put(AllocationRules.model_validate(GLOBEX), "test")
    stats = AllocationStats()
    async with stage(broker, store_url, stats):
        first = day_one() + others("1")
        await produce(broker, first)
        await wait_for(lambda: stats.published == len(first), "the first records allocated")
        v1 = by_id(await read_topic(broker, ALLOCATED))
        assert {i: (labels(e), e.rules_version) for i, e in v1.items()} == {
            "a1": ({"team": "checkout"}, 1),  # `Team: Checkout ` is the key `team`, the owner `checkout`
            "a2": ({"team": UNALLOCATED}, 1),  # v1 reads no `owner-team`
            "a3": ({"team": UNALLOCATED}, 1),
            "a4": ({"team": UNALLOCATED}, 1),
            "g1": ({"squad": "blue"}, 1),  # globex's own rules: its `team` tag means nothing to them
            "i1": ({}, None),  # no rules, no dimensions: published all the same
        }
        assert v1["a1"].usage == first[0]  # the record itself, unchanged

        await acme.put(AllocationRules.model_validate(V2), "test")
        second = day_two() + others("2")
        await produce(broker, second)
        await wait_for(lambda: stats.published == len(first) + len(second), "the second records allocated")
        found = by_id(await read_topic(broker, ALLOCATED))
    new = {i: e for i, e in found.items() if i not in v1}
    assert {i: (labels(e), e.rules_version) for i, e in new.items()} == {
        "b1": ({"team": "search"}, 2),
        "b2": ({"team": "checkout"}, 2),  # `Owner Team: CHK`, aliased by v2
        "b3": ({"team": "payments"}, 2),  # v2's account map
        "b4": ({"team": "shared:support"}, 2),
        "b5": ({"team": UNALLOCATED}, 2),
        "g2": ({"squad": "blue"}, 1),  # acme's change is acme's alone
        "i2": ({}, None),
    }
    assert {i: e.rules_version for i, e in found.items() if i in v1} == {i: e.rules_version for i, e in v1.items()}
    assert stats.skipped == 0 and stats.unallocatable == 0

    # The query-time report of the whole period under v2 agrees with what the stream assigned under v2.
    await write_ledger(engine, day_one() + day_two())
    report = await allocation_report(acme, AllocationLinesStore(engine, "acme"), "team", START, END, ReportGrain.DAY)
    assert report.rules_version == 2
    day1, day2 = report.buckets
    assert day2.period_start == MIDDLE
    streamed: dict[str, int] = {}
    shared = 0
    for event in new.values():
        if event.usage.tenant_id != "acme":
            continue
        assignment = event.allocation["team"]
        if assignment.kind == "shared":
            shared += nanos(event.usage.billed_cost)
        else:
            streamed[assignment.value] = streamed.get(assignment.value, 0) + nanos(event.usage.billed_cost)
    assert {v: a.direct for v, a in day2.values.items()} == streamed
    assert sum(a.shared.get("support", 0) for a in day2.values.values()) == shared
    # And the earlier day is re-allocated under v2, unlike its records' v1 labels on the stream: retroactive.
    assert labels(v1["a2"]) == {"team": UNALLOCATED} and day1.values["checkout"].direct == nanos(Decimal(16))


async def test_bad_messages_are_skipped_and_the_rest_of_the_batch_comes_out(
    broker: str, store_url: str, engine: AsyncEngine
) -> None:
    await AllocationRulesStore(engine, "acme").put(AllocationRules.model_validate(V1), "test")
    good = day_one()
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
    await producer.start()
    try:
        key = good[0].key  # one partition: the bad messages first, the good ones after them (likely one fetch)
        for value in (b"{not json", b'{"record_id": "x"}', None):
            await producer.send_and_wait("outlay.usage.v1", value, key=key)
        for usage in good:
            await producer.send_and_wait("outlay.usage.v1", usage.model_dump_json().encode(), key=key)
    finally:
        await producer.stop()
    # Through the service's entrypoint (what `outlay services run allocation` runs), to its end.
    stop = asyncio.Event()
    settings = Settings(DATABASE_URL=store_url, KAFKA_BOOTSTRAP_SERVERS=broker, OUTLAY_ALLOCATION_GROUP="bad-test")
    task = asyncio.create_task(run_stage(settings, stop))
    try:
        async with asyncio.timeout(30):
            while len(out := await read_topic(broker, ALLOCATED)) < len(good):
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        stats = await asyncio.wait_for(task, 30)
    assert sorted(by_id(out)) == ["a1", "a2", "a3", "a4"]
    assert stats.skipped == 3 and stats.published == len(good)
