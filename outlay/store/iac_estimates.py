"""The IaC estimates repository: each pull request commit's monthly cost change, as CI reports it
(`POST /v1/iac/estimates`), in the `iac_estimates` table (PostgreSQL or SQLite). One tenant per instance.

A report is identified by (repository, pull request or ref, commit): reporting the same commit again replaces it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from outlay.money import from_nanos, to_nanos
from outlay.spread import to_naive_utc
from outlay.store.audit import Audit, append_entries
from outlay.store.models import IacEstimateRow
from outlay.store.pages import newest_first
from outlay.store.tenant_scope import TenantScoped
from outlay.store.upsert import upsert
from outlay.text import printable

Verdict = Literal["passed", "failed", "none"]
MAX_AMOUNT = Decimal("1e9")  # USD a month: far above any change, and within the nano-unit columns
Text = Annotated[str, AfterValidator(printable)]


def _amount(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite decimal")
    if abs(value) >= MAX_AMOUNT:
        raise ValueError(f"must be below {MAX_AMOUNT:f} in size")
    if value != value.quantize(Decimal("1e-9")):
        raise ValueError("at most 9 decimal places")
    return value


def money_text(value: Decimal) -> str:
    """A decimal string without trailing zeros (`248.38`, `0`)."""
    return format(value.normalize(), "f") if value else "0"


class IacEstimateIn(BaseModel):
    """What CI reports for one commit of a pull request (or of a branch, `ref`, when there is no pull request)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    repository: Text = Field(min_length=1, max_length=200, description="owner/name, or a GitLab project path")
    pull_request: int | None = Field(default=None, ge=1, le=2_000_000_000, description="Pull/merge request number")
    ref: Text | None = Field(default=None, min_length=1, max_length=255, description="Branch or ref (no PR)")
    commit_sha: str = Field(pattern=r"^[0-9a-fA-F]{7,64}$", description="The commit estimated")
    title: Text | None = Field(default=None, max_length=300)
    url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://[^\s]+$", description="The PR's page")
    monthly_cost_before: Annotated[Decimal, AfterValidator(_amount)] = Field(description="USD a month, decimal string")
    monthly_cost_after: Annotated[Decimal, AfterValidator(_amount)] = Field(description="USD a month, decimal string")
    monthly_delta: Annotated[Decimal, AfterValidator(_amount)] = Field(description="after minus before")
    resources_changed: int = Field(ge=0, le=10_000_000)
    verdict: Verdict = Field(default="none", description="The gate's verdict: passed, failed, none (not gated)")

    @field_validator("monthly_cost_before", "monthly_cost_after", "monthly_delta", mode="before")
    @classmethod
    def _decimal_string(cls, value: Any) -> Any:
        if not isinstance(value, str):  # floats would lose cents; numbers are given as decimal strings
            raise ValueError('must be a decimal string, such as "12.50"')
        return value

    def problem(self) -> tuple[str, str] | None:
        """(field, message) of a rule across fields, or None."""
        if self.pull_request is None and self.ref is None:
            return "pull_request", "give a pull request number, or a ref when there is none"
        if self.monthly_cost_after - self.monthly_cost_before != self.monthly_delta:
            return "monthly_delta", "must equal monthly_cost_after minus monthly_cost_before"
        return None

    def estimate_id(self) -> str:
        change = f"pr:{self.pull_request}" if self.pull_request is not None else f"ref:{self.ref}"
        return hashlib.sha256("\x00".join((self.repository, change, self.commit_sha.lower())).encode()).hexdigest()


class IacEstimate(BaseModel):
    """A stored report: money as decimal strings."""

    estimate_id: str
    repository: str
    pull_request: int | None
    ref: str | None
    commit_sha: str
    title: str | None
    url: str | None
    monthly_cost_before: str
    monthly_cost_after: str
    monthly_delta: str
    resources_changed: int
    verdict: Verdict
    reported_at: datetime


def _estimate(row: Mapping[Any, Any]) -> IacEstimate:
    return IacEstimate(
        estimate_id=row["estimate_id"],
        repository=row["repository"],
        pull_request=row["pull_request"],
        ref=row["ref"] or None,
        commit_sha=row["commit_sha"],
        title=row["title"] or None,
        url=row["url"] or None,
        monthly_cost_before=money_text(from_nanos(row["monthly_cost_before_nanos"])),
        monthly_cost_after=money_text(from_nanos(row["monthly_cost_after_nanos"])),
        monthly_delta=money_text(from_nanos(row["monthly_delta_nanos"])),
        resources_changed=row["resources_changed"],
        verdict=row["verdict"],
        reported_at=row["reported_at"].replace(tzinfo=UTC),
    )


_REPLACED = ("repository", "pull_request", "ref", "commit_sha", "title", "url", "monthly_cost_before_nanos",
             "monthly_cost_after_nanos", "monthly_delta_nanos", "resources_changed", "verdict", "reported_at")  # fmt: skip


class IacEstimateStore(TenantScoped):
    """One tenant's reported IaC estimates."""

    async def report(self, estimate: IacEstimateIn, audit: Audit[IacEstimate] | None = None) -> IacEstimate:
        """Store `estimate`, replacing an earlier report of the same commit; `audit`'s entries share the
        transaction."""
        columns = {
            "tenant_id": self.tenant_id,
            "estimate_id": estimate.estimate_id(),
            "repository": estimate.repository,
            "pull_request": estimate.pull_request,
            "ref": estimate.ref or "",
            "commit_sha": estimate.commit_sha.lower(),
            "title": estimate.title or "",
            "url": estimate.url or "",
            "monthly_cost_before_nanos": to_nanos(estimate.monthly_cost_before),
            "monthly_cost_after_nanos": to_nanos(estimate.monthly_cost_after),
            "monthly_delta_nanos": to_nanos(estimate.monthly_delta),
            "resources_changed": estimate.resources_changed,
            "verdict": estimate.verdict,
            "reported_at": to_naive_utc(datetime.now(UTC)),  # to the microsecond: the order of reports
        }
        stored = _estimate(columns)
        async with self._engine.begin() as conn:
            await upsert(conn, IacEstimateRow.__table__, [columns], ("tenant_id", "estimate_id"), _REPLACED)
            if audit is not None:
                await append_entries(conn, self.tenant_id, audit(stored))
        return stored

    async def page(
        self, limit: int, after: tuple[datetime, str] | None = None, repository: str | None = None
    ) -> tuple[list[IacEstimate], tuple[datetime, str] | None]:
        """Newest first: up to `limit` reports after the (reported_at, estimate_id) `after` (naive UTC), and the
        key to continue from (None: the last page)."""
        r = IacEstimateRow
        stmt = select(r.__table__).where(self._mine(r))
        if repository is not None:
            stmt = stmt.where(r.repository == repository)
        return await newest_first(self._engine, stmt, r.reported_at, r.estimate_id, limit, after, _estimate)
