"""The deployments repository: deploys as pipelines report them (`POST /v1/deployments`), in the `deployments` table
(PostgreSQL or SQLite). One tenant per instance.

A deploy is identified by (scope, version, deploy time): a pipeline that retries its report replaces it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from outlay.scopes import parse_scope
from outlay.spread import to_naive_utc
from outlay.store.audit import Audit, append_entries
from outlay.store.models import DeploymentRow
from outlay.store.pages import newest_first
from outlay.store.tenant_scope import TenantScoped
from outlay.store.upsert import upsert
from outlay.text import printable

Text = Annotated[str, AfterValidator(printable)]
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(minutes=10)  # clocks differ a little; a deploy reported far in the future is a mistake


class DeploymentIn(BaseModel):
    """What a pipeline reports about one deploy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scope: str = Field(
        max_length=1024,
        description="The cost scope the deploy changes: 'service=…', 'billing_account_id=…' or 'tag:<key>=<value>'",
    )
    version: Text = Field(min_length=1, max_length=200, description="What was deployed: a version, tag or commit")
    deployed_at: AwareDatetime | None = Field(default=None, description="When (ISO 8601 with a zone); default now")
    description: Text | None = Field(default=None, max_length=500)
    url: str | None = Field(
        default=None, max_length=2048, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$", description="The run's page"
    )

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        if value == "total":
            raise ValueError("a deploy changes part of the cost: name a service, an account or a tag value")
        parse_scope(value)  # raises naming the problem
        return printable(value)

    def at(self, now: datetime) -> datetime:
        """The deploy time in UTC (`now` when not given); ValueError naming `deployed_at` when implausible."""
        problem = f"deployed_at: between {EARLIEST.date()} and now"
        try:  # an offset can carry a date near year 1 or 9999 past what a datetime holds
            at = now if self.deployed_at is None else self.deployed_at.astimezone(UTC)
        except OverflowError:
            raise ValueError(problem) from None
        if at < EARLIEST or at > now + MAX_AHEAD:
            raise ValueError(problem)
        return at

    def deployment_id(self, at: datetime) -> str:
        key = "\x00".join((self.scope, self.version, at.isoformat()))
        return hashlib.sha256(key.encode()).hexdigest()


class Deployment(BaseModel):
    """A stored deploy."""

    deployment_id: str
    scope: str
    version: str
    deployed_at: datetime
    description: str | None
    url: str | None
    reported_by: str
    reported_at: datetime


def _deployment(row: Mapping[Any, Any]) -> Deployment:
    return Deployment(
        deployment_id=row["deployment_id"],
        scope=row["scope"],
        version=row["version"],
        deployed_at=row["deployed_at"].replace(tzinfo=UTC),
        description=row["description"] or None,
        url=row["url"] or None,
        reported_by=row["reported_by"],
        reported_at=row["reported_at"].replace(tzinfo=UTC),
    )


_REPLACED = ("description", "url", "reported_by", "reported_at")


class DeploymentStore(TenantScoped):
    """One tenant's reported deploys."""

    async def report(
        self, deployment: DeploymentIn, reported_by: str, now: datetime, audit: Audit[Deployment] | None = None
    ) -> Deployment:
        """Store a deploy (a report of the same scope, version and time replaces the earlier one); `audit`'s entries
        share the transaction. ValueError naming `deployed_at` when the time is implausible."""
        at = deployment.at(now)
        columns = {
            "tenant_id": self.tenant_id,
            "deployment_id": deployment.deployment_id(at),
            "scope": deployment.scope,
            "version": deployment.version,
            "deployed_at": to_naive_utc(at),
            "description": deployment.description or "",
            "url": deployment.url or "",
            "reported_by": reported_by[:300],
            "reported_at": to_naive_utc(now),
        }
        stored = _deployment(columns)
        async with self._engine.begin() as conn:
            await upsert(conn, DeploymentRow.__table__, [columns], ("tenant_id", "deployment_id"), _REPLACED)
            if audit is not None:
                await append_entries(conn, self.tenant_id, audit(stored))
        return stored

    async def page(
        self, limit: int, after: tuple[datetime, str] | None = None, scope: str | None = None
    ) -> tuple[list[Deployment], tuple[datetime, str] | None]:
        """Newest deploys first: up to `limit` after the (deployed_at, deployment_id) `after` (naive UTC), and the key
        to continue from (None: the last page)."""
        r = DeploymentRow
        stmt = select(r.__table__).where(self._mine(r))
        if scope is not None:
            stmt = stmt.where(r.scope == scope)
        return await newest_first(self._engine, stmt, r.deployed_at, r.deployment_id, limit, after, _deployment)
