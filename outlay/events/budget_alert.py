"""`outlay.budget_alerts.v1`: a budget threshold crossed, forecast to be crossed, or back within (state `ok`).

The forecast service publishes one when a threshold's state changes (and once more after it restarts). Every
update of one threshold in one period carries the same `alert_id`, so consumers replace the previous state.
Keyed by budget, so one budget's alerts stay in order.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from outlay.events.usage import Money, stable_record_id
from outlay.tenancy import DEFAULT_TENANT, TenantId


class ThresholdBasis(StrEnum):
    ACTUAL = "actual"  # what has been spent
    FORECAST = "forecast"  # what the period is forecast to end at


class ThresholdState(StrEnum):
    OK = "ok"
    BREACHED = "breached"  # the basis has crossed it
    FORECAST_TO_BREACH = "forecast_to_breach"  # an actual threshold the forecast says will be crossed


class BudgetAlert(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_id: str = Field(description="Stable for (budget, period, basis, percent).")
    tenant_id: TenantId = DEFAULT_TENANT
    budget_id: str
    budget_name: str
    scope: str
    currency: str
    amount: Money
    period_start: date
    period_end: date
    basis: ThresholdBasis
    percent: Money
    threshold_amount: Money
    state: ThresholdState
    crossing_day: date | None
    actual_to_date: Money
    forecast_total: Money | None
    summary: str
    raised_at: datetime

    @property
    def key(self) -> bytes:
        return self.budget_id.encode()


def budget_alert_id(budget_id: str, period_start: date, basis: ThresholdBasis, percent: object) -> str:
    return stable_record_id("budget-alert", budget_id, period_start.isoformat(), basis.value, str(percent))
