"""Tenants in the forecast service: the tenant a request names, and event ids that never collide across tenants.

Forecast and alert ids are derived from their content (scope, currency, history end; budget, period, threshold).
Two tenants can hold the same scope over the same days, so a non-default tenant's id is derived again with the
tenant. The `default` tenant keeps the ids it had before tenancy: a single-organisation deployment's consumers,
which replace a forecast or an alert by its id, see no change.
"""

from __future__ import annotations

from outlay.events.usage import stable_record_id
from outlay.tenancy import DEFAULT_TENANT, MAX_TENANT_ID, tenant_problem


def tenant_event_id(tenant_id: str, content_id: str) -> str:
    """`content_id` for the default tenant, else an id derived from the tenant and it."""
    return content_id if tenant_id == DEFAULT_TENANT else stable_record_id("tenant", tenant_id, content_id)


def requested_tenant(value: str) -> str:
    """The tenant a request names (empty: the default tenant); ValueError naming the field when malformed."""
    if not value:
        return DEFAULT_TENANT
    if len(value) > MAX_TENANT_ID:  # not echoed back: a request may carry megabytes
        raise ValueError(f"tenant_id: at most {MAX_TENANT_ID} characters, got {len(value)}")
    problem = tenant_problem(value)
    if problem is not None:
        raise ValueError(f"tenant_id: {problem}")
    return value
