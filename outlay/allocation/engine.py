"""The allocation engine: which owner each cost line belongs to, and the period's allocated cost per owner.

Everything here is plain Python over `CostLine`s (no I/O). Assigning a line (direct value, shared rule, or nobody)
depends only on the line's key, never on other lines or on when it is evaluated, so:
- a stream consumer can assign each record as it arrives (`Allocator.allocate`);
- a report over stored buckets evaluated with today's rules gives what those rules would always have given.
Only the proportional shared split depends on other lines (the direct cost of each owner in the same bucket); it is
computed per report bucket, after every line of the bucket has been assigned (`allocate_lines`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import regex

from outlay.allocation.normalise import normalise_key, normalise_value
from outlay.allocation.rules import (
    UNALLOCATED,
    AllocationRules,
    DimensionRules,
    DirectKind,
    Selector,
    SharedRule,
    Split,
)
from outlay.allocation.split import scaled_weights, split_by_weights
from outlay.events import UsageRecord
from outlay.events.allocated_usage import AssignmentKind
from outlay.events.usage import COST_CATEGORY_TAG_PREFIX


@dataclass(frozen=True, slots=True)
class LineKey:
    """What identifies a cost line for allocation: a rollup bucket's key, plus the two record fields the rollups do
    not keep (empty when the line comes from the rollups)."""

    billing_account_id: str
    sub_account_id: str
    region: str
    service: str
    resource_id: str
    tags: tuple[tuple[str, str], ...]  # sorted items
    currency: str = "USD"
    cost_kind: str = "billed"
    usage_type: str = ""
    charge_category: str = ""


@dataclass(frozen=True, slots=True)
class CostLine:
    period_start: datetime  # the report bucket it belongs to
    key: LineKey
    nanos: int


def line_key_of(record: UsageRecord) -> LineKey:
    return LineKey(
        billing_account_id=record.billing_account_id,
        sub_account_id=record.sub_account_id or "",
        region=record.region or "",
        service=record.service,
        resource_id=record.resource_id or "",
        tags=tuple(sorted(record.tags.items())),
        currency=record.currency,
        cost_kind=str(record.cost_kind),
        usage_type=record.usage_type or "",
        charge_category=record.charge_category,
    )


@dataclass(frozen=True, slots=True)
class Assignment:
    kind: AssignmentKind
    value: str  # the owner (direct), the shared rule's name (shared), or UNALLOCATED

    @property
    def label(self) -> str:
        """One string a record can carry: `checkout`, `shared:support` or `(unallocated)`."""
        return f"shared:{self.value}" if self.kind is AssignmentKind.SHARED else self.value


NOBODY = Assignment(AssignmentKind.UNALLOCATED, UNALLOCATED)


# An admin's pattern runs on every resource id and usage type of a report: one that backtracks without end must
# fail that report, not hold a thread for ever. `regex` reads Python's `re` syntax and bounds each match in time.
PATTERN_TIMEOUT_S = 0.05


class PatternTooSlow(ValueError):
    """A rule's pattern took longer than PATTERN_TIMEOUT_S on one line: the rules must change."""

    def __init__(self, pattern: str) -> None:
        super().__init__(f"the pattern {pattern!r} took too long on one line (catastrophic backtracking?): change it")


def _pattern(text: str) -> regex.Pattern[str]:
    return regex.compile(text)


def _found(pattern: regex.Pattern[str], text: str) -> bool:
    try:
        return pattern.search(text, timeout=PATTERN_TIMEOUT_S) is not None
    except TimeoutError:
        raise PatternTooSlow(pattern.pattern) from None


class CompiledSelector:
    def __init__(self, selector: Selector) -> None:
        self._services = frozenset(s.casefold() for s in selector.services)
        self._charges = frozenset(c.casefold() for c in selector.charge_categories)
        self._usage = [_pattern(p) for p in selector.usage_types]
        self._resources = [_pattern(p) for p in selector.resources]
        self._accounts = frozenset(a.strip() for a in selector.accounts)

    def matches(self, key: LineKey) -> bool:
        if self._services and key.service.casefold() not in self._services:
            return False
        if self._charges and key.charge_category.casefold() not in self._charges:
            return False
        if self._usage and not any(_found(p, key.usage_type) for p in self._usage):
            return False
        if self._resources and not any(_found(p, key.resource_id) for p in self._resources):
            return False
        return not self._accounts or key.sub_account_id in self._accounts or key.billing_account_id in self._accounts


