"""Allocation rules as data: one tenant's way of saying who owns which cost (plain pydantic, no I/O).

A rule set names allocation *dimensions* (`team`, `product`, `customer`, ...). For each dimension a cost line is
either allocated directly to one value, selected by a shared-cost rule and split across values, or unallocated.
Direct rules come in four kinds, tried in the dimension's `order` (first that yields a value wins):

- `tags`: tag keys to read (compared after key normalisation, so `Team`, `TEAM` and ` team` are one key; list
  `owner-team` too when it means the same) and value aliases applied after value normalisation;
- `cost_categories`: AWS Cost Categories names whose value a line carries (tags `costcategory:<Name>`);
- `resources`: regular expressions on the resource id, each naming a value;
- `accounts`: account id (linked account first, then the payer) → value.

Shared-cost rules (`shared`) are checked before the direct ones: a line they select is shared even when tagged, since
support, data transfer and cluster fees are owned by nobody in particular. See docs/allocation.md.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

import regex
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from outlay.allocation.normalise import normalise_key, normalise_value
from outlay.text import printable

MAX_DIMENSIONS = 16
MAX_ENTRIES = 5_000  # per list or map: a rule set is read on every report, keep it bounded
MAX_PATTERN = 500
UNALLOCATED = "(unallocated)"
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
# Placeholders people type into tag values that say "nobody": counting them as owners would inflate the share.
DEFAULT_IGNORED_VALUES = ("", "null", "none", "n/a", "na", "unknown", "untagged", "tbd", "-")

# Every string of a rule set is printable text: a NUL or control character can match nothing real, and PostgreSQL
# text refuses NUL.
Name = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(printable)]
Value = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(printable)]


def _owner(value: str) -> str:
    normal = normalise_value(value)
    if not normal:
        raise ValueError("an owner needs more than spaces, '-' and '_'")
    if normal == UNALLOCATED:
        raise ValueError(f"{UNALLOCATED} is not an owner: it is what is left when no rule names one")
    return value


# A value a rule assigns cost to.
Owner = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(printable), AfterValidator(_owner)]
TagKey = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(printable)]
Pattern = Annotated[str, Field(min_length=1, max_length=MAX_PATTERN), AfterValidator(printable)]


class DirectKind(StrEnum):
    TAGS = "tags"
    COST_CATEGORIES = "cost_categories"
    RESOURCES = "resources"
    ACCOUNTS = "accounts"


# Most specific evidence first: a tag or cost category is the owner's own statement about a resource, a resource
# pattern an administrator's, an account the coarsest fallback.
DEFAULT_ORDER = (DirectKind.TAGS, DirectKind.COST_CATEGORIES, DirectKind.RESOURCES, DirectKind.ACCOUNTS)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TagRule(Strict):
    keys: list[TagKey] = Field(
        min_length=1, max_length=64, description="Tag keys to read, first present wins (matched normalised)"
    )
    aliases: dict[Value, Owner] = Field(
        default_factory=dict, max_length=MAX_ENTRIES, description="Normalised value → the value it stands for"
    )

    @field_validator("keys")
    @classmethod
    def _distinct_keys(cls, keys: list[str]) -> list[str]:
        normal = [normalise_key(k) for k in keys]
        if any(not k for k in normal):
            raise ValueError("a tag key must contain more than spaces")
        if len(set(normal)) != len(normal):
            raise ValueError("two keys are the same once normalised")
        return keys


class CostCategoryRule(Strict):
    names: list[TagKey] = Field(min_length=1, max_length=16)
    aliases: dict[Value, Owner] = Field(default_factory=dict, max_length=MAX_ENTRIES)


class ResourceRule(Strict):
    pattern: Pattern = Field(description="Python regex searched in the resource id")
    value: Owner

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            regex.compile(pattern)  # what the engine runs it with (outlay/allocation/engine.py)
        except regex.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return pattern


class Selector(Strict):
    """Which lines a shared rule takes (every given field must match; values in one list are alternatives)."""

    services: list[Value] = Field(default_factory=list, max_length=MAX_ENTRIES)
    charge_categories: list[Value] = Field(default_factory=list, max_length=64)
    usage_types: list[Pattern] = Field(
        default_factory=list, max_length=64, description="Regexes searched in the usage type"
    )
    resources: list[Pattern] = Field(
        default_factory=list, max_length=64, description="Regexes searched in the resource id"
    )
    accounts: list[Value] = Field(default_factory=list, max_length=MAX_ENTRIES)

    @field_validator("usage_types", "resources")
    @classmethod
    def _compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                regex.compile(pattern)
            except regex.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
        return patterns

    @property
    def empty(self) -> bool:
        return not (self.services or self.charge_categories or self.usage_types or self.resources or self.accounts)

    @property
    def needs_record_fields(self) -> bool:
        """Usage type and charge category live on usage records only, not in the rollup buckets' key."""
        return bool(self.charge_categories or self.usage_types)


