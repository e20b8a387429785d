"""The gRPC entrypoint of the forecast service: translates `ForecastService` calls into `Reforecaster` runs.

Every call answers from one tenant's data: the request's `tenant_id` (empty: `default`). Bad arguments end the
call with INVALID_ARGUMENT and a message that names the field (a malformed tenant id, or one no tenant has, among
them); a scope without cost history in the tenant, or a budget the tenant does not have, ends it with NOT_FOUND.
The standard health service (grpc.health.v1) reports SERVING for the whole server and for
`outlay.rpc.forecast.v1.ForecastService` while the service runs.
"""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from outlay.events.forecast import CostForecast
from outlay.rpc import budget_messages
from outlay.rpc import forecast_pb2 as pb
from outlay.rpc import forecast_pb2_grpc as pb_grpc
from outlay.rpc.forecast_messages import to_message
from outlay.scopes import parse_scope
from outlay.telemetry.grpc_tracing import TracingServerInterceptor
from services.forecast.models.forecaster import MAX_HORIZON_DAYS
from services.forecast.tenants import requested_tenant
from services.forecast.worker import Reforecaster

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ForecastService"].full_name
MAX_BATCH_SCOPES = 1000
MAX_BUDGET_ID = 64


class ForecastServicer(pb_grpc.ForecastServiceServicer):
    def __init__(self, reforecaster: Reforecaster, default_horizon_days: int) -> None:
        self._reforecaster = reforecaster
        self._default_horizon = default_horizon_days

    async def _tenant(self, requested: str, context: grpc.aio.ServicerContext) -> str:
        """The tenant a request names; the call ends with INVALID_ARGUMENT when it is malformed or unknown."""
        try:
            tenant_id = requested_tenant(requested)
        except ValueError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        if not await self._reforecaster.tenant_known(tenant_id):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"tenant_id: no tenant {tenant_id!r}")
        return tenant_id

    def _horizon(self, requested: int) -> int | str:
        if requested == 0:
            return self._default_horizon
        if not 1 <= requested <= MAX_HORIZON_DAYS:
            return f"horizon_days: must be between 1 and {MAX_HORIZON_DAYS} (0 for the default), got {requested}"
        return requested

    async def Forecast(self, request: pb.ForecastRequest, context: grpc.aio.ServicerContext) -> pb.ScopeForecast:  # noqa: N802
        horizon = self._horizon(request.horizon_days)
        if isinstance(horizon, str):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, horizon)
        try:
            parse_scope(request.scope)
        except ValueError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        assert isinstance(horizon, int)
        tenant_id = await self._tenant(request.tenant_id, context)
        found = await self._reforecaster.forecasts(horizon, only={request.scope}, tenant_id=tenant_id)
        chosen = _in_currency(found, request.currency)
        if chosen is None:
            currency = f" in {request.currency}" if request.currency else ""
            await context.abort(grpc.StatusCode.NOT_FOUND, f"scope: no cost history for {request.scope!r}{currency}")
        assert chosen is not None
        return to_message(chosen)

    async def ForecastBatch(  # noqa: N802
        self, request: pb.ForecastBatchRequest, context: grpc.aio.ServicerContext
    ) -> pb.ForecastBatchResponse:
        horizon = self._horizon(request.horizon_days)
        if isinstance(horizon, str):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, horizon)
        if len(request.scopes) > MAX_BATCH_SCOPES:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"scopes: at most {MAX_BATCH_SCOPES}, got {len(request.scopes)}"
            )
        for i, scope in enumerate(request.scopes):
            try:
                parse_scope(scope)
            except ValueError as exc:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"scopes[{i}]: {exc}")
        assert isinstance(horizon, int)
        tenant_id = await self._tenant(request.tenant_id, context)
        found = await self._reforecaster.forecasts(horizon, only=set(request.scopes) or None, tenant_id=tenant_id)
        return pb.ForecastBatchResponse(forecasts=[to_message(f) for f in found])

    async def BudgetStatus(  # noqa: N802
        self, request: pb.BudgetStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.BudgetStatusReply:
        if not request.budget_id or len(request.budget_id) > MAX_BUDGET_ID:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"budget_id: 1 to {MAX_BUDGET_ID} characters")
        tenant_id = await self._tenant(request.tenant_id, context)
        found = await self._reforecaster.budget_statuses(request.budget_id, tenant_id=tenant_id)
        if not found:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"budget_id: no budget {request.budget_id!r}")
        return budget_messages.to_message(found[0])

    async def BudgetReport(  # noqa: N802
        self, request: pb.BudgetReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.BudgetReportReply:
        tenant_id = await self._tenant(request.tenant_id, context)
        statuses = await self._reforecaster.budget_statuses(tenant_id=tenant_id)
        return pb.BudgetReportReply(budgets=[budget_messages.to_message(s) for s in statuses])


def _in_currency(found: list[CostForecast], currency: str) -> CostForecast | None:
    if currency:
        return next((f for f in found if f.currency == currency.upper()), None)
    if len(found) > 1:
        return next((f for f in found if f.currency == "USD"), found[0])
    return found[0] if found else None


async def start_server(
    reforecaster: Reforecaster, default_horizon_days: int, address: str
) -> tuple[grpc.aio.Server, int]:
    """A started server on `address` (port 0: any free port); returns it and its port."""
    server = grpc.aio.server(
        options=[("grpc.max_send_message_length", 256 * 1024 * 1024)], interceptors=[TracingServerInterceptor()]
    )
    pb_grpc.add_ForecastServiceServicer_to_server(ForecastServicer(reforecaster, default_horizon_days), server)
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    port = server.add_insecure_port(address)
    await server.start()
    for name in ("", SERVICE_NAME):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, port
