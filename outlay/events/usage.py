"""`outlay.usage.v1`: one FOCUS-aligned usage line with its own charge period.

Exports keep their native hourly or daily (or monthly) periods; live sources emit one-minute periods
marked `estimated`. The key is the series identity (billing account + service), so one series always
lands on one partition.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from operator import methodcaller
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from outlay.events.currencies import ISO_4217, currency_code
from outlay.events.trusted import check_trustable, trusted_instance
from outlay.tenancy import DEFAULT_TENANT, TenantId, tenant_problem

# The longest charge period a usage line may have. Real bills top out at a month (a monthly fee line),
# a yearly commitment at a leap year; a longer period is a bad date, and spreading it over its minutes
# (billions for a 9999 end date) would swamp the ledger's rollups.
MAX_CHARGE_PERIOD = timedelta(days=366)

# Decimal as a JSON string in fixed-point notation: exact on the wire, no float drift, no exponent. The
# serializer is a C-level method call (format(d, "f") without a Python frame: every event has four).
Money = Annotated[Decimal, PlainSerializer(methodcaller("__format__", "f"), return_type=str, when_used="json")]


# How a usage record carries an AWS Cost Category's value: a tag under this prefix plus the category's name
# (`costcategory:Team` = "Payments"). Cost categories are AWS's own allocation rules; ingest copies them from CUR
# and CUR 2.0 so that allocation rules can name them (`outlay.allocation`, `cost_categories.names`).
COST_CATEGORY_TAG_PREFIX = "costcategory:"


class CostKind(StrEnum):
    BILLED = "billed"  # from a provider's bill (CUR, CUR 2.0, FOCUS)
    ESTIMATED = "estimated"  # metered live: usage x catalogue price


class UsageRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    record_id: str = Field(
        description="Stable id of this line (within its tenant): replaying the source yields the same id."
    )
    tenant_id: TenantId = DEFAULT_TENANT
    source: str = Field(description="focus | cur | cur2 | metering | generator")
    source_ref: str = Field(default="", description="Where it came from: file URI and row, or poller.")
    cost_kind: CostKind
    provider: str = "AWS"
    charge_period_start: datetime
    charge_period_end: datetime
    billing_account_id: str
    sub_account_id: str | None = None
    region: str | None = None
    service: str
    service_category: str | None = None
    resource_id: str | None = None
    usage_type: str | None = None
    charge_category: str = "Usage"
    consumed_quantity: Money | None = None
    consumed_unit: str | None = None
    billed_cost: Money
    effective_cost: Money
    list_cost: Money
    currency: str = "USD"
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("charge_period_start", "charge_period_end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        return currency_code(value)

    @model_validator(mode="after")
    def _period(self) -> UsageRecord:
        problem = period_problem(self.charge_period_start, self.charge_period_end)
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def key(self) -> bytes:
        """Kafka key: the series identity, so a series keeps its order on one partition."""
        return f"{self.billing_account_id}|{self.service}".encode()

    @property
    def minutes(self) -> int:
        return int((self.charge_period_end - self.charge_period_start).total_seconds() // 60)


def period_problem(start: datetime, end: datetime) -> str | None:
    """What is wrong with a charge period, or None: the model's rule, shared with `checked_usage_record`."""
    if end <= start:
        return "charge_period_end must be after charge_period_start"
    if end - start > MAX_CHARGE_PERIOD:
        return f"the charge period is longer than {MAX_CHARGE_PERIOD.days} days"
    if start.second or start.microsecond:
        return "charge_period_start must fall on a whole minute"
    if end.second or end.microsecond:
        return "charge_period_end must fall on a whole minute"
    return None


# --- the parsers' fast constructor -------------------------------------------------------------------
#
# Export parsers build hundreds of thousands of records from cells they have already converted and
# checked (text, Decimal, UTC whole-minute periods, ISO 4217 codes: `services.ingest.sources.cells`).
# Validating them again costs more than parsing the row did, so `checked_usage_record` re-checks only
# what is cheap to test and builds the model without re-validating; anything unexpected takes the full
# validation instead. Its result is therefore always a record the model itself would accept.

