"""Each tenant's compiled rules, kept between batches, and the port they are read through.

Compiling a rule set (its regular expressions) per record, or reading it per record, would cost more than allocating
the record. So the compiled `Allocator` is kept per tenant, and a rule change is noticed by re-reading only the
tenants' current version numbers: one query for the tenants of a batch, and for a tenant at most every `recheck_s`
seconds. A record allocated in that window after a change still carries the old version, and says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol

from outlay.allocation.engine import Allocator
from outlay.allocation.rules import AllocationRules
from services.ingest.allocation.core import TenantRules

log = logging.getLogger(__name__)

RECHECK_S = 5.0
# The allocator memoises one assignment per distinct line key. A stream brings new resource ids for ever, so the
# allocator of a tenant is compiled afresh after this many records: memory stays bounded, the answers are the same.
MEMO_RECORDS = 200_000


class RulesSource(Protocol):
    """Where the rules live (the store, in production)."""

    async def current_versions(self, tenants: Collection[str]) -> dict[str, int]:
        """The current version of each tenant that has rules (tenants without rules are absent): one cheap read."""
        ...

    async def rules(self, tenant: str, version: int) -> AllocationRules:
        """The rules of `tenant`'s `version`."""
        ...


@dataclass
class _Entry:
    rules: TenantRules
    document: AllocationRules | None
    checked_at: float
    records: int = 0  # allocated since the allocator was compiled


class RulesCache:
    def __init__(
        self, source: RulesSource, recheck_s: float = RECHECK_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._source = source
        self._recheck_s = recheck_s
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self.version_reads = 0  # queries of versions (one per batch at most)
        self.rule_reads = 0  # rule documents read (one per tenant and new version)
        self.failures = 0  # reads of a tenant's rules that failed (the store, or a document that no longer validates)

    async def for_tenants(self, counts: dict[str, int]) -> dict[str, TenantRules]:
        """The rules of every tenant in `counts` (tenant → records of the batch about to be allocated), but a
        tenant whose rules have never been read successfully."""
        now = self._clock()
        due = sorted(
            t for t in counts if t not in self._entries or now - self._entries[t].checked_at >= self._recheck_s
        )
        if due:
            self.version_reads += 1
            versions = await self._source.current_versions(due)
            for tenant in due:
                try:
                    await self._refresh(tenant, versions.get(tenant), now)
                except Exception as exc:  # noqa: BLE001 - one tenant's unreadable rules must not stop the others
                    self.failures += 1
                    # Kept as they were (retried after recheck_s); a tenant with none yet is left out of the batch.
                    if tenant in self._entries:
                        self._entries[tenant].checked_at = now
                    log.error(
                        "allocation rules of tenant %s unreadable (%s): kept as before", tenant, type(exc).__name__
                    )
        out = {}
        for tenant, records in counts.items():
            entry = self._entries.get(tenant)
            if entry is None:
                continue  # its rules could not be read yet: the caller leaves its records out, counted
            entry.records += records
            if entry.document is not None and entry.records > MEMO_RECORDS:
                entry.rules = TenantRules(entry.rules.version, Allocator(entry.document))
                entry.records = records
            out[tenant] = entry.rules
        return out

    async def _refresh(self, tenant: str, version: int | None, now: float) -> None:
        entry = self._entries.get(tenant)
        if entry is not None and entry.rules.version == version:
            entry.checked_at = now
            return
        if version is None:  # no rules: records go out with an empty allocation
            self._entries[tenant] = _Entry(TenantRules.none(), None, now)
            return
        self.rule_reads += 1
        document = await self._source.rules(tenant, version)
        self._entries[tenant] = _Entry(TenantRules(version, Allocator(document)), document, now)
