"""The allocation stage's core, without I/O: each record's assignment per dimension under its own tenant's rules, the
event it becomes, the per-tenant cache of compiled rules, and the decoder that skips what is no usage record."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from outlay.allocation import UNALLOCATED, AllocationRules, Allocator
from outlay.events import AllocatedUsage, CostKind, UsageRecord
from outlay.events.topics import ALLOCATED_USAGE, USAGE
from services.ingest.allocation.cache import MEMO_RECORDS, RulesCache
from services.ingest.allocation.core import TenantRules, allocate_records, allocated
from services.ingest.allocation.decode import decode_usage

RULES: dict[str, Any] = {"dimensions": {
    "team": {
        "tags": {"keys": ["team", "owner-team"], "aliases": {"chk": "checkout"}},
        "accounts": {"222222222222": "payments"},
        "shared": [{"name": "support", "match": {"services": ["AWS Support (Business)"]}, "split": "proportional"}],
    },
    "env": {"tags": {"keys": ["env"]}},
}}  # fmt: skip


def usage(
    record_id: str,
    *,
    tenant: str = "acme",
    service: str = "AmazonEC2",
    account: str = "111111111111",
    resource: str | None = None,
    tags: dict[str, str] | None = None,
) -> UsageRecord:
    return UsageRecord(
        record_id=record_id, tenant_id=tenant, source="test", cost_kind=CostKind.BILLED,
        charge_period_start=datetime(2026, 11, 1, tzinfo=UTC), charge_period_end=datetime(2026, 11, 1, 1, tzinfo=UTC),
        billing_account_id=account, service=service, resource_id=resource,
        billed_cost=Decimal("1.5"), effective_cost=Decimal("1.5"), list_cost=Decimal("2"), tags=tags or {},
    )  # fmt: skip


def compiled(document: dict[str, Any], version: int = 1) -> TenantRules:
    return TenantRules(version, Allocator(AllocationRules.model_validate(document)))


def labels(event: AllocatedUsage) -> dict[str, str]:
    return {name: a.label for name, a in event.allocation.items()}


def test_direct_assignments_come_from_the_engine_with_its_normalisation() -> None:
    rules = compiled(RULES, version=3)
    # `user:Team` and ` Checkout ` are the key `team` and the owner `checkout`; `owner_team: chk` is aliased.
    tagged = allocated(usage("a", tags={"user:Team": " Checkout ", "ENV": "Prod"}), rules)
    aliased = allocated(usage("b", tags={"Owner Team": "CHK"}), rules)
    by_account = allocated(usage("c", account="222222222222"), rules)
    assert labels(tagged) == {"team": "checkout", "env": "prod"}
    assert tagged.allocation["team"].kind == "direct" and tagged.rules_version == 3
    assert labels(aliased)["team"] == "checkout" and labels(by_account)["team"] == "payments"
    assert tagged.usage.record_id == "a" and tagged.key == tagged.usage.key  # the record rides along, unchanged


def test_shared_and_unallocated_assignments() -> None:
    rules = compiled(RULES)
    # A shared rule wins over the tag: the support fee is everyone's, split per period by the reports.
    shared = allocated(usage("s", service="AWS Support (Business)", tags={"team": "checkout"}), rules)
    assert shared.allocation["team"].kind == "shared" and shared.allocation["team"].value == "support"
    assert labels(shared) == {"team": "shared:support", "env": UNALLOCATED}
    # A placeholder value is nobody: the record is unallocated, never dropped.
    nobody = allocated(usage("n", tags={"team": "n/a"}), rules)
    assert {a.kind for a in nobody.allocation.values()} == {"unallocated"}
    assert labels(nobody) == {"team": UNALLOCATED, "env": UNALLOCATED}


def test_a_tenant_without_rules_gets_an_empty_allocation_and_no_version() -> None:
    event = allocated(usage("x", tags={"team": "checkout"}), TenantRules.none())
    assert event.allocation == {} and event.rules_version is None
    assert json.loads(event.model_dump_json())["rules_version"] is None


def test_each_record_takes_its_own_tenants_rules() -> None:
    rules = {"acme": compiled(RULES, 2), "globex": compiled({"dimensions": {"team": {"tags": {"keys": ["squad"]}}}}, 7)}
    records = [usage("a", tags={"team": "checkout", "squad": "blue"}),
               usage("g", tenant="globex", tags={"team": "checkout", "squad": "blue"})]  # fmt: skip
    a, g = allocate_records(records, rules).events
    assert (labels(a)["team"], a.rules_version) == ("checkout", 2)
    assert (labels(g), g.rules_version) == ({"team": "blue"}, 7)


def test_a_rule_too_slow_on_one_record_leaves_that_record_out_and_allocates_the_rest() -> None:
    slow = {"dimensions": {"team": {"resources": [{"pattern": "^(a|aa)+$", "value": "x"}]}}}
    records = [usage("bad", resource="a" * 60 + "!"), usage("good", resource="aaaa")]
    result = allocate_records(records, {"acme": compiled(slow)})
    assert result.unallocatable == 1
    assert [(e.usage.record_id, labels(e)) for e in result.events] == [("good", {"team": "x"})]


def test_the_allocated_topic_keeps_a_series_on_the_partition_of_its_usage() -> None:
    event = allocated(usage("a"), compiled(RULES))
    assert event.key == b"111111111111|AmazonEC2" == event.usage.key
    assert ALLOCATED_USAGE.partitions == USAGE.partitions and ALLOCATED_USAGE.name == "outlay.usage.allocated.v1"
    assert AllocatedUsage.model_validate_json(event.model_dump_json()) == event


class MemorySource:
    """The `RulesSource` port over a dict: the stage's cache is tested against it; the store adapter against the
    real store (tests/integration/test_allocation_stage.py)."""

    def __init__(self) -> None:
        self.versions: dict[str, list[AllocationRules]] = {}
        self.version_reads: list[list[str]] = []

    def put(self, tenant: str, document: dict[str, Any]) -> None:
        self.versions.setdefault(tenant, []).append(AllocationRules.model_validate(document))

    async def current_versions(self, tenants: Collection[str]) -> dict[str, int]:
        self.version_reads.append(sorted(tenants))
        return {t: len(self.versions[t]) for t in tenants if t in self.versions}

    async def rules(self, tenant: str, version: int) -> AllocationRules:
        return self.versions[tenant][version - 1]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_the_cache_reads_versions_once_per_batch_and_rules_once_per_version() -> None:
    source, clock = MemorySource(), Clock()
    source.put("acme", RULES)
    cache = RulesCache(source, recheck_s=5.0, clock=clock)
    first = await cache.for_tenants({"acme": 10, "initech": 3})
    assert first["acme"].version == 1 and first["initech"] == TenantRules.none()
    assert source.version_reads == [["acme", "initech"]] and cache.rule_reads == 1
    # Within the recheck window: no query at all, the same compiled allocator.
    source.put("acme", {"dimensions": {"team": {"tags": {"keys": ["squad"]}}}})
    again = await cache.for_tenants({"acme": 10})
    assert again["acme"] is first["acme"] and len(source.version_reads) == 1
    # After it: one version query notices v2, and v2 is read and compiled once.
    clock.now += 5.0
    changed = await cache.for_tenants({"acme": 10, "initech": 1})
    assert changed["acme"].version == 2 and cache.rule_reads == 2 and len(source.version_reads) == 2
    clock.now += 5.0
    same = await cache.for_tenants({"acme": 10})
    assert same["acme"] is changed["acme"] and cache.rule_reads == 2 and len(source.version_reads) == 3


async def test_the_cache_compiles_a_tenants_allocator_afresh_after_many_records() -> None:
    source = MemorySource()
    source.put("acme", RULES)
    cache = RulesCache(source, recheck_s=3600.0, clock=Clock())
    first = (await cache.for_tenants({"acme": MEMO_RECORDS}))["acme"]
    renewed = (await cache.for_tenants({"acme": 1}))["acme"]
    assert renewed.version == first.version and renewed.allocator is not first.allocator  # a fresh memo
    assert cache.rule_reads == 1  # from the document already read


class BrokenSource(MemorySource):
    """A store whose rules of one tenant can no longer be read (a document an upgraded validator refuses)."""

    def __init__(self, broken: str) -> None:
        super().__init__()
        self.broken = broken

    async def rules(self, tenant: str, version: int) -> AllocationRules:
        if tenant == self.broken:
            raise ValueError("no longer valid")
        return await super().rules(tenant, version)


async def test_one_tenants_unreadable_rules_leave_the_others_allocated_and_its_last_good_rules_kept() -> None:
    source, clock = BrokenSource("globex"), Clock()
    source.put("acme", RULES)
    source.put("globex", RULES)
    cache = RulesCache(source, recheck_s=5.0, clock=clock)
    first = await cache.for_tenants({"acme": 1, "globex": 1})
    assert set(first) == {"acme"} and cache.failures == 1  # never read: globex's records are left out, counted
    out = allocate_records([usage("a"), usage("g", tenant="globex")], first)
    assert [e.usage.record_id for e in out.events] == ["a"] and out.unallocatable == 1
    # Once read, a later failure keeps the rules as they were.
    source.broken = "nobody"
    clock.now += 5.0
    read = await cache.for_tenants({"globex": 1})
    source.broken, clock.now = "globex", clock.now + 5.0
    source.put("globex", {"dimensions": {"team": {"tags": {"keys": ["squad"]}}}})
    kept = await cache.for_tenants({"globex": 1})
    assert kept["globex"] is read["globex"] and kept["globex"].version == 1 and cache.failures == 2


@dataclass
class Message:
    value: bytes | None
    offset: int
    topic: str = "outlay.usage.v1"
    partition: int = 0
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()


def test_messages_that_are_no_usage_record_are_skipped_and_logged_without_their_content(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = usage("ok", tags={"team": "checkout"}).model_dump_json().encode()
    invalid = json.loads(good)
    invalid["billed_cost"] = "hunter2-secret"
    # Tag keys and unknown fields are the message's content too: a path through them is not logged.
    bad_tag = {**json.loads(good), "tags": {"hunter2-key": 5}}
    unknown = {**json.loads(good), "hunter2_field": "x"}
    messages = [
        Message(b"{not json hunter2-secret", 0), Message(None, 1),
        Message(json.dumps(invalid).encode(), 2), Message(good, 3),
        Message(json.dumps(bad_tag).encode(), 4), Message(json.dumps(unknown).encode(), 5),
    ]  # fmt: skip
    with caplog.at_level(logging.WARNING):
        decoded, dead = decode_usage(messages)
    assert [r.record_id for r in decoded.records] == ["ok"] and decoded.skipped == 5
    assert dead == []  # the ledger dead-letters these: a second letter each would only double the count
    assert "outlay.usage.v1/0/2" in caplog.text and "billed_cost" in caplog.text
    assert "hunter2" not in caplog.text
