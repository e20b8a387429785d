"""Scopes and their daily cost: from the ledger's daily rows to the forecaster's batch, and from its forecasts to
`CostForecast` events. Plain Python and numpy, no I/O.

Scopes are named in `outlay.scopes` (the total, an account, a service, a series tag value). Each day of a scope holds
its billed cost where the bill for that day has arrived and the live estimate otherwise, never both (they are
the same usage counted twice). Currencies are never added: a scope in two currencies is two series.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import cast

from outlay.events import CostKind
from outlay.events.forecast import (
    CostForecast,
    ForecastBasis,
    ForecastDay,
    ForecastHour,
    ForecastTotal,
    forecast_id,
)
from outlay.scopes import ACCOUNT, SERVICE, TAG_PREFIX, parse_scope, scope_name
from outlay.tenancy import DEFAULT_TENANT
from services.forecast.models.forecaster import Forecasts, forecast
from services.forecast.models.history import Step, Values, batch_of, daily_batch
from services.forecast.tenants import tenant_event_id

NEXT_DAYS = 30  # the "next 30 days" total every forecast carries
MAX_HISTORY_DAYS = 365  # the history a forecast learns from (a year: every weekly and monthly pattern)
HOURS_AHEAD = 48  # the hourly forecast every scope with hourly history carries
HOURLY_HISTORY_DAYS = 28  # learnt from four weeks of hours
HOURLY_CHECK_DAYS = 7  # a scope's history is hourly when most of its last week's days vary within the day
# by more than the ledger's spreading leaves: a line spread over its minutes puts its remainder on the first
# minutes, one nano-unit each, so the hours of an evenly spread day differ by up to 60 nano-units.
SPREAD_REMAINDER = 100e-9
_MICRO = Decimal("0.000001")

SeriesKey = tuple[str, str]  # (scope, currency)


@dataclass(frozen=True)
class DailyCost:
    """One day of cost of one combination of dimensions, as the store's daily rollups sum it."""

    day: date
    cost_kind: str
    currency: str
    account: str
    service: str
    tags: dict[str, str | None]  # value per series tag key (None: untagged)
    amount: Decimal


Cell = tuple[date, str, str, str, tuple[tuple[str, str | None], ...]]  # day, currency, account, service, tags