class Split(StrEnum):
    EVEN = "even"
    PROPORTIONAL = "proportional"
    WEIGHTS = "weights"


class SharedRule(Strict):
    name: Name
    match: Selector
    split: Split
    among: list[Owner] = Field(
        default_factory=list,
        max_length=MAX_ENTRIES,
        description="Values to split across; default: every value with direct cost in the same bucket",
    )
    weights: dict[Owner, Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=6)]] = Field(
        default_factory=dict, max_length=MAX_ENTRIES, description="split=weights: value → weight"
    )
    basis: Selector | None = Field(
        default=None,
        description="split=proportional: count only the direct cost of these lines (e.g. EC2 for data transfer)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> SharedRule:
        if self.match.empty:
            raise ValueError("match: select at least one service, charge category, usage type, resource or account")
        if self.split is Split.WEIGHTS and not self.weights:
            raise ValueError("weights: required when split is 'weights'")
        if self.split is not Split.WEIGHTS and self.weights:
            raise ValueError("weights: only for split 'weights'")
        if self.basis is not None and self.split is not Split.PROPORTIONAL:
            raise ValueError("basis: only for split 'proportional'")
        if self.split is Split.WEIGHTS and self.among:
            raise ValueError("among: not with split 'weights' (the weights name the values)")
        for field_name, owners in (("among", list(self.among)), ("weights", list(self.weights))):
            if len({normalise_value(o) for o in owners}) != len(owners):
                raise ValueError(f"{field_name}: two owners are the same once normalised")
        return self


class DimensionRules(Strict):
    order: list[DirectKind] = Field(default_factory=lambda: list(DEFAULT_ORDER), min_length=1, max_length=4)
    tags: TagRule | None = None
    cost_categories: CostCategoryRule | None = None
    resources: list[ResourceRule] = Field(default_factory=list, max_length=MAX_ENTRIES)
    accounts: dict[Value, Owner] = Field(default_factory=dict, max_length=MAX_ENTRIES)
    shared: list[SharedRule] = Field(default_factory=list, max_length=256)
    ignore_values: list[Annotated[str, Field(max_length=200), AfterValidator(printable)]] = Field(
        default_factory=lambda: list(DEFAULT_IGNORED_VALUES),
        max_length=1000,
        description="Tag / cost category values that mean 'nobody' (compared normalised)",
    )

    @field_validator("order")
    @classmethod
    def _once_each(cls, order: list[DirectKind]) -> list[DirectKind]:
        if len(set(order)) != len(order):
            raise ValueError("each kind at most once")
        return order

    @model_validator(mode="after")
    def _names(self) -> DimensionRules:
        names = [rule.name for rule in self.shared]
        if len(set(names)) != len(names):
            raise ValueError("shared: two rules have the same name")
        return self

    @property
    def selectors(self) -> list[Selector]:
        return [rule.match for rule in self.shared] + [rule.basis for rule in self.shared if rule.basis is not None]


class AllocationRules(Strict):
    """A tenant's whole rule set; one version of it is stored per change."""

    dimensions: dict[Name, DimensionRules] = Field(default_factory=dict, max_length=MAX_DIMENSIONS)

    @field_validator("dimensions")
    @classmethod
    def _dimension_names(cls, dimensions: dict[str, DimensionRules]) -> dict[str, DimensionRules]:
        for name in dimensions:
            if not _NAME.match(name):
                raise ValueError(f"{name!r}: a dimension name is lowercase letters, digits, '-' or '_'")
        return dimensions

    @property
    def selectors(self) -> list[Selector]:
        return [selector for d in self.dimensions.values() for selector in d.selectors]

    @property
    def needs_record_fields(self) -> bool:
        """Some rule reads a usage type or a charge category, which the rollup buckets' key does not hold."""
        return any(s.needs_record_fields for s in self.selectors)

    @property
    def needs_usage_types(self) -> bool:
        return any(s.usage_types for s in self.selectors)

    @property
    def charge_categories(self) -> frozenset[str]:
        """Every charge category some rule names (case-folded, as selectors compare them)."""
        return frozenset(c.casefold() for s in self.selectors for c in s.charge_categories)


def canonical_value(value: str) -> str:
    """How a rule's own value is written into results: normalised like tag values, so `Checkout` in an account
    map and `checkout` from a tag are one owner."""
    return normalise_value(value)
