"""Allocation against the real store (PostgreSQL and SQLite): versioned, audited rules; reports over what the ledger
wrote; and the retroactive property — a period re-run after a rule change equals a store that had the new rules
from the start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from outlay.allocation import UNALLOCATED, AllocationRules, Allocator, allocate_lines
from outlay.allocation.periods import ReportGrain
from outlay.events import UsageRecord
from outlay.store.allocation import AllocationLinesStore, AllocationRulesStore, UnknownDimension, allocation_report
from outlay.store.audit import AuditLog
from outlay.store.engine import make_engine
from outlay.store.models import AllocationRulesRow
from tests.integration.gateway_fixtures import record, write_ledger

START, END = datetime(2026, 11, 1), datetime(2026, 11, 4)

V1: dict[str, Any] = {"dimensions": {"team": {"tags": {"keys": ["team"]}}}}
V2: dict[str, Any] = {"dimensions": {"team": {
    "tags": {"keys": ["team", "owner-team"], "aliases": {"chk": "checkout"}},
    "accounts": {"222222222222": "payments"},
    "resources": [{"pattern": "^i-search", "value": "search"}],
    "shared": [{"name": "support", "match": {"services": ["AWS Support (Business)"]}, "split": "proportional"}],
}}}  # fmt: skip


def day_one() -> list[UsageRecord]:
    return [
        record("a1", "AmazonEC2", "2026-11-01T00:00", "2026-11-01T01:00", "10", tags={"Team": "Checkout "}),
        record("a2", "AmazonEC2", "2026-11-01T05:00", "2026-11-01T06:00", "6", tags={"owner_team": "chk"}),
        record("a3", "AmazonEC2", "2026-11-01T07:00", "2026-11-01T08:00", "4", resource="i-search-1"),
        record("a4", "AmazonS3", "2026-11-01T09:00", "2026-11-01T10:00", "3", account="222222222222"),
        record("a5", "AWS Support (Business)", "2026-11-01T00:00", "2026-11-02T00:00", "1.000000001"),
        record("a6", "AmazonEC2", "2026-11-01T11:00", "2026-11-01T12:00", "2"),  # nobody's
    ]


def day_two() -> list[UsageRecord]:
    return [
        record("b1", "AmazonEC2", "2026-11-02T00:00", "2026-11-02T01:00", "7", tags={"team": "search"}),
        # A monthly-style line spread over three days (the ledger spreads it; so must a record-level report).
        record("b2", "AmazonRDS", "2026-11-01T12:00", "2026-11-03T12:00", "9", tags={"TEAM": "checkout"}),
        record("b3", "AWS Support (Business)", "2026-11-02T00:00", "2026-11-03T00:00", "2"),
    ]


def as_tenant(records: list[UsageRecord], tenant: str) -> list[UsageRecord]:
    return [r.model_copy(update={"tenant_id": tenant}) for r in records]


@pytest.fixture
async def engine(dialect_url: str) -> AsyncIterator[AsyncEngine]:
    made = make_engine(dialect_url)
    async with made.begin() as conn:  # the session's PostgreSQL database outlives tests; this table is ours
        await conn.execute(delete(AllocationRulesRow))
    yield made
    await made.dispose()


async def report_json(engine: AsyncEngine, tenant: str, grain: ReportGrain = ReportGrain.DAY) -> dict[str, Any]:
    rules, lines = AllocationRulesStore(engine, tenant), AllocationLinesStore(engine, tenant)
    return (await allocation_report(rules, lines, "team", START, END, grain)).to_json()


def values(report: dict[str, Any]) -> dict[str, str]:
    (totals,) = report["totals"]
    return {v["value"]: v["total"] for v in totals["values"]}


async def test_rules_are_versioned_and_every_change_is_audited(engine: AsyncEngine) -> None:
    store = AllocationRulesStore(engine, "acme")
    assert await store.current() is None
    first = await store.put(AllocationRules.model_validate(V1), "alice (key k1)")
    second = await store.put(AllocationRules.model_validate(V2), "bob (key k2)")
    assert (first.version, second.version) == (1, 2)
    assert (await store.current()) == second
    old = await store.version(1)
    assert old is not None and old.rules == AllocationRules.model_validate(V1) and old.created_by == "alice (key k1)"
    assert [v.version for v in await store.versions()] == [2, 1]
    trail = await AuditLog(engine, "acme").of("allocation_rules")
    assert [(e.actor, e.event) for e in trail] == [
        ("alice (key k1)", "allocation_rules_changed"), ("bob (key k2)", "allocation_rules_changed")
    ]  # fmt: skip
    assert trail[1].detail.startswith("v1 → v2 ") and "payments" in trail[1].detail
    assert (await AuditLog(engine, "acme").verify()).broken is None
    # Another tenant sees none of it, and its versions count on their own.
    other = AllocationRulesStore(engine, "globex")
    assert await other.current() is None and await other.versions() == []
    assert (await other.put(AllocationRules.model_validate(V1), "carol")).version == 1


async def test_concurrent_changes_get_distinct_versions(engine: AsyncEngine) -> None:
    store = AllocationRulesStore(engine, "acme")
    rules = AllocationRules.model_validate(V1)
    made = await asyncio.gather(*(store.put(rules, f"writer {i}") for i in range(8)))
    assert sorted(v.version for v in made) == list(range(1, 9))
    assert len(await AuditLog(engine, "acme").of("allocation_rules")) == 8


async def test_rerunning_a_period_after_a_rule_change_equals_having_had_the_rule_all_along(
    engine: AsyncEngine,
) -> None:
    # Tenant "lived": usage of day one arrives under v1, the rules change to v2, usage of day two arrives.
    lived = AllocationRulesStore(engine, "lived")
    await lived.put(AllocationRules.model_validate(V1), "admin")
    await write_ledger(engine, as_tenant(day_one(), "lived"))
    under_v1 = await report_json(engine, "lived")
    await lived.put(AllocationRules.model_validate(V2), "admin")
    await write_ledger(engine, as_tenant(day_two(), "lived"))
    rerun = await report_json(engine, "lived")
    # Tenant "fresh": the same usage, with v2 from the start.
    await AllocationRulesStore(engine, "fresh").put(AllocationRules.model_validate(V2), "admin")
    await write_ledger(engine, as_tenant(day_one() + day_two(), "fresh"))
    fresh = await report_json(engine, "fresh")
    assert rerun["rules_version"] == 2 and fresh["rules_version"] == 1
    assert {**rerun, "rules_version": 0} == {**fresh, "rules_version": 0}
    # v2 did change day one's answer (otherwise the comparison above would prove nothing).
    assert values(under_v1)["checkout"] == "10.000000000" and "payments" not in values(under_v1)
    day1 = next(b for b in rerun["buckets"] if b["period_start"] == "2026-11-01T00:00:00Z")
    day1_values = {v["value"]: v for v in day1["values"]}
    # RDS 9 over 2026-11-01T12:00..11-03T12:00: 12 of its 48 hours fall on day one.
    assert day1_values["checkout"]["direct"] == "18.250000000"
    assert set(day1_values) == {"checkout", "search", "payments", UNALLOCATED}
    # The support fee of day one is split by day one's direct cost, exactly: the parts sum to the fee.
    support = sum(int(v["shared"].get("support", "0").replace(".", "")) for v in day1["values"])
    assert support == 1_000_000_001
    assert day1_values[UNALLOCATED]["direct"] == "2.000000000"
    # Totals reconcile with the ledger's own total for the period.
    assert rerun["totals"][0]["total"] == "44.000000001"


async def test_new_usage_carries_the_allocation_the_report_gives_it(engine: AsyncEngine) -> None:
    rules = AllocationRules.model_validate(V2)
    await AllocationRulesStore(engine, "acme").put(rules, "admin")
    records = as_tenant(day_one(), "acme")
    await write_ledger(engine, records)
    report = await report_json(engine, "acme")
    allocator = Allocator(rules)
    labels = {r.record_id: allocator.allocate(r)["team"].label for r in records}
    assert labels == {"a1": "checkout", "a2": "checkout", "a3": "search", "a4": "payments",
                      "a5": "shared:support", "a6": UNALLOCATED}  # fmt: skip
    direct = {v["value"]: v["direct"] for v in report["totals"][0]["values"]}
    assert direct == {"checkout": "16.000000000", "search": "4.000000000", "payments": "3.000000000",
                      UNALLOCATED: "2.000000000"}  # fmt: skip


def with_charge(records: list[UsageRecord], charges: dict[str, str]) -> list[UsageRecord]:
    return [r.model_copy(update={"charge_category": charges.get(r.record_id, "Usage")}) for r in records]


CHARGED = {"a5": "RIFee", "b2": "RIFee", "a2": "Credit"}  # b2 spreads over three days, so over many buckets


async def test_the_three_ways_of_reading_lines_agree(engine: AsyncEngine) -> None:
    await write_ledger(engine, with_charge(day_one() + day_two(), CHARGED))
    lines = AllocationLinesStore(engine)
    rules = AllocationRules.model_validate({"dimensions": {"team": {
        "tags": {"keys": ["team", "owner-team"]},
        "shared": [
            {"name": "ri", "match": {"charge_categories": ["rifee"]}, "split": "proportional",
             "basis": {"services": ["AmazonEC2"]}},
            {"name": "credits", "match": {"charge_categories": ["Credit"]}, "split": "even"},
        ],
    }}})  # fmt: skip
    assert rules.charge_categories == {"rifee", "credit"} and not rules.needs_usage_types
    allocator = Allocator(rules)
    for grain in (ReportGrain.HOUR, ReportGrain.DAY, ReportGrain.MONTH):
        start, end = (START, END) if grain is not ReportGrain.MONTH else (datetime(2026, 11, 1), datetime(2026, 12, 1))
        rollups = await lines.lines(start, end, grain)
        records = await lines.lines(start, end, grain, records=True)
        hybrid = await lines.lines(start, end, grain, charge_categories=rules.charge_categories)
        for found in (rollups, records, hybrid):
            assert sum(x.nanos for x in found) == 44_000_000_001, grain
        # The rollups cannot tell fees from usage; the two record-aware ways allocate identically.
        assert allocate_lines(hybrid, allocator, "team") == allocate_lines(records, allocator, "team"), grain
    await AllocationRulesStore(engine).put(rules, "admin")
    report = await allocation_report(AllocationRulesStore(engine), lines, "team", START, END, ReportGrain.DAY)
    got = {v["value"]: v["shared"] for v in report.to_json()["totals"][0]["values"]}
    assert sum(int(v.get("ri", "0").replace(".", "")) for v in got.values()) == 10_000_000_001  # a5 + b2, exactly
    assert sum(int(v.get("credits", "0").replace(".", "")) for v in got.values()) == 6_000_000_000


async def test_reports_name_what_is_missing(engine: AsyncEngine) -> None:
    rules, lines = AllocationRulesStore(engine), AllocationLinesStore(engine)
    with pytest.raises(UnknownDimension) as none_yet:
        await allocation_report(rules, lines, "team", START, END, ReportGrain.DAY)
    assert none_yet.value.field == "by" and "no allocation rules" in str(none_yet.value)
    await rules.put(AllocationRules.model_validate(V1), "admin")
    with pytest.raises(UnknownDimension) as unknown:
        await allocation_report(rules, lines, "product", START, END, ReportGrain.DAY)
    assert "known: team" in str(unknown.value)
    with pytest.raises(ValueError, match="same tenant"):
        await allocation_report(rules, lines.for_tenant("other"), "team", START, END, ReportGrain.DAY)
