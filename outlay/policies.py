"""Policies as data: what an organisation allows, written as small typed rules the services evaluate.

One definition per kind, each with the pure check the evaluating service calls:

| kind | rule | evaluated by | a violation is |
|---|---|---|---|
| `required_tags` | `keys`: tag keys every resource must carry | optimizer (inventory scan) | a resource lacking some |
| `allowed_instance_families` | `families`: e.g. m7g, c7g | optimizer (inventory; never proposes others) | an instance of another family |
| `anomaly_impact` | `min_impact`, `min_impact_pct`, `sensitivity`: the tenant's alerting | anomaly service | (a threshold, not a violation) |
| `budget_ceiling` | `max_amount`: no budget of a scope may allow more | gateway (budget writes) | a budget above it |
| `auto_apply` | `max_risk`, `max_monthly_saving`, `kinds` | optimizer (plans) | (a permission, not a violation) |

Violations become `outlay.policy_violations.v1` events (`outlay.events.policy`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from outlay.events.currencies import currency_code
from outlay.events.usage import Money
from outlay.text import printable


class PolicyKind(StrEnum):
    REQUIRED_TAGS = "required_tags"
    ALLOWED_INSTANCE_FAMILIES = "allowed_instance_families"
    ANOMALY_IMPACT = "anomaly_impact"
    BUDGET_CEILING = "budget_ceiling"
    AUTO_APPLY = "auto_apply"


_FAMILY = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
RISKS = ("low", "medium", "high")


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequiredTags(_Rule):
    kind: Literal[PolicyKind.REQUIRED_TAGS] = PolicyKind.REQUIRED_TAGS
    keys: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(min_length=1, max_length=50)

    def missing(self, tags: dict[str, str]) -> list[str]:
        """The required keys `tags` lacks (a key with an empty value counts as missing)."""
        return [k for k in self.keys if not tags.get(k, "").strip()]


class AllowedInstanceFamilies(_Rule):
    kind: Literal[PolicyKind.ALLOWED_INSTANCE_FAMILIES] = PolicyKind.ALLOWED_INSTANCE_FAMILIES
    families: list[str] = Field(min_length=1, max_length=200, description="e.g. m7g, c7g, r6i (no size)")

    @field_validator("families")
    @classmethod
    def _families(cls, value: list[str]) -> list[str]:
        bad = [f for f in value if not _FAMILY.match(f)]
        if bad:
            raise ValueError(f"not instance families (like 'm7g'): {', '.join(bad[:5])}")
        return value

    def allows(self, instance_type: str) -> bool:
        """Whether `instance_type` (m7g.large, db.r6g.xlarge) is of an allowed family."""
        name = instance_type.removeprefix("db.").removeprefix("cache.")
        return name.split(".", 1)[0] in self.families


# Amounts a policy names are amounts the store keeps (nano-units in 64 bits): at most this, at most 9 decimals.
MAX_AMOUNT = Decimal("9000000000")
Amount = Annotated[Money, Field(ge=0, le=MAX_AMOUNT, max_digits=20, decimal_places=9)]


SENSITIVITIES = ("low", "medium", "high")  # fewest alerts first
Sensitivity = Literal["low", "medium", "high"]


class AnomalyImpact(_Rule):
    """A tenant's own alerting thresholds; what it leaves unset stays the deployment's."""

    kind: Literal[PolicyKind.ANOMALY_IMPACT] = PolicyKind.ANOMALY_IMPACT
    min_impact: Amount | None = Field(
        default=None, description="Anomalies with less $ impact are recorded, not alerted"
    )
    min_impact_pct: Annotated[Decimal, Field(ge=0, le=1000, max_digits=7, decimal_places=3)] | None = Field(
        default=None,
        description="Anomalies whose impact is under this % of the expected cost are recorded, not alerted",
    )
    sensitivity: Sensitivity | None = Field(
        default=None, description="How readily a series alerts: low (fewest alerts), medium, high"
    )

    @model_validator(mode="after")
    def _something_set(self) -> AnomalyImpact:
        if self.min_impact is None and self.min_impact_pct is None and self.sensitivity is None:
            raise ValueError("set at least one of min_impact, min_impact_pct, sensitivity")
        return self


class BudgetCeiling(_Rule):
    kind: Literal[PolicyKind.BUDGET_CEILING] = PolicyKind.BUDGET_CEILING
    max_amount: Amount = Field(gt=0, description="No budget in this currency may allow more than this per period")
    currency: str = Field(default="USD", description="Budgets in other currencies are not compared with it")

    _currency = field_validator("currency")(currency_code)

    def exceeded_by(self, amount: Decimal, currency: str) -> bool:
        return currency == self.currency and amount > self.max_amount


class AutoApply(_Rule):
    kind: Literal[PolicyKind.AUTO_APPLY] = PolicyKind.AUTO_APPLY
    max_risk: Literal["low", "medium", "high"] = "low"
    max_monthly_saving: Amount | None = Field(default=None, description="Larger plans need a person")
    kinds: list[str] = Field(default_factory=list, description="Only these change kinds; empty: every kind")

    def allows(self, risk: str, monthly_saving: Decimal, kinds: set[str]) -> bool:
        if RISKS.index(risk) > RISKS.index(self.max_risk):
            return False
        if self.max_monthly_saving is not None and monthly_saving > self.max_monthly_saving:
            return False
        return not self.kinds or kinds <= set(self.kinds)


Rule = Annotated[
    RequiredTags | AllowedInstanceFamilies | AnomalyImpact | BudgetCeiling | AutoApply, Field(discriminator="kind")
]


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)

    _printable = field_validator("name")(printable)
    rule: Rule
    enabled: bool = True
