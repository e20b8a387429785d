"""A budget's status from its scope's daily cost and forecast: plain Python, no I/O.

Spent so far is the period's complete days (bill where it arrived, else estimate). The forecast total adds the
forecast of each remaining day; its 80% interval is the forecast's month-end interval for a monthly budget, and
for a custom period the per-day bounds added up (errors of cost days move together, so this errs wide). A
threshold's crossing day is the first day the running total (actual, then forecast) reaches it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from outlay.budgets import Budget, BudgetPeriod, BudgetStatus, ThresholdBasis, ThresholdState, ThresholdStatus
from outlay.events.budget_alert import BudgetAlert, budget_alert_id
from outlay.events.forecast import CostForecast
from outlay.tenancy import DEFAULT_TENANT
from services.forecast.models.forecaster import MAX_HORIZON_DAYS
from services.forecast.scopes import NEXT_DAYS, ScopeHistory, build_forecasts
from services.forecast.tenants import tenant_event_id

_MICRO = Decimal("0.000001")
_CENT_PERCENT = Decimal("0.01")


def budget_status(
    budget: Budget, actual_days: dict[date, Decimal], forecast: CostForecast | None, today: date
) -> BudgetStatus:
    """`actual_days`: the scope's cost per complete day; `forecast`: the scope's forecast from `today` on (None:
    no history to forecast from); the period is the one holding `today`."""
    start, end = budget.period_on(today)
    history_end = forecast.history_end if forecast is not None else max(actual_days, default=None)
    spent_days = sorted((d, v) for d, v in actual_days.items() if start <= d <= end)
    actual = sum((v for _, v in spent_days), Decimal(0)).quantize(_MICRO)
    ahead = [] if forecast is None else [d for d in forecast.days if start <= d.day <= end]
    covered = history_end is not None and (history_end >= end or (ahead and ahead[-1].day == end))
    total = lower = upper = None
    if covered:
        total = (actual + sum((d.expected for d in ahead), Decimal(0))).quantize(_MICRO)
        month = forecast.month_end if forecast is not None else None
        same_month = month is not None and (month.first_day, month.last_day) == (start, end)
        if month is not None and same_month and budget.period is BudgetPeriod.MONTHLY:
            lower, upper = month.lower80, month.upper80
        else:
            lower = (actual + sum((d.lower80 for d in ahead), Decimal(0))).quantize(_MICRO)
            upper = (actual + sum((d.upper80 for d in ahead), Decimal(0))).quantize(_MICRO)
    running = _running([*spent_days, *((d.day, d.expected) for d in ahead)])
    actual_running = _running(spent_days)
    statuses = [
        _threshold(budget, t.basis, t.percent, actual, total, actual_running, running) for t in budget.thresholds
    ]
    variance = None if total is None else (total - budget.amount).quantize(_MICRO)
    variance_pct = None if variance is None else (100 * variance / budget.amount).quantize(_CENT_PERCENT)
    return BudgetStatus(
        budget_id=budget.budget_id,
        name=budget.name,
        scope=budget.scope,
        currency=budget.currency,
        amount=budget.amount,
        period_start=start,
        period_end=end,
        history_end=history_end,
        actual_to_date=actual,
        forecast_total=total,
        forecast_lower80=lower,
        forecast_upper80=upper,
        variance=variance,
        variance_percent=variance_pct,
        thresholds=statuses,
        summary=_summary(budget, actual, total, variance_pct, running),
    )


def _running(days: list[tuple[date, Decimal]]) -> list[tuple[date, Decimal]]:
    out, total = [], Decimal(0)
    for day, value in days:
        total += value
        out.append((day, total))
    return out


def _crossing(running: list[tuple[date, Decimal]], amount: Decimal) -> date | None:
    return next((day for day, total in running if total >= amount), None)


def _threshold(
    budget: Budget,
    basis: ThresholdBasis,
    percent: Decimal,
    actual: Decimal,
    total: Decimal | None,
    actual_running: list[tuple[date, Decimal]],
    running: list[tuple[date, Decimal]],
) -> ThresholdStatus:
    amount = (budget.amount * percent / 100).quantize(_MICRO)
    if basis is ThresholdBasis.ACTUAL and actual >= amount:
        state, day = ThresholdState.BREACHED, _crossing(actual_running, amount)
    elif max(actual, total if total is not None else actual) >= amount:  # spent past it: no forecast needed
        state = ThresholdState.FORECAST_TO_BREACH if basis is ThresholdBasis.ACTUAL else ThresholdState.BREACHED
        day = _crossing(running, amount)
    else:
        state, day = ThresholdState.OK, None
    return ThresholdStatus(basis=basis, percent=percent, threshold_amount=amount, state=state, crossing_day=day)


def _summary(
    budget: Budget,
    actual: Decimal,
    total: Decimal | None,
    variance_pct: Decimal | None,
    running: list[tuple[date, Decimal]],
) -> str:
    spent = f"{100 * actual / budget.amount:.0f}%"
    if actual >= budget.amount:
        return f"over budget: spent {actual:.2f} {budget.currency}, {spent} of {budget.amount:.2f}"
    if total is None or variance_pct is None:
        return f"spent {spent} of the budget so far; no forecast to the period's end yet"
    if total > budget.amount:
        day = _crossing(running, budget.amount)
        when = f" on {day.isoformat()}" if day is not None else ""
        return f"forecast to exceed the budget by {variance_pct:.0f}%{when}"
    return f"forecast to end at {100 * total / budget.amount:.0f}% of the budget (spent {spent} so far)"


def budget_statuses(history: ScopeHistory, budgets: list[Budget], today: date) -> list[BudgetStatus]:
    """Every budget's status, with one batch of forecasts for their scopes (far enough to reach each period's
    end, up to the forecaster's 90 days; a period ending later has no forecast total)."""
    if not budgets:
        return []
    reach = max((b.period_on(today)[1] - today).days + 1 for b in budgets)
    horizon = min(max(reach, NEXT_DAYS), MAX_HORIZON_DAYS)
    forecasts = build_forecasts(history, today, horizon, only={b.scope for b in budgets})
    by_key = {(f.scope, f.currency): f for f in forecasts}
    through = today - timedelta(days=1)
    return [
        budget_status(b, history.known_days((b.scope, b.currency), through), by_key.get((b.scope, b.currency)), today)
        for b in budgets
    ]


