"""A column type for decimals that must come back exactly as they went in, on every store.

PostgreSQL's NUMERIC is exact. SQLite has no decimal type: a NUMERIC column keeps a number as a 64-bit float (15-16
significant digits: a revenue of 123456789.123456789 comes back as 123456789.12345679). On SQLite the value is
therefore kept as its decimal text, which has TEXT affinity and is never converted. Nothing sums these columns in
SQL (the unit-economics code adds Decimals in Python), so text loses nothing there.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

TEXT_DIGITS = 64  # sign, 29 integer digits, point and 9 decimals fit well within it


class ExactDecimal(TypeDecorator[Decimal]):
    """NUMERIC(precision, scale) on PostgreSQL; the exact decimal text on SQLite."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 38, scale: int = 9) -> None:
        super().__init__(precision, scale, asdecimal=True)
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(TEXT_DIGITS))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return format(Decimal(value), "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        # Text written by this type; a float or int from before migration 0022 goes through its shortest repr.
        return Decimal(value) if isinstance(value, str) else Decimal(repr(value))
