"""`BudgetStatus` to `BudgetStatusReply` messages and back (absent optional fields are None)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from outlay.budgets import BudgetStatus, ThresholdBasis, ThresholdState, ThresholdStatus
from outlay.rpc import forecast_pb2 as pb


def _text(value: Decimal | date | None) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else format(value, "f")


def to_message(status: BudgetStatus) -> pb.BudgetStatusReply:
    optional = {
        name: _text(getattr(status, name))
        for name in ("history_end", "forecast_total", "forecast_lower80", "forecast_upper80", "variance")
    }
    optional["variance_percent"] = _text(status.variance_percent)
    return pb.BudgetStatusReply(
        budget_id=status.budget_id,
        name=status.name,
        scope=status.scope,
        currency=status.currency,
        amount=format(status.amount, "f"),
        period_start=status.period_start.isoformat(),
        period_end=status.period_end.isoformat(),
        actual_to_date=format(status.actual_to_date, "f"),
        thresholds=[
            pb.ThresholdStatus(
                basis=t.basis.value,
                percent=format(t.percent, "f"),
                threshold_amount=format(t.threshold_amount, "f"),
                state=t.state.value,
                crossing_day=_text(t.crossing_day),
            )
            for t in status.thresholds
        ],
        summary=status.summary,
        **{k: v for k, v in optional.items() if v is not None},
    )


def _optional(message: pb.BudgetStatusReply | pb.ThresholdStatus, name: str) -> str | None:
    return getattr(message, name) if message.HasField(name) else None


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def from_message(message: pb.BudgetStatusReply) -> BudgetStatus:
    return BudgetStatus(
        budget_id=message.budget_id,
        name=message.name,
        scope=message.scope,
        currency=message.currency,
        amount=Decimal(message.amount),
        period_start=date.fromisoformat(message.period_start),
        period_end=date.fromisoformat(message.period_end),
        history_end=_day(_optional(message, "history_end")),
        actual_to_date=Decimal(message.actual_to_date),
        forecast_total=_decimal(_optional(message, "forecast_total")),
        forecast_lower80=_decimal(_optional(message, "forecast_lower80")),
        forecast_upper80=_decimal(_optional(message, "forecast_upper80")),
        variance=_decimal(_optional(message, "variance")),
        variance_percent=_decimal(_optional(message, "variance_percent")),
        thresholds=[
            ThresholdStatus(
                basis=ThresholdBasis(t.basis),
                percent=Decimal(t.percent),
                threshold_amount=Decimal(t.threshold_amount),
                state=ThresholdState(t.state),
                crossing_day=_day(_optional(t, "crossing_day")),
            )
            for t in message.thresholds
        ],
        summary=message.summary,
    )