@dataclass
class ScopeHistory:
    """Cost per period (day, or hour) per (scope, currency), from the store's rows.

    The bill-else-estimate choice is made per account, service and tag values, before adding up scopes: a scope
    whose services are billed on different days (or only some of them metered live) counts each service's best
    known cost, never one service's bill in place of another's estimate."""

    cells: dict[Cell, dict[str, Decimal]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(Decimal)))
    _scoped: dict[SeriesKey, dict[date, Decimal]] | None = None

    def add(self, row: DailyCost) -> None:
        tags = tuple(sorted(row.tags.items()))
        self.cells[(row.day, row.currency, row.account, row.service, tags)][row.cost_kind] += row.amount
        self._scoped = None

    def _by_scope(self) -> dict[SeriesKey, dict[date, Decimal]]:
        if self._scoped is None:
            scoped: dict[SeriesKey, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
            for (day, currency, account, service, tags), kinds in self.cells.items():
                amount = _best_known(kinds)
                scopes: list[dict[str, str]] = [{}, {ACCOUNT: account}, {SERVICE: service}]
                scopes += [{f"{TAG_PREFIX}{k}": v} for k, v in tags if v]
                for dims in scopes:
                    scoped[(scope_name(dims), currency)][day] += amount
            self._scoped = scoped
        return self._scoped

    def series(self, through: date) -> dict[SeriesKey, dict[date, float]]:
        """Each series' best known cost per period up to `through`, in period order."""
        out: dict[SeriesKey, dict[date, float]] = {}
        for key, periods in self._by_scope().items():
            chosen = sorted((d, v) for d, v in periods.items() if d <= through)
            if chosen:
                out[key] = {d: float(v) for d, v in chosen}
        return out

    def known_days(self, key: SeriesKey, through: date) -> dict[date, Decimal]:
        """One series' best known cost per period up to `through` (exact decimals)."""
        return {d: v for d, v in self._by_scope().get(key, {}).items() if d <= through}

    def actual(self, key: SeriesKey, first: date, last: date) -> Decimal:
        return sum((v for d, v in self._by_scope().get(key, {}).items() if first <= d <= last), Decimal(0))


def _best_known(kinds: dict[str, Decimal]) -> Decimal:
    billed = kinds.get(CostKind.BILLED.value)
    return billed if billed is not None else kinds.get(CostKind.ESTIMATED.value, Decimal(0))


def build_forecasts(
    history: ScopeHistory,
    as_of: date,
    horizon_days: int = NEXT_DAYS,
    only: set[str] | None = None,
    generated_at: datetime | None = None,
    tenant_id: str = DEFAULT_TENANT,
) -> list[CostForecast]:
    """A `CostForecast` for every scope (or those in `only`) from the complete days before `as_of`.

    History ends on the last complete day that has cost (a platform whose data stopped forecasts from where it
    stopped, and says so in `history_end`). `history` is the cost of the tenant `tenant_id`: the forecasts carry
    it, and their ids are derived with it (`tenant_event_id`)."""
    series = history.series(through=as_of - timedelta(days=1))
    if only is not None:
        series = {key: days for key, days in series.items() if key[0] in only}
    if not series:
        return []
    batch = daily_batch({f"{scope}\x1f{currency}": days for (scope, currency), days in series.items()})
    history_end = (batch.start + (batch.periods - 1) * batch.step.delta).date()
    first_day = history_end + timedelta(days=1)
    month_last = first_day.replace(day=calendar.monthrange(first_day.year, first_day.month)[1])
    to_month_end = (month_last - first_day).days + 1
    forecasts = forecast(batch, max(horizon_days, NEXT_DAYS, to_month_end))
    generated = generated_at or datetime.now(UTC)
    # Bounds and running totals for the whole batch at once, then each scope takes its row.
    at = _period_bounds(forecasts)
    next_totals, month_totals = _running_totals(forecasts, NEXT_DAYS), _running_totals(forecasts, to_month_end)
    events = []
    for row, ((scope, currency), days) in enumerate(series.items()):
        month_actual = history.actual((scope, currency), first_day.replace(day=1), history_end).quantize(_MICRO)
        events.append(
            CostForecast(
                forecast_id=tenant_event_id(
                    tenant_id,
                    forecast_id(scope, currency, ForecastBasis.BILLED_ELSE_ESTIMATED, history_end, horizon_days),
                ),
                tenant_id=tenant_id,
                scope=scope,
                dimensions=parse_scope(scope),
                currency=currency,
                history_start=min(days),
                history_end=history_end,
                generated_at=generated,
                model=forecasts.model[row],
                short_history=bool(forecasts.short_history[row]),
                days=[ForecastDay(day=first_day + timedelta(days=h), **at(row, h)) for h in range(horizon_days)],
                next_30_days=_total(next_totals, row, first_day, NEXT_DAYS, Decimal(0).quantize(_MICRO)),
                month_end=_total(month_totals, row, first_day, to_month_end, month_actual, month_start=True),
            )
        )
    return events


def _money(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(_MICRO)


def _period_bounds(forecasts: Forecasts) -> Callable[[int, int], dict[str, Decimal]]:
    """The expected value and both intervals of (series row, step) as money, the fields both periods carry."""
    lower80, upper80 = forecasts.bounds(0.8)
    lower95, upper95 = forecasts.bounds(0.95)

    def at(row: int, h: int) -> dict[str, Decimal]:
        return {
            "expected": _money(forecasts.point[row, h]),
            "lower80": _money(lower80[row, h]),
            "upper80": _money(upper80[row, h]),
            "lower95": _money(lower95[row, h]),
            "upper95": _money(upper95[row, h]),
        }

    return at


RunningTotals = dict[float, tuple[Values, Values, Values]]  # level -> (point, lower, upper) per series


def _running_totals(forecasts: Forecasts, days: int) -> RunningTotals:
    return {level: forecasts.running_total(level, days) for level in (0.8, 0.95)}


def _total(
    totals: RunningTotals, row: int, first_day: date, days: int, actual: Decimal, month_start: bool = False
) -> ForecastTotal:
    return ForecastTotal(
        first_day=first_day.replace(day=1) if month_start else first_day,
        last_day=first_day + timedelta(days=days - 1),
        actual_to_date=actual,
        expected=actual + _money(totals[0.8][0][row]),
        lower80=actual + _money(totals[0.8][1][row]),
        upper80=actual + _money(totals[0.8][2][row]),
        lower95=actual + _money(totals[0.95][1][row]),
        upper95=actual + _money(totals[0.95][2][row]),
    )


def hourly_forecasts(
    history: ScopeHistory, now: datetime, only: set[str] | None = None
) -> dict[SeriesKey, list[ForecastHour]]:
    """The next HOURS_AHEAD hours of each scope whose history is hourly, from its complete hours before `now`.

    A scope fed by daily (or monthly) lines has hourly rollups too, but flat within each day (the ledger spreads
    a line evenly over its hours): forecasting its hours would only restate the daily forecast, so it has none."""
    last_complete = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    series = {
        key: hours
        for key, hours in history.series(through=last_complete).items()
        if (only is None or key[0] in only) and _varies_within_days(hours)
    }
    if not series:
        return {}
    by_hour = {
        f"{scope}\x1f{currency}": cast(dict[datetime, float], hours) for (scope, currency), hours in series.items()
    }
    batch = batch_of(by_hour, Step.HOUR, end=last_complete)  # hours without rows up to now cost nothing
    forecasts = forecast(batch, HOURS_AHEAD)
    at = _period_bounds(forecasts)
    first = batch.start + batch.periods * batch.step.delta
    return {
        key: [ForecastHour(hour=first + timedelta(hours=h), **at(row, h)) for h in range(HOURS_AHEAD)]
        for row, key in enumerate(series)
    }


def _varies_within_days(hours: dict[date, float]) -> bool:
    """Most of the last week's whole days vary within the day. Hours without rows cost 0 (the ledger writes
    none for an hour without usage), so an office-hours workload's quiet nights count as the variation they are."""
    stamps = sorted(cast(dict[datetime, float], hours))
    if not stamps:
        return False
    first_day, last_day = stamps[0].date() + timedelta(days=1), stamps[-1].date() - timedelta(days=1)
    days = [last_day - timedelta(days=k) for k in range(HOURLY_CHECK_DAYS) if last_day - timedelta(days=k) >= first_day]
    varying = 0
    for day in days:
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        values = [hours.get(midnight + timedelta(hours=h), 0.0) for h in range(24)]
        varying += max(values) - min(values) > SPREAD_REMAINDER + 1e-6 * max(abs(max(values)), abs(min(values)))
    return bool(days) and varying * 2 > len(days)
