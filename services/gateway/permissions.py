"""What a caller may do: scopes (carried by API keys) and the roles people get, as sets of scopes.

Every `/v1` route names the scope it needs; `admin` grants all. The operator's key (`OUTLAY_API_KEY`) is an admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    READ_COSTS = "read:costs"
    READ_ANOMALIES = "read:anomalies"
    WRITE_ANOMALIES = "write:anomalies"  # verdicts on anomalies
    READ_FORECASTS = "read:forecasts"
    READ_BUDGETS = "read:budgets"
    WRITE_BUDGETS = "write:budgets"
    READ_PLANS = "read:plans"  # recommendations, plans, their audit trail, savings
    APPROVE_PLANS = "approve:plans"
    WRITE_WEBHOOKS = "write:webhooks"  # subscriptions, their delivery logs, redelivery
    ADMIN = "admin"  # everything, and API keys


READS = frozenset({Scope.READ_COSTS, Scope.READ_ANOMALIES, Scope.READ_FORECASTS, Scope.READ_BUDGETS, Scope.READ_PLANS})
ROLES: dict[str, frozenset[Scope]] = {
    "viewer": READS,
    "engineer": READS | {Scope.WRITE_ANOMALIES},
    "finance": READS | {Scope.WRITE_BUDGETS},
    "approver": READS | {Scope.APPROVE_PLANS},
    "admin": frozenset({Scope.ADMIN}),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id and name, its tenant, and its scopes."""

    key_id: str
    name: str
    tenant_id: str
    scopes: frozenset[Scope]

    def may(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes

    @property
    def actor(self) -> str:
        """How the audit trail names this caller."""
        return f"{self.name} (key {self.key_id})"
