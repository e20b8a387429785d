"""The cost answer's money text: integer arithmetic that must read exactly as the exact decimal does."""

from __future__ import annotations

import random

from outlay.money import from_nanos
from services.gateway.report import money


def test_money_text_is_the_exact_decimal_in_fixed_point() -> None:
    rng = random.Random(6)
    values = [0, 1, -1, 999_999_999, -1_000_000_000, 10**18, -(10**18) + 7]
    values += [rng.randrange(-(10**15), 10**15) for _ in range(20_000)]
    for nanos in values:
        assert money(nanos) == format(from_nanos(nanos), "f"), nanos
