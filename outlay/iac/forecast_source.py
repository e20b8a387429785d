"""The IaC commands' view of the Outlay API (`OUTLAY_API_URL` with `OUTLAY_API_KEY`, through `api_call`): the gate's
month-end forecast of a scope (`GET /v1/forecasts`), or the reason it could not be had, and `outlay report-estimate`'s
`POST /v1/iac/estimates`. The gate still decides when the API is away (the policy file may carry a fallback
forecast), so every failure of the forecast is an answer, not an exception."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

TIMEOUT_SECONDS = 10.0


def api_call(
    method: str, api_url: str, api_key: str, path: str, *, timeout: float = TIMEOUT_SECONDS, **request: Any
) -> httpx.Response:
    """One request to the Outlay API at `api_url` with the bearer key (`params`, `json` as httpx takes them); raises
    httpx.HTTPError when it cannot be reached."""
    url = api_url.rstrip("/") + path
    return httpx.request(method, url, headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout, **request)


def month_end_forecast(
    api_url: str, api_key: str, scope: str, timeout: float = TIMEOUT_SECONDS
) -> tuple[Decimal | None, str]:
    """(the expected month-end total, where it came from) or (None, why not)."""
    url = api_url.rstrip("/") + "/v1/forecasts"
    try:
        reply = api_call("GET", api_url, api_key, "/v1/forecasts", params={"scope": scope}, timeout=timeout)
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
