"""Allocate usage records under their tenants' rules: plain Python, no I/O.

The engine (`outlay.allocation.engine.Allocator`) decides each dimension; this module only turns its assignments into
the event and keeps one bad rule from stopping a batch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from outlay.allocation.engine import Allocator, Assignment, PatternTooSlow
from outlay.events import AllocatedUsage, DimensionAssignment, UsageRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TenantRules:
    """One tenant's rules as the stage applies them: the version and its compiled allocator; both None when the
    tenant has no rules."""

    version: int | None
    allocator: Allocator | None

    @classmethod
    def none(cls) -> TenantRules:
        return cls(None, None)


def wire(assignment: Assignment) -> DimensionAssignment:
    return DimensionAssignment(kind=assignment.kind, value=assignment.value)


def allocated(record: UsageRecord, rules: TenantRules) -> AllocatedUsage:
    """`record` with every dimension's assignment under `rules`. A tenant without rules has no dimensions: the
    record goes out with an empty allocation and no version, so a consumer still sees every record of the stream."""
    if rules.allocator is None:
        return AllocatedUsage(usage=record, allocation={}, rules_version=None)
    assignments = rules.allocator.allocate(record)
    return AllocatedUsage(
        usage=record,
        allocation={name: wire(a) for name, a in assignments.items()},
        rules_version=rules.version,
    )


@dataclass
class Allocated:
    """What one batch gave: the events to publish, and the records no event could be made for."""

    events: list[AllocatedUsage] = field(default_factory=list)
    unallocatable: int = 0


def allocate_records(records: Iterable[UsageRecord], rules: Mapping[str, TenantRules]) -> Allocated:
    """Every record under its own tenant's rules; a tenant absent from `rules` (they could not be read) has its
    records left out, counted."""
    out = Allocated()
    for record in records:
        tenant_rules = rules.get(record.tenant_id)
        if tenant_rules is None:
            out.unallocatable += 1
            continue
        try:
            out.events.append(allocated(record, tenant_rules))
        except PatternTooSlow as exc:
            # The report of this period fails the same way (a 422 naming the rules): the rules must change. Publishing
            # the record as unallocated would state something the rules do not say, so it is left out and counted.
            out.unallocatable += 1
            log.warning(
                "record %s of tenant %s not allocated under rules v%s: %s",
                record.record_id, record.tenant_id, tenant_rules.version, exc,
            )  # fmt: skip
    return out