class CompiledDimension:
    """One dimension's rules, ready to assign line keys."""

    def __init__(self, name: str, rules: DimensionRules) -> None:
        self.name = name
        self.rules = rules
        self._ignored = frozenset(normalise_value(v) for v in rules.ignore_values) | {UNALLOCATED}
        self._tag_keys = [normalise_key(k) for k in rules.tags.keys] if rules.tags else []
        self._tag_aliases = _aliases(rules.tags.aliases) if rules.tags else {}
        categories = rules.cost_categories
        self._category_keys = (
            [COST_CATEGORY_TAG_PREFIX + normalise_key(n) for n in categories.names] if categories else []
        )
        self._category_aliases = _aliases(categories.aliases) if categories else {}
        self._resources = [(_pattern(r.pattern), normalise_value(r.value)) for r in rules.resources]
        self._accounts = {a.strip(): normalise_value(v) for a, v in rules.accounts.items()}
        self.shared = [(rule, CompiledSelector(rule.match)) for rule in rules.shared]
        self.basis = {
            rule.name: CompiledSelector(rule.basis) for rule in rules.shared if rule.basis is not None
        }  # fmt: skip
        self._direct = {
            DirectKind.TAGS: self._from_tags,
            DirectKind.COST_CATEGORIES: self._from_categories,
            DirectKind.RESOURCES: self._from_resources,
            DirectKind.ACCOUNTS: self._from_accounts,
        }

    def assign(self, key: LineKey) -> Assignment:
        for rule, selector in self.shared:
            if selector.matches(key):
                return Assignment(AssignmentKind.SHARED, rule.name)
        value = self.direct_value(key)
        return NOBODY if value is None else Assignment(AssignmentKind.DIRECT, value)

    def direct_value(self, key: LineKey) -> str | None:
        for kind in self.rules.order:
            value = self._direct[kind](key)
            if value is not None:
                return value
        return None

    def _usable(self, raw: str, aliases: Mapping[str, str]) -> str | None:
        value = normalise_value(raw)
        value = aliases.get(value, value)
        return None if value in self._ignored else value

    def _lookup(self, key: LineKey, wanted: list[str], aliases: Mapping[str, str]) -> str | None:
        if not wanted:
            return None
        found: dict[str, str] = {}
        for raw_key, raw_value in key.tags:  # sorted by raw key: `Team` before `team`, the same on every run
            normal = normalise_key(raw_key)
            if normal in found:
                continue
            value = self._usable(raw_value, aliases)
            if value is not None:
                found[normal] = value
        for wanted_key in wanted:  # the rule's key order decides between two tags that both name an owner
            if wanted_key in found:
                return found[wanted_key]
        return None

    def _from_tags(self, key: LineKey) -> str | None:
        return self._lookup(key, self._tag_keys, self._tag_aliases)

    def _from_categories(self, key: LineKey) -> str | None:
        return self._lookup(key, self._category_keys, self._category_aliases)

    def _from_resources(self, key: LineKey) -> str | None:
        if not key.resource_id:
            return None
        for pattern, value in self._resources:
            if _found(pattern, key.resource_id):
                return value
        return None

    def _from_accounts(self, key: LineKey) -> str | None:
        for account in (key.sub_account_id, key.billing_account_id):
            if account and account in self._accounts:
                return self._accounts[account]
        return None


def _aliases(aliases: Mapping[str, str]) -> dict[str, str]:
    return {normalise_value(k): normalise_value(v) for k, v in aliases.items()}


class Allocator:
    """A tenant's rule set, compiled; assignments memoised per line key (a period repeats few distinct keys)."""

    def __init__(self, rules: AllocationRules) -> None:
        self.rules = rules
        self.dimensions = {name: CompiledDimension(name, d) for name, d in rules.dimensions.items()}
        self._memo: dict[tuple[str, LineKey], Assignment] = {}

    def assign(self, dimension: str, key: LineKey) -> Assignment:
        memo_key = (dimension, key)
        found = self._memo.get(memo_key)
        if found is None:
            compiled = self.dimensions.get(dimension)
            found = NOBODY if compiled is None else compiled.assign(key)
            self._memo[memo_key] = found
        return found

    def allocate(self, record: UsageRecord) -> dict[str, Assignment]:
        """Every dimension's assignment of one record: what a stream consumer attaches to new usage. A shared
        record carries its rule; its split across owners is a property of the period (see `allocate_lines`)."""
        key = line_key_of(record)
        return {name: self.assign(name, key) for name in self.dimensions}


@dataclass
class ValueAmounts:
    direct: int = 0
    shared: dict[str, int] = field(default_factory=dict)  # rule name → nano-units received

    @property
    def total(self) -> int:
        return self.direct + sum(self.shared.values())


@dataclass
class BucketAllocation:
    """One report bucket of one currency and cost kind: cost per owner, `(unallocated)` included."""

    period_start: datetime
    currency: str
    cost_kind: str
    values: dict[str, ValueAmounts] = field(default_factory=dict)
    total: int = 0  # every line's cost: always the sum of the values' totals
    # Sizes regardless of sign (a $5 credit is $5 of cost to account for): what the allocated share is measured on,
    # since with signed amounts allocating a credit would lower the share and leaving it unallocated raise it.
    gross: int = 0
    unallocated_gross: int = 0

    def add(self, value: str, nanos: int) -> None:
        self.values.setdefault(value, ValueAmounts()).direct += nanos

    def receive(self, value: str, rule: str, nanos: int) -> None:
        amounts = self.values.setdefault(value, ValueAmounts())
        amounts.shared[rule] = amounts.shared.get(rule, 0) + nanos


