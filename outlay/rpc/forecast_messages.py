"""`CostForecast` events to `ScopeForecast` messages and back: one model, two wires (Kafka JSON, gRPC)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from outlay.events.forecast import CostForecast, ForecastBasis, ForecastDay, ForecastHour, ForecastTotal
from outlay.rpc import forecast_pb2 as pb
from outlay.tenancy import DEFAULT_TENANT


def _text(value: Decimal) -> str:
    return format(value, "f")


def _interval(x: ForecastDay | ForecastHour | ForecastTotal) -> pb.Interval:
    return pb.Interval(
        lower80=_text(x.lower80), upper80=_text(x.upper80), lower95=_text(x.lower95), upper95=_text(x.upper95)
    )


def _total(total: ForecastTotal) -> pb.PeriodTotal:
    return pb.PeriodTotal(
        first_day=total.first_day.isoformat(),
        last_day=total.last_day.isoformat(),
        actual_to_date=_text(total.actual_to_date),
        expected=_text(total.expected),
        interval=_interval(total),
    )


def to_message(event: CostForecast) -> pb.ScopeForecast:
    return pb.ScopeForecast(
        forecast_id=event.forecast_id,
        tenant_id=event.tenant_id,
        scope=event.scope,
        dimensions=event.dimensions,
        currency=event.currency,
        basis=event.basis.value,
        history_start=event.history_start.isoformat(),
        history_end=event.history_end.isoformat(),
        generated_at=event.generated_at.isoformat(),
        model=event.model,
        short_history=event.short_history,
        days=[
            pb.ForecastDay(day=d.day.isoformat(), expected=_text(d.expected), interval=_interval(d)) for d in event.days
        ],
        next_30_days=_total(event.next_30_days),
        month_end=_total(event.month_end),
        hours=[
            pb.ForecastHour(hour=h.hour.isoformat(), expected=_text(h.expected), interval=_interval(h))
            for h in event.hours
        ],
    )


def _bounds(interval: pb.Interval) -> dict[str, Decimal]:
    return {
        "lower80": Decimal(interval.lower80),
        "upper80": Decimal(interval.upper80),
        "lower95": Decimal(interval.lower95),
        "upper95": Decimal(interval.upper95),
    }


def _from_total(total: pb.PeriodTotal) -> ForecastTotal:
    return ForecastTotal(
        first_day=date.fromisoformat(total.first_day),
        last_day=date.fromisoformat(total.last_day),
        actual_to_date=Decimal(total.actual_to_date),
        expected=Decimal(total.expected),
        **_bounds(total.interval),
    )


def from_message(message: pb.ScopeForecast) -> CostForecast:
    return CostForecast(
        forecast_id=message.forecast_id,
        tenant_id=message.tenant_id or DEFAULT_TENANT,
        scope=message.scope,
        dimensions=dict(message.dimensions),
        currency=message.currency,
        basis=ForecastBasis(message.basis),
        history_start=date.fromisoformat(message.history_start),
        history_end=date.fromisoformat(message.history_end),
        generated_at=datetime.fromisoformat(message.generated_at),
        model=message.model,
        short_history=message.short_history,
        days=[
            ForecastDay(day=date.fromisoformat(d.day), expected=Decimal(d.expected), **_bounds(d.interval))
            for d in message.days
        ],
        next_30_days=_from_total(message.next_30_days),
        month_end=_from_total(message.month_end),
        hours=[
            ForecastHour(hour=datetime.fromisoformat(h.hour), expected=Decimal(h.expected), **_bounds(h.interval))
            for h in message.hours
        ],
    )
