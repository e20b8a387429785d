"""What every recommendation says, whatever found it: the resource, the change, its monthly saving, how sure we
are (confidence), what could go wrong (risk), and the evidence. Plans are built from these.

`Kind` and `Risk` are defined with the plan events (`outlay.events.plan`), which carry them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from outlay.events.plan import Kind, Risk
from outlay.money import cents
from outlay.pricing import HOURS_PER_MONTH

__all__ = ["Kind", "Recommendation", "Risk", "Skipped", "monthly"]


@dataclass(frozen=True)
class Recommendation:
    kind: Kind
    resource_id: str
    region: str
    summary: str  # in words: "resize m5.2xlarge to m6i.large"
    monthly_saving: Decimal
    confidence: float  # 0-1
    risk: Risk
    current: str | None = None  # what it is now (a type, a state)
    proposed: str | None = None  # what it becomes (None: removed)
    evidence: dict[str, float | str] = field(default_factory=dict)


@dataclass(frozen=True)
class Skipped:
    """A resource no recommendation could be judged for, and why (never a guess instead)."""

    resource_id: str
    reason: str


def monthly(hourly: Decimal) -> Decimal:
    return cents(hourly * HOURS_PER_MONTH)
