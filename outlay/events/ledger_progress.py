"""`outlay.ledger.progress.v1`: the ledger committed a batch; what periods it touched.

The gateway pushes live cost ticks from it; the forecast service reforecasts when billed data lands.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from outlay.tenancy import DEFAULT_TENANT, TenantId


class LedgerProgress(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    written: int
    duplicates: int
    period_start: datetime
    period_end: datetime
    cost_kinds: list[str]
    committed_at: datetime
    tenant_ids: list[TenantId] = Field(
        default_factory=lambda: [DEFAULT_TENANT], description="The tenants whose rows the batch wrote."
    )

    @property
    def key(self) -> bytes:
        return b"ledger"
