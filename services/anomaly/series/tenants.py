"""Every series belongs to one tenant, and its name says which.

A series name is `[<tenant>/]<granularity>|<dimensions>`: the default tenant's series keep the names they had
before tenants existed (`minute|total`, `hour|billing_account_id=…|service=…`), and another tenant's series are
prefixed with its id (`acme/minute|total`). Tenant ids hold no `/` or `|` and granularities no `/`, so the
prefix is read back unambiguously. The name is the series' identity everywhere in the worker (the internal
topic's key, the state table's key, the anomaly id's hash, the published anomaly's `series` and key), so two
tenants with identical usage never share a series, a detector state or an incident. The tenant is not a
dimension: dimensions are what root cause explains an anomaly with, and every line of a series has its tenant.
"""

from __future__ import annotations

from outlay.events.anomaly import AnomalyFeedback
from outlay.tenancy import DEFAULT_TENANT

SEPARATOR = "/"


def qualified(tenant_id: str, name: str) -> str:
    """The series `name` (granularity and dimensions) of `tenant_id`."""
    return name if tenant_id == DEFAULT_TENANT else f"{tenant_id}{SEPARATOR}{name}"


def split_series(series: str) -> tuple[str, str]:
    """(tenant, name without the tenant) of a series name."""
    tenant, name = _prefix(series)
    return tenant or DEFAULT_TENANT, name


def tenant_of(series: str) -> str:
    return split_series(series)[0]


def feedback_series(feedback: AnomalyFeedback) -> str | None:
    """The series a verdict is about, read within the verdict's own tenant: a name without a tenant is that
    tenant's series, a name qualified by another tenant is refused (None). A verdict can so never reach
    another tenant's series, whatever series or anomaly id it names."""
    tenant, name = _prefix(feedback.series)
    if tenant is not None and tenant != feedback.tenant_id:
        return None
    return qualified(feedback.tenant_id, name)


def _prefix(series: str) -> tuple[str | None, str]:
    """(the tenant the name is explicitly qualified with, or None; the name without it)."""
    head, bar, rest = series.partition("|")
    tenant, slash, granularity = head.partition(SEPARATOR)
    if not slash:
        return None, series
    return tenant, granularity + bar + rest
