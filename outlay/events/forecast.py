"""`outlay.forecasts.v1`: the latest forecast of one cost scope (the total, an account, a service, a tag value) in
one currency.

The forecast service publishes one per scope each time it reforecasts (when billed data lands, on its schedule,
on demand). Keyed by scope and currency: the newest event of a scope in a currency replaces the previous one;
`forecast_id` is stable for a scope, currency, basis and history end, so a repeated run carries the same id.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from outlay.events.usage import Money, stable_record_id
from outlay.tenancy import DEFAULT_TENANT, TenantId


class ForecastBasis(StrEnum):
    """Which cost each history day holds: the bill where it has arrived, else the live estimate."""

    BILLED_ELSE_ESTIMATED = "billed_else_estimated"


class _Bounds(BaseModel):
    """An expected value with its 80% and 95% intervals."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    expected: Money
    lower80: Money
    upper80: Money
    lower95: Money
    upper95: Money

    @model_validator(mode="after")
    def _ordered(self) -> _Bounds:
        if not self.lower95 <= self.lower80 <= self.expected <= self.upper80 <= self.upper95:
            raise ValueError("bounds must satisfy lower95 <= lower80 <= expected <= upper80 <= upper95")
        return self


class ForecastDay(_Bounds):
    day: date


class ForecastHour(_Bounds):
    hour: datetime = Field(description="The hour's start (UTC).")


class ForecastTotal(BaseModel):
    """A period's total: what is already spent in it plus what is forecast for the rest, with intervals."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_day: date
    last_day: date
    actual_to_date: Money = Field(description="Spent in the period before the first forecast day.")
    expected: Money = Field(description="actual_to_date + the forecast of the period's remaining days.")
    lower80: Money
    upper80: Money
    lower95: Money
    upper95: Money


class CostForecast(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    forecast_id: str = Field(description="Stable for (scope, currency, basis, history_end, horizon).")
    tenant_id: TenantId = DEFAULT_TENANT
    scope: str = Field(description="'total', 'billing_account_id=…', 'service=…' or 'tag:<key>=<value>'.")
    dimensions: dict[str, str] = Field(default_factory=dict, description="The scope's dimension values.")
    currency: str = "USD"
    basis: ForecastBasis = ForecastBasis.BILLED_ELSE_ESTIMATED
    history_start: date = Field(description="The first day of history learnt.")
    history_end: date = Field(description="The last complete day learnt; the forecast starts the day after.")
    generated_at: datetime
    model: str = Field(description="The model chosen for this scope by rolling-origin backtest.")
    short_history: bool = Field(description="Too little history to rank errors: the intervals are wide on purpose.")
    days: list[ForecastDay] = Field(description="One entry per day ahead, in order.")
    hours: list[ForecastHour] = Field(
        default_factory=list,
        description="The next hours, in order, when the scope's history is hourly (live or hourly exports).",
    )
    next_30_days: ForecastTotal
    month_end: ForecastTotal = Field(description="The calendar month of the first forecast day, to its end.")

    @property
    def key(self) -> bytes:
        return f"{self.scope}|{self.currency}".encode()


def forecast_id(scope: str, currency: str, basis: ForecastBasis, history_end: date, horizon_days: int) -> str:
    return stable_record_id("forecast", scope, currency, basis.value, history_end.isoformat(), horizon_days)
