"""Money without float drift.

Events carry `Decimal`; the store keeps integer nano-units (1e-9 of the currency unit, the same
resolution as Google's `Money.nanos`) because cost exports carry line items far below a micro-dollar
(the FOCUS sample has $0.0000008 rows) and SQLite has no exact decimal type.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

NANOS_PER_UNIT = 1_000_000_000
_NANO = Decimal("1e-9")
CENT = Decimal("0.01")


def to_nanos(amount: Decimal) -> int:
    """Round half-even to the nano-unit and return an int."""
    return int((amount * NANOS_PER_UNIT).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_nanos(nanos: int) -> Decimal:
    return (Decimal(nanos) * _NANO).quantize(_NANO)


def parse_decimal(text: str | int | float | Decimal | None) -> Decimal:
    """Parse an amount from an export cell; raises ValueError with the offending text."""
    if isinstance(text, Decimal):
        value = text
    elif text is None:
        raise ValueError("empty amount")
    else:
        raw = str(text).strip()
        if raw == "":
            raise ValueError("empty amount")
        try:
            value = Decimal(raw)
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {raw!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    return value


def split_evenly(total: int, parts: int) -> list[int]:
    """Split integer nano-units into `parts` shares that sum exactly to `total`.

    The remainder goes one unit at a time to the first shares, so minute, hour and day totals
    reconcile exactly with the source line item.
    """
    if parts <= 0:
        raise ValueError("parts must be positive")
    base, rem = divmod(abs(total), parts)
    sign = -1 if total < 0 else 1
    return [sign * (base + (1 if i < rem else 0)) for i in range(parts)]


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def nanos_text(nanos: int) -> str:
    """Nano-units as a plain decimal string with nine places ("12.500000000"), never exponent notation: the same
    text as `format(from_nanos(nanos), "f")`, by integer arithmetic (a cost answer formats tens of thousands). Every
    API answer writes money this way."""
    units, fraction = divmod(-nanos if nanos < 0 else nanos, 1_000_000_000)
    return f"{'-' if nanos < 0 else ''}{units}.{fraction:09d}"
