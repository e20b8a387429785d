"""Budgets, defined once: what one is (a scope, an amount, a period, thresholds) and what its status says.

The gateway stores budgets and serves them; the forecast service works out their status (spent so far, forecast
to the period's end, which thresholds are crossed or forecast to be, and on which day) and raises alerts.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from outlay.events.budget_alert import ThresholdBasis, ThresholdState
from outlay.events.currencies import currency_code
from outlay.events.usage import Money
from outlay.money import NANOS_PER_UNIT, to_nanos
from outlay.scopes import parse_scope
from outlay.text import printable

__all__ = [
    "Budget",
    "BudgetIn",
    "BudgetPeriod",
    "BudgetStatus",
    "Threshold",
    "ThresholdBasis",
    "ThresholdState",
    "ThresholdStatus",
]

MAX_CUSTOM_DAYS = 366
MAX_NANOS = 2**63
DEFAULT_THRESHOLDS = (("actual", Decimal(100)), ("forecast", Decimal(100)))


class BudgetPeriod(StrEnum):
    MONTHLY = "monthly"  # each calendar month (UTC)
    CUSTOM = "custom"  # from start to end, inclusive


class Threshold(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    basis: ThresholdBasis
    percent: Decimal = Field(gt=0, le=1000, description="Of the budget's amount: 80 alerts at 80%.")


class BudgetIn(BaseModel):
    """A budget as a client defines it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    scope: str = Field(description="'total', 'billing_account_id=…', 'service=…' or 'tag:<key>=<value>'.")

    _printable = field_validator("name")(printable)
    amount: Money = Field(gt=0)
    currency: str = "USD"
    period: BudgetPeriod = BudgetPeriod.MONTHLY
    start: date | None = Field(default=None, description="custom periods: the first day")
    end: date | None = Field(default=None, description="custom periods: the last day (inclusive)")
    thresholds: list[Threshold] = Field(
        default_factory=lambda: [Threshold(basis=ThresholdBasis(b), percent=p) for b, p in DEFAULT_THRESHOLDS],
        max_length=20,
    )

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        parse_scope(value)  # raises naming the problem
        return value

    @field_validator("amount")
    @classmethod
    def _storable_amount(cls, value: Decimal) -> Decimal:
        # The store keeps nano-units in a 64-bit integer: under one nano rounds to nothing, over it overflows.
        if not 0 < to_nanos(value) < MAX_NANOS:
            raise ValueError(f"must be at least 0.000000001 and under {MAX_NANOS // NANOS_PER_UNIT:,}")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return currency_code(value)

    @model_validator(mode="after")
    def _period(self) -> BudgetIn:
        if self.period is BudgetPeriod.CUSTOM:
            if self.start is None or self.end is None:
                raise ValueError("a custom period needs both start and end")
            if self.end < self.start:
                raise ValueError("end must not be before start")
            if (self.end - self.start).days + 1 > MAX_CUSTOM_DAYS:
                raise ValueError(f"a custom period is at most {MAX_CUSTOM_DAYS} days")
        elif self.start is not None or self.end is not None:
            raise ValueError("start and end apply to custom periods only")
        if len(set(self.thresholds)) != len(self.thresholds):
            raise ValueError("thresholds must not repeat")
        return self


class Budget(BudgetIn):
    budget_id: str
    created_at: datetime

    def period_on(self, day: date) -> tuple[date, date]:
        """The budget period that holds `day` (a custom budget has one period, whatever the day)."""
        if self.period is BudgetPeriod.CUSTOM:
            assert self.start is not None and self.end is not None
            return self.start, self.end
        first = day.replace(day=1)
        return first, first.replace(day=calendar.monthrange(day.year, day.month)[1])


class ThresholdStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    basis: ThresholdBasis
    percent: Decimal
    threshold_amount: Money
    state: ThresholdState
    crossing_day: date | None = Field(description="When spend crossed it, or is forecast to (None: not in the period).")


class BudgetStatus(BaseModel):
    """Where a budget stands in its current period: the variance report's row."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    budget_id: str
    name: str
    scope: str
    currency: str
    amount: Money
    period_start: date
    period_end: date
    history_end: date | None = Field(description="The last complete day of cost counted (None: no cost yet).")
    actual_to_date: Money
    forecast_total: Money | None = Field(description="Spent plus forecast to the period's end (None: not forecast).")
    forecast_lower80: Money | None
    forecast_upper80: Money | None
    variance: Money | None = Field(description="forecast_total − amount (positive: over budget).")
    variance_percent: Decimal | None
    thresholds: list[ThresholdStatus]
    summary: str = Field(description="In words, e.g. 'forecast to exceed the budget by 12% on 2026-12-19'.")


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