class AlertTracker:
    """Which threshold alerts to publish: a threshold's state when it changes (its first state after a start
    only when it is not `ok`), so a consumer hears of a crossing once and of its end once. States are kept per
    tenant: a run over one tenant's budgets leaves every other tenant's as they were."""

    def __init__(self) -> None:
        self._last: dict[str, dict[str, ThresholdState]] = {}

    def sent(self, alerts: list[BudgetAlert]) -> None:
        """These alerts reached the topic: their states are now the ones to compare with."""
        for alert in alerts:
            self._last.setdefault(alert.tenant_id, {})[alert.alert_id] = alert.state

    def changes(
        self, statuses: list[BudgetStatus], now: datetime, tenant_id: str = DEFAULT_TENANT, *, record: bool = True
    ) -> list[BudgetAlert]:
        """`statuses`: every budget of `tenant_id` (the thresholds of a budget missing from them are forgotten).
        With `record=False` the alerts' new states are remembered only once `sent` says they were delivered, so an
        alert that could not be published is raised again by the next run."""
        alerts = []
        current = {_alert_id(tenant_id, s, t.basis, t.percent) for s in statuses for t in s.thresholds}
        # Deleted budgets and past periods are forgotten.
        last = {k: v for k, v in self._last.get(tenant_id, {}).items() if k in current}
        self._last[tenant_id] = last
        for status in statuses:
            for t in status.thresholds:
                alert_id = _alert_id(tenant_id, status, t.basis, t.percent)
                previous = last.get(alert_id)
                if t.state == previous or (previous is None and t.state is ThresholdState.OK):
                    last[alert_id] = t.state
                    continue
                if record:
                    last[alert_id] = t.state
                alerts.append(
                    BudgetAlert(
                        alert_id=alert_id,
                        tenant_id=tenant_id,
                        budget_id=status.budget_id,
                        budget_name=status.name,
                        scope=status.scope,
                        currency=status.currency,
                        amount=status.amount,
                        period_start=status.period_start,
                        period_end=status.period_end,
                        basis=t.basis,
                        percent=t.percent,
                        threshold_amount=t.threshold_amount,
                        state=t.state,
                        crossing_day=t.crossing_day,
                        actual_to_date=status.actual_to_date,
                        forecast_total=status.forecast_total,
                        summary=status.summary,
                        raised_at=now,
                    )
                )
        return alerts


def _alert_id(tenant_id: str, status: BudgetStatus, basis: ThresholdBasis, percent: Decimal) -> str:
    return tenant_event_id(tenant_id, budget_alert_id(status.budget_id, status.period_start, basis, percent))
