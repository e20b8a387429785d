"""What every recommendation says, whatever found it: the resource, the change, its monthly saving, how sure we
are (confidence), what could go wrong (risk), and the evidence. Plans are built from these."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from outlay.money import cents
from outlay.pricing import HOURS_PER_MONTH


class Kind(StrEnum):
    RIGHTSIZE = "rightsize"  # change the instance type
    DELETE_VOLUME = "delete_volume"  # an unattached EBS volume (snapshot first)
    DELETE_STOPPED_VOLUMES = "delete_stopped_volumes"  # volumes of an instance stopped for the whole lookback
    RELEASE_ADDRESS = "release_address"  # an Elastic IP not associated with anything
    DELETE_LOAD_BALANCER = "delete_load_balancer"  # no requests over the lookback
    STOP_INSTANCE = "stop_instance"  # an idle instance
    SCHEDULE_INSTANCE = "schedule_instance"  # stop outside working hours (dev/test)


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


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
