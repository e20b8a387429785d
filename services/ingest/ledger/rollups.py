"""Rollup increments from usage records: pure domain logic, no I/O.

Each record's billed / effective / list nano-units are spread over the hour and day buckets its
charge period overlaps (`outlay.spread.spread`, the same minute split for every grain), so the hour
totals and the day totals each reconcile exactly with the records. Increments for the same
(grain, bucket, key) within one batch are added together, so the store sees one upsert per key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from outlay.events import UsageRecord
from outlay.money import to_nanos
from outlay.spread import GRAIN_STEP, Grain, floor_to, spread, to_naive_utc

ROLLUP_GRAINS: tuple[Grain, ...] = (Grain.HOUR, Grain.DAY)

Amounts = tuple[int, int, int]  # billed, effective, list nano-units


class RollupKey(NamedTuple):
    """One rollup bucket; field order and names match `outlay.store.models.ROLLUP_KEY`."""

    grain: str
    period_start: datetime  # naive UTC, as stored
    tenant_id: str
    cost_kind: str
    provider: str
    billing_account_id: str
    sub_account_id: str
    region: str
    service: str
    resource_id: str
    currency: str
    tags_hash: str


@dataclass(slots=True)
class RollupIncrement:
    """What one batch adds to one bucket."""

    tags: dict[str, str] = field(default_factory=dict)
    billed_nanos: int = 0
    effective_nanos: int = 0
    list_nanos: int = 0
    records: int = 0  # records that contributed to this bucket


def tags_hash(tags: Mapping[str, str]) -> str:
    """Stable 32-hex-char hash of a tag set: independent of insertion order."""
    canonical = json.dumps(sorted(tags.items()), separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


def spread_amounts(amounts: Amounts, start: datetime, end: datetime, grain: Grain) -> list[tuple[datetime, Amounts]]:
    """(bucket, (billed, effective, list)) shares for each `grain` bucket that [start, end) overlaps."""
    bucket = floor_to(start, grain)
    if end <= bucket + GRAIN_STEP[grain]:
        # The common case for hourly and daily exports: one bucket takes the whole amount.
        return [(bucket, amounts)]
    billed, effective, listed = amounts
    # The three spreads walk the same buckets in the same order, so zipping them lines up.
    return [
        (when, (b, e, lst))
        for (when, b), (_, e), (_, lst) in zip(
            spread(billed, start, end, grain),
            spread(effective, start, end, grain),
            spread(listed, start, end, grain),
            strict=True,
        )
    ]


KeyRest = tuple[str, str, str, str, str, str, str, str, str, str]  # RollupKey without grain and bucket


def key_rest(rec: UsageRecord, tags_digest: str) -> KeyRest:
    return (
        rec.tenant_id,
        plain_text(rec.cost_kind),
        rec.provider,
        rec.billing_account_id,
        rec.sub_account_id or "",
        rec.region or "",
        rec.service,
        rec.resource_id or "",
        rec.currency,
        tags_digest,
    )


def plain_text(member: str) -> str:
    """A StrEnum member's value as a plain str: `.value` is a Python-level property, this is C."""
    return str.__str__(member)


def record_amounts(rec: UsageRecord) -> Amounts:
    return to_nanos(rec.billed_cost), to_nanos(rec.effective_cost), to_nanos(rec.list_cost)


class RollupAccumulator:
    """Adds records' spread amounts into per-(grain, bucket, key) increments.

    `add` takes the parts a caller may already have computed for the record's row (naive period,
    nano-unit amounts, tags hash), so a batch is walked once; `add_record` computes them itself.
    """

    def __init__(self, grains: tuple[Grain, ...] = ROLLUP_GRAINS) -> None:
        self.increments: dict[RollupKey, RollupIncrement] = {}
        self._grains = [(grain, grain.value, GRAIN_STEP[grain]) for grain in grains]
        # A batch repeats a few tag sets, periods and amounts many times: each is worked out once.
        self._hashes: dict[tuple[tuple[str, str], ...], str] = {}
        self._periods: dict[tuple[datetime, datetime], tuple[datetime, datetime]] = {}
        self._plans: dict[tuple[datetime, datetime], list[tuple[Grain, str, datetime | None]]] = {}
        self._nanos: dict[Decimal, int] = {}

    def naive_period(self, rec: UsageRecord) -> tuple[datetime, datetime]:
        """The record's period as the store keeps it (naive UTC)."""
        period = (rec.charge_period_start, rec.charge_period_end)
        naive = self._periods.get(period)
        if naive is None:
            naive = self._periods[period] = (to_naive_utc(period[0]), to_naive_utc(period[1]))
        return naive

    def amounts(self, rec: UsageRecord) -> Amounts:
        """`record_amounts`, remembering each amount's nano-units."""
        nanos = self._nanos
        billed, effective, listed = rec.billed_cost, rec.effective_cost, rec.list_cost
        b = nanos.get(billed)
        if b is None:
            b = nanos[billed] = to_nanos(billed)
        e = nanos.get(effective)
        if e is None:
            e = nanos[effective] = to_nanos(effective)
        lst = nanos.get(listed)
        if lst is None:
            lst = nanos[listed] = to_nanos(listed)
        return b, e, lst

    def _plan(self, start: datetime, end: datetime) -> list[tuple[Grain, str, datetime | None]]:
        """Per grain: the one bucket that holds all of [start, end), or None when it must be spread."""
        plan = self._plans.get((start, end))
        if plan is None:
            plan = []
            for grain, name, step in self._grains:
                bucket = floor_to(start, grain)
                plan.append((grain, name, bucket if end <= bucket + step else None))
            self._plans[(start, end)] = plan
        return plan

    def tags_hash(self, tags: Mapping[str, str]) -> str:
        # Keyed on the items as they come (one source writes its tags in one order), so no sort per
        # record; the digest itself is order-independent, so another order only costs a second entry.
        items = tuple(tags.items())
        digest = self._hashes.get(items)
        if digest is None:
            digest = self._hashes[items] = tags_hash(tags)
        return digest

    def add_record(self, rec: UsageRecord) -> None:
        self.add(key_rest(rec, self.tags_hash(rec.tags)), rec.tags, *self.naive_period(rec), self.amounts(rec))

    def add(self, rest: KeyRest, tags: Mapping[str, str], start: datetime, end: datetime, amounts: Amounts) -> None:
        out = self.increments
        new_key = tuple.__new__  # RollupKey(*fields) without NamedTuple's per-call argument parsing
        for grain, name, bucket in self._plan(start, end):
            shares = [(bucket, amounts)] if bucket is not None else spread_amounts(amounts, start, end, grain)
            for when, (b, e, lst) in shares:
                key: RollupKey = new_key(RollupKey, (name, when, *rest))
                inc = out.get(key)
                if inc is None:
                    inc = out[key] = RollupIncrement(tags=dict(tags))
                inc.billed_nanos += b
                inc.effective_nanos += e
                inc.list_nanos += lst
                inc.records += 1


def rollup_increments(
    records: Iterable[UsageRecord], grains: tuple[Grain, ...] = ROLLUP_GRAINS
) -> dict[RollupKey, RollupIncrement]:
    """Aggregate the rollup increments of `records` per (grain, bucket, key)."""
    acc = RollupAccumulator(grains)
    for rec in records:
        acc.add_record(rec)
    return acc.increments
