"""What a caller may do: scopes (carried by API keys) and the roles people get, as sets of scopes.

Every `/v1` route names the scope it needs; `admin` grants all. The operator's key (`OUTLAY_API_KEY`) is an admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Scope(StrEnum):
    READ_COSTS = "read:costs"
    READ_ANOMALIES = "read:anomalies"
    WRITE_ANOMALIES = "write:anomalies"  # verdicts on anomalies
    READ_FORECASTS = "read:forecasts"
    READ_BUDGETS = "read:budgets"
    WRITE_BUDGETS = "write:budgets"
    READ_PLANS = "read:plans"  # recommendations, plans, their audit trail, savings
    REQUEST_PLANS = "request:plans"  # ask for a plan's approval
    APPROVE_PLANS = "approve:plans"  # approve or reject plans (never one the same person asked for)
    READ_POLICIES = "read:policies"
    WRITE_POLICIES = "write:policies"  # budgets' ceilings, required tags, allowed families, auto-apply
    WRITE_WEBHOOKS = "write:webhooks"  # subscriptions, their delivery logs, redelivery
    WRITE_METRICS = "write:metrics"  # business figures (POST /v1/business-metrics), for unit economics
    WRITE_ESTIMATES = "write:estimates"  # pull requests' IaC cost changes (POST /v1/iac/estimates), from CI
    WRITE_DEPLOYMENTS = "write:deployments"  # deploys (POST /v1/deployments), from CD pipelines
    ADMIN = "admin"  # everything, and API keys


READS = frozenset(
    {Scope.READ_COSTS, Scope.READ_ANOMALIES, Scope.READ_FORECASTS, Scope.READ_BUDGETS, Scope.READ_PLANS,
     Scope.READ_POLICIES}
)  # fmt: skip
ROLES: dict[str, frozenset[Scope]] = {
    "viewer": READS,
    "engineer": READS | {Scope.WRITE_ANOMALIES, Scope.REQUEST_PLANS, Scope.WRITE_ESTIMATES, Scope.WRITE_DEPLOYMENTS},
    "finance": READS | {Scope.WRITE_BUDGETS},
    "approver": READS | {Scope.APPROVE_PLANS},
    "admin": frozenset({Scope.ADMIN}),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id and name, its tenant, and its scopes; the person it belongs to, if any; and
    whether it is the operator's key (`OUTLAY_API_KEY`, which alone manages tenants)."""

    key_id: str
    name: str
    tenant_id: str
    scopes: frozenset[Scope]
    user_id: str | None = None
    operator: bool = False
    maker: str | None = None  # who made the key ("user:<id>", "key:<id>"), if recorded
    follows_role: bool = False  # a person's key made without scopes: it acts with their role, whatever it becomes
    expires_at: datetime | None = None  # when the key stops working (None: never)
    # A session's: who issued the token its person's password was set with (they could have used it themselves).
    password_issuer: str | None = None

    def may(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes

    @property
    def actor(self) -> str:
        """How the audit trail names this caller (a key's name is chosen freely: its person is named too)."""
        person = f", user {self.user_id}" if self.user_id else ""
        return f"{self.name} (key {self.key_id}{person})"

    @property
    def identity(self) -> str:
        """Who this key is: its person, else the key itself."""
        return f"user:{self.user_id}" if self.user_id else f"key:{self.key_id}"

    @property
    def identities(self) -> frozenset[str]:
        """Everyone who could be behind this call: the key's person and whoever made the key (they held its
        secret). The approval rule refuses an approval when these meet the asker's."""
        return frozenset(i for i in (self.identity, self.maker) if i)

    @property
    def approver_identities(self) -> frozenset[str]:
        """`identities`, and for a session whoever issued its person's set-password token: an asker who could have
        set the approver's password may not approve through that session. (Only on the approver's side: an admin who
        issued everyone's tokens must not stop everyone else from approving each other.)"""
        return self.identities | ({self.password_issuer} if self.password_issuer else frozenset())


def effective_scopes(key_scopes: frozenset[Scope], role: str | None) -> frozenset[Scope]:
    """What a key may do: its own scopes, and for a person's key no more than their role allows (an admin key of
    a viewer reads); a person's key made without scopes has exactly their role's. A role change applies to the
    person's keys at once, up or down."""
    if role is None:
        return key_scopes
    allowed = ROLES.get(role, frozenset())
    if not key_scopes:  # a person's key made without scopes: their role's, as it is now
        return allowed
    if Scope.ADMIN in allowed:
        return key_scopes
    return allowed if Scope.ADMIN in key_scopes else key_scopes & allowed


def known_role(value: str | None) -> str | None:
    """A pydantic field check: one of ROLES (or none)."""
    if value is not None and value not in ROLES:
        raise ValueError(f"must be one of {', '.join(ROLES)}")
    return value