_REQUIRED = frozenset(name for name, info in UsageRecord.model_fields.items() if info.is_required())
_MISSING = object()
# Field order matters: the JSON encoder writes fields in the instance dict's order, and
# dict.update keeps the template's order for keys it already has.
_TEMPLATE: dict[str, Any] = {
    name: _MISSING if info.is_required() else info.get_default(call_default_factory=False)
    for name, info in UsageRecord.model_fields.items()
}
_MONEY = ("billed_cost", "effective_cost", "list_cost")
check_trustable(UsageRecord)
# Tenant ids found valid so far: a file's rows share one, so the pattern is matched once, not per row.
_VALID_TENANTS: set[str] = {DEFAULT_TENANT}
_MAX_VALID_TENANTS = 1024


def _valid_tenant(tenant: object) -> bool:
    if type(tenant) is not str:
        return False
    if tenant in _VALID_TENANTS:
        return True
    if tenant_problem(tenant) is not None:
        return False
    if len(_VALID_TENANTS) >= _MAX_VALID_TENANTS:
        _VALID_TENANTS.clear()
        _VALID_TENANTS.add(DEFAULT_TENANT)
    _VALID_TENANTS.add(tenant)
    return True


def _is_checked(values: dict[str, Any]) -> bool:
    start, end = values["charge_period_start"], values["charge_period_end"]
    quantity = values["consumed_quantity"]
    return (
        type(start) is datetime
        and type(end) is datetime
        and start.tzinfo is UTC
        and end.tzinfo is UTC
        and period_problem(start, end) is None
        and values["currency"] in ISO_4217
        and type(values["billed_cost"]) is Decimal  # the three of _MONEY, spelt out: a generator costs more
        and type(values["effective_cost"]) is Decimal
        and type(values["list_cost"]) is Decimal
        and (quantity is None or type(quantity) is Decimal)
        and type(values["cost_kind"]) is CostKind
        and type(values["tags"]) is dict
        and (
            (tenant := values["tenant_id"]) is DEFAULT_TENANT
            or (type(tenant) is str and tenant in _VALID_TENANTS)
            or _valid_tenant(tenant)
        )
    )


def _checked_usage_record(**fields: Any) -> UsageRecord:
    if not fields.keys() >= _REQUIRED:
        return UsageRecord(**fields)  # the full validation names what is missing
    values = _TEMPLATE.copy()
    values.update(fields)
    if len(values) != len(_TEMPLATE) or not _is_checked(values):  # a longer dict: an unknown field
        return UsageRecord(**fields)
    if "tags" not in fields:
        values["tags"] = {}  # the default factory's fresh dict, never the template's
    return build_record(values, set(fields))


def build_record(values: dict[str, Any], fields_set: set[str]) -> UsageRecord:
    """An instance from every field's final, checked value, in the model's field order. Only a fast path
    that checked the values may call it."""
    return trusted_instance(UsageRecord, values, fields_set)


if TYPE_CHECKING:
    # For the type checker it is the model's own constructor: the same keywords, the same types.
    checked_usage_record = UsageRecord
else:
    checked_usage_record = _checked_usage_record


def _id_text(parts: tuple[object, ...]) -> str:
    return "\x1f".join("" if p is None else str(p) for p in parts)


def stable_record_id(*parts: object) -> str:
    """A record id derived from the natural key, so replays and restarts produce the same id."""
    return hashlib.blake2b(_id_text(parts).encode(), digest_size=16).hexdigest()


class RecordIds:
    """`stable_record_id(*prefix, *rest)` for many records sharing `prefix` (a file): the prefix is
    hashed once and each id only hashes its own parts. Same ids, a fraction of the cost."""

    __slots__ = ("_base",)

    def __init__(self, *prefix: object) -> None:
        self._base = hashlib.blake2b((_id_text(prefix) + "\x1f").encode(), digest_size=16)

    def __call__(self, *rest: object) -> str:
        return self.of_joined(_id_text(rest).encode())

    def of_joined(self, joined: bytes) -> str:
        """`self(*rest)` from its parts already joined as `__call__` joins them (str(part), "\\x1f" between) and
        UTF-8 encoded: for callers that build that text for many records at once."""
        digest = self._base.copy()
        digest.update(joined)
        return digest.hexdigest()
