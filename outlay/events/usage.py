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
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from outlay.events.currencies import ISO_4217

# The longest charge period a usage line may have. Real bills top out at a month (a monthly fee line),
# a yearly commitment at a leap year; a longer period is a bad date, and spreading it over its minutes
# (billions for a 9999 end date) would swamp the ledger's rollups.
MAX_CHARGE_PERIOD = timedelta(days=366)

# Decimal as a JSON string: exact on the wire, no float drift.
Money = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")]


class CostKind(StrEnum):
    BILLED = "billed"  # from a provider's bill (CUR, CUR 2.0, FOCUS)
    ESTIMATED = "estimated"  # metered live: usage x catalogue price


class UsageRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    record_id: str = Field(description="Stable id of this line: replaying the source yields the same id.")
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
        code = value.strip().upper()
        if code not in ISO_4217:
            raise ValueError(f"unknown currency {value!r} (expected an ISO 4217 code)")
        return code

    @model_validator(mode="after")
    def _period(self) -> UsageRecord:
        if self.charge_period_end <= self.charge_period_start:
            raise ValueError("charge_period_end must be after charge_period_start")
        if self.charge_period_end - self.charge_period_start > MAX_CHARGE_PERIOD:
            raise ValueError(f"the charge period is longer than {MAX_CHARGE_PERIOD.days} days")
        if self.charge_period_start.second or self.charge_period_start.microsecond:
            raise ValueError("charge_period_start must fall on a whole minute")
        if self.charge_period_end.second or self.charge_period_end.microsecond:
            raise ValueError("charge_period_end must fall on a whole minute")
        return self

    @property
    def key(self) -> bytes:
        """Kafka key: the series identity, so a series keeps its order on one partition."""
        return f"{self.billing_account_id}|{self.service}".encode()

    @property
    def minutes(self) -> int:
        return int((self.charge_period_end - self.charge_period_start).total_seconds() // 60)


def stable_record_id(*parts: object) -> str:
    """A record id derived from the natural key, so replays and restarts produce the same id."""
    digest = hashlib.blake2b("\x1f".join("" if p is None else str(p) for p in parts).encode(), digest_size=16)
    return digest.hexdigest()
