"""GET /v1/forecasts: cost forecasts per scope, from the forecast service (gRPC)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from outlay.events.forecast import CostForecast
from services.gateway.forecasts.client import ForecastClient
from services.gateway.query import QueryError, parse_int_in
from services.gateway.routes.costs import reject_unknown
from services.gateway.schemas import PROBLEM_RESPONSES
from services.gateway.tenant_stores import stores_of

router = APIRouter(prefix="/v1/forecasts", tags=["forecasts"])
PARAMS = frozenset({"scope", "horizon_days", "currency"})
MAX_HORIZON_DAYS = 90  # the forecast service's limit, checked here too: the gRPC field is a 32-bit integer


class ForecastsOut(BaseModel):
    forecasts: list[CostForecast]


def _tenant(request: Request) -> str:
    return stores_of(request).tenant_id


def _client(request: Request) -> ForecastClient:
    return request.app.state.forecasts  # type: ignore[no-any-return]


def _horizon(value: str | None) -> int:
    return parse_int_in(value, 1, MAX_HORIZON_DAYS, 0, "horizon_days")  # absent: 0, the service's default


@router.get(
    "",
    response_model=ForecastsOut,
    responses=PROBLEM_RESPONSES,
    summary="Daily forecasts with 80%/95% intervals, next-30-days and month-end totals, per scope",
)
async def get_forecasts(
    request: Request,
    scope: list[str] = Query(
        default=[],
        description="'total', 'billing_account_id=<id>', 'service=<name>' or 'tag:<key>=<value>' (repeat for more; "
        "none: every scope)",
    ),
    horizon_days: str | None = Query(None, description="Days ahead, 1 to 90 (default 30)"),
    currency: str | None = Query(None, description="With one scope: its forecast in this currency (default USD)"),
) -> ForecastsOut:
    reject_unknown(request, PARAMS)
    horizon = _horizon(horizon_days)
    if len(scope) == 1:
        return ForecastsOut(
            forecasts=[await _client(request).forecast(scope[0], horizon, currency or "", tenant_id=_tenant(request))]
        )
    if currency:
        raise QueryError.single("currency", "applies to a single scope; every currency is returned otherwise")
    return ForecastsOut(forecasts=await _client(request).forecast_batch(scope, horizon, tenant_id=_tenant(request)))