@dataclass
class _Pools:
    bucket: BucketAllocation
    shared: dict[str, int] = field(default_factory=dict)  # rule → nanos to split
    shared_gross: dict[str, int] = field(default_factory=dict)  # rule → sum of its lines' absolute nanos
    basis: dict[str, dict[str, int]] = field(default_factory=dict)  # rule → owner → direct nanos counted


def allocate_lines(lines: Iterable[CostLine], allocator: Allocator, dimension: str) -> list[BucketAllocation]:
    """Allocate each bucket's lines on `dimension`: direct cost per owner, shared pools split per their rule,
    everything else `(unallocated)`. Buckets are (period, currency, cost kind): amounts of different currencies or
    kinds are never added. In every bucket the values' totals sum exactly to the lines' total."""
    compiled = allocator.dimensions.get(dimension)
    rules = {rule.name: rule for rule in compiled.rules.shared} if compiled else {}
    basis = compiled.basis if compiled else {}
    pools: dict[tuple[datetime, str, str], _Pools] = {}
    for line in lines:
        key = line.key
        group = (line.period_start, key.currency, key.cost_kind)
        pool = pools.get(group)
        if pool is None:
            # `(unallocated)` is in every bucket from the start, zero or not: an answer always shows it.
            pool = pools[group] = _Pools(BucketAllocation(*group, values={UNALLOCATED: ValueAmounts()}))
        pool.bucket.total += line.nanos
        pool.bucket.gross += abs(line.nanos)
        assignment = allocator.assign(dimension, key)
        if assignment.kind is AssignmentKind.SHARED:
            pool.shared[assignment.value] = pool.shared.get(assignment.value, 0) + line.nanos
            pool.shared_gross[assignment.value] = pool.shared_gross.get(assignment.value, 0) + abs(line.nanos)
            continue
        pool.bucket.add(assignment.value, line.nanos)
        if assignment.kind is AssignmentKind.UNALLOCATED:
            pool.bucket.unallocated_gross += abs(line.nanos)
        if assignment.kind is AssignmentKind.DIRECT:
            for rule_name, selector in basis.items():
                if selector.matches(key):
                    counted = pool.basis.setdefault(rule_name, {})
                    counted[assignment.value] = counted.get(assignment.value, 0) + line.nanos
    result = []
    for group in sorted(pools):
        pool = pools[group]
        for rule_name in sorted(pool.shared):
            _split_pool(pool, rules[rule_name], pool.shared[rule_name])
        result.append(pool.bucket)
    return result


def _split_pool(pool: _Pools, rule: SharedRule, nanos: int) -> None:
    bucket = pool.bucket
    weights = _weights(pool, rule)
    if not weights:  # nobody to carry it (no owner had direct cost in the bucket): shown, never dropped
        bucket.receive(UNALLOCATED, rule.name, nanos)
        bucket.unallocated_gross += pool.shared_gross[rule.name]
        return
    for value, share in split_by_weights(nanos, weights).items():
        bucket.receive(value, rule.name, share)


def _weights(pool: _Pools, rule: SharedRule) -> dict[str, int]:
    among = [normalise_value(v) for v in rule.among]
    if rule.split is Split.WEIGHTS:
        return scaled_weights({normalise_value(v): w for v, w in rule.weights.items()})
    direct = {
        v: a.direct for v, a in pool.bucket.values.items() if v != UNALLOCATED and a.direct > 0
    }  # fmt: skip
    if rule.split is Split.EVEN:
        return dict.fromkeys(among or sorted(direct), 1)
    basis = pool.basis.get(rule.name, {}) if rule.basis is not None else direct
    candidates = among or list(basis)
    # Owners with no positive direct cost get no share: a credit must not make someone carry a negative share.
    return {v: basis[v] for v in candidates if basis.get(v, 0) > 0}


@dataclass
class Summary:
    values: dict[str, ValueAmounts] = field(default_factory=dict)
    gross: int = 0
    unallocated_gross: int = 0


def summarise(buckets: Iterable[BucketAllocation]) -> dict[tuple[str, str], Summary]:
    """Totals over every bucket per (currency, cost kind) and owner."""
    out: dict[tuple[str, str], Summary] = {}
    for bucket in buckets:
        summary = out.setdefault((bucket.currency, bucket.cost_kind), Summary())
        summary.gross += bucket.gross
        summary.unallocated_gross += bucket.unallocated_gross
        values = summary.values
        for value, amounts in bucket.values.items():
            total = values.setdefault(value, ValueAmounts())
            total.direct += amounts.direct
            for rule, nanos in amounts.shared.items():
                total.shared[rule] = total.shared.get(rule, 0) + nanos
    return out
