"""Cost scopes, named once for every service: what a forecast, a budget or a query is about.

A scope is the total, one account, one service, or one value of a series tag key:
'total', 'billing_account_id=111122223333', 'service=AmazonEC2', 'tag:team=checkout'.
"""

from __future__ import annotations

TOTAL = "total"
ACCOUNT = "billing_account_id"
SERVICE = "service"
TAG_PREFIX = "tag:"
MAX_SCOPE_LENGTH = 1024
# Columns present on both usage_records and cost_rollups that a cost query (GET /v1/costs, a question to
# /v1/ask) may group or filter by, besides `tag:KEY`.
DIMENSIONS: tuple[str, ...] = (
    "billing_account_id",
    "sub_account_id",
    "region",
    "service",
    "resource_id",
    "provider",
    "cost_kind",
    "currency",
)


def scope_name(dimensions: dict[str, str]) -> str:
    return "|".join(f"{k}={v}" for k, v in dimensions.items()) if dimensions else TOTAL


def parse_scope(scope: str) -> dict[str, str]:
    """The dimensions of a scope name; ValueError starting 'scope: ' that says what is wrong with it."""
    if scope == TOTAL:
        return {}
    if len(scope) > MAX_SCOPE_LENGTH or "\x00" in scope:
        raise ValueError(f"scope: at most {MAX_SCOPE_LENGTH} characters, without NUL")
    name, sep, value = scope.partition("=")
    if not sep or not value:
        raise ValueError(f"scope: expected 'total' or '<dimension>=<value>', got {scope!r}")
    if name not in (ACCOUNT, SERVICE) and not (name.startswith(TAG_PREFIX) and len(name) > len(TAG_PREFIX)):
        raise ValueError(f"scope: unknown dimension {name!r} (billing_account_id, service or tag:<key>)")
    return {name: value}
