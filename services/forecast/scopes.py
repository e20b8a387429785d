"""Scopes and their daily cost: from the ledger's daily rows to the forecaster's batch, and from its forecasts to
`CostForecast` events. Plain Python and numpy, no I/O.

Scopes are named in `outlay.scopes` (the total, an account, a service, a series tag value). Each day of a scope holds
its billed cost where the bill for that day has arrived and the live estimate otherwise, never both (they are
the same usage counted twice). Currencies are never added: a scope in two currencies is two series.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from outlay.events import CostKind
from outlay.events.forecast import CostForecast, ForecastBasis, ForecastDay, ForecastTotal, forecast_id
from outlay.scopes import ACCOUNT, SERVICE, TAG_PREFIX, parse_scope, scope_name
from services.forecast.models.forecaster import Forecasts, forecast
from services.forecast.models.history import daily_batch

NEXT_DAYS = 30  # the "next 30 days" total every forecast carries
MAX_HISTORY_DAYS = 365  # the history a forecast learns from (a year: every weekly and monthly pattern)
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


@dataclass
class ScopeHistory:
    """Daily cost per (scope, currency) and cost kind, accumulated from the store's rows."""

    days: dict[SeriesKey, dict[date, dict[str, Decimal]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(Decimal)))
    )

    def add(self, row: DailyCost) -> None:
        scopes = [{}, {ACCOUNT: row.account}, {SERVICE: row.service}]
        scopes += [{f"{TAG_PREFIX}{k}": v} for k, v in row.tags.items() if v]
        for dims in scopes:
            self.days[(scope_name(dims), row.currency)][row.day][row.cost_kind] += row.amount

    def series(self, through: date) -> dict[SeriesKey, dict[date, float]]:
        """Each series' cost per day up to `through`: billed where the day has a bill, else estimated."""
        out: dict[SeriesKey, dict[date, float]] = {}
        for key, days in self.days.items():
            chosen = {day: _best_known(kinds) for day, kinds in days.items() if day <= through}
            if chosen:
                out[key] = {day: float(amount) for day, amount in sorted(chosen.items())}
        return out

    def known_days(self, key: SeriesKey, through: date) -> dict[date, Decimal]:
        """One series' best known cost per day up to `through` (exact decimals)."""
        return {day: _best_known(kinds) for day, kinds in self.days.get(key, {}).items() if day <= through}

    def actual(self, key: SeriesKey, first: date, last: date) -> Decimal:
        days = self.days.get(key, {})
        return sum((_best_known(k) for d, k in days.items() if first <= d <= last), Decimal(0))


def _best_known(kinds: dict[str, Decimal]) -> Decimal:
    billed = kinds.get(CostKind.BILLED.value)
    return billed if billed is not None else kinds.get(CostKind.ESTIMATED.value, Decimal(0))


def build_forecasts(
    history: ScopeHistory,
    as_of: date,
    horizon_days: int = NEXT_DAYS,
    only: set[str] | None = None,
    generated_at: datetime | None = None,
) -> list[CostForecast]:
    """A `CostForecast` for every scope (or those in `only`) from the complete days before `as_of`.

    History ends on the last complete day that has cost (a platform whose data stopped forecasts from where it
    stopped, and says so in `history_end`)."""
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
    events = []
    for row, ((scope, currency), days) in enumerate(series.items()):
        month_actual = history.actual((scope, currency), first_day.replace(day=1), history_end).quantize(_MICRO)
        events.append(
            CostForecast(
                forecast_id=forecast_id(scope, ForecastBasis.BILLED_ELSE_ESTIMATED, history_end, horizon_days),
                scope=scope,
                dimensions=parse_scope(scope),
                currency=currency,
                history_start=min(days),
                history_end=history_end,
                generated_at=generated,
                model=forecasts.model[row],
                short_history=bool(forecasts.short_history[row]),
                days=_days(forecasts, row, first_day, horizon_days),
                next_30_days=_total(forecasts, row, first_day, NEXT_DAYS, Decimal(0).quantize(_MICRO)),
                month_end=_total(forecasts, row, first_day, to_month_end, month_actual, month_start=True),
            )
        )
    return events


def _money(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(_MICRO)


def _days(forecasts: Forecasts, row: int, first_day: date, horizon_days: int) -> list[ForecastDay]:
    lower80, upper80 = forecasts.bounds(0.8)
    lower95, upper95 = forecasts.bounds(0.95)
    return [
        ForecastDay(
            day=first_day + timedelta(days=h),
            expected=_money(forecasts.point[row, h]),
            lower80=_money(lower80[row, h]),
            upper80=_money(upper80[row, h]),
            lower95=_money(lower95[row, h]),
            upper95=_money(upper95[row, h]),
        )
        for h in range(horizon_days)
    ]


def _total(
    forecasts: Forecasts, row: int, first_day: date, days: int, actual: Decimal, month_start: bool = False
) -> ForecastTotal:
    bounds = {level: forecasts.running_total(level, days) for level in (0.8, 0.95)}
    point = bounds[0.8][0][row]
    return ForecastTotal(
        first_day=first_day.replace(day=1) if month_start else first_day,
        last_day=first_day + timedelta(days=days - 1),
        actual_to_date=actual,
        expected=actual + _money(point),
        lower80=actual + _money(bounds[0.8][1][row]),
        upper80=actual + _money(bounds[0.8][2][row]),
        lower95=actual + _money(bounds[0.95][1][row]),
        upper95=actual + _money(bounds[0.95][2][row]),
    )
