"""The gate's view of the forecast service: a scope's month-end forecast through the public API (`GET
/v1/forecasts`), or the reason it could not be had. The gate still decides when the API is away (the policy
file may carry a fallback forecast), so every failure is an answer, not an exception."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import httpx

TIMEOUT_SECONDS = 10.0


def month_end_forecast(
    api_url: str, api_key: str, scope: str, timeout: float = TIMEOUT_SECONDS
) -> tuple[Decimal | None, str]:
    """(the expected month-end total, where it came from) or (None, why not)."""
    url = api_url.rstrip("/") + "/v1/forecasts"
    try:
        reply = httpx.get(url, params={"scope": scope}, headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout)
    except httpx.HTTPError as exc:
        return None, f"the forecast API at {url} is not reachable ({type(exc).__name__})"
    if reply.status_code != 200:
        return None, f"the forecast API at {url} answered {reply.status_code}"
    try:
        forecasts = reply.json()["forecasts"]
        usd = [f for f in forecasts if f.get("currency", "USD") == "USD" and f.get("scope", scope) == scope]
        expected = Decimal(str(usd[0]["month_end"]["expected"]))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, InvalidOperation):
        return None, f"the forecast API at {url} gave no USD forecast for {scope!r}"
    if not expected.is_finite():
        return None, f"the forecast API at {url} gave no usable forecast for {scope!r}"
    return expected, f"forecast API at {url}"
