"""The gateway's gRPC client of the forecast service, with a deadline on every call, and the translation of its
status codes into the API's problems (a bad argument names its field; the service away is a 503, not a 500).

Every method takes the caller's tenant (`tenant_id=`, keyword-only and required, so no route can forget it): the
service answers from that tenant's costs and budgets only."""

from __future__ import annotations

import grpc
from fastapi import HTTPException

from outlay.budgets import BudgetStatus
from outlay.events.forecast import CostForecast
from outlay.rpc import budget_messages
from outlay.rpc import forecast_pb2 as pb
from outlay.rpc import forecast_pb2_grpc as pb_grpc
from outlay.rpc.forecast_messages import from_message
from outlay.telemetry.grpc_tracing import TracingClientInterceptor
from services.gateway.query import FieldError, QueryError

DEADLINE_S = 15.0  # a forecast of every scope reads a year of rollups and runs the models
# Every scope's 90-day forecast with hours is ~11.5 KB: gRPC's 4 MB default would cap a batch near 365 scopes.
MESSAGE_LIMITS = [("grpc.max_receive_message_length", 256 * 1024 * 1024)]


class ForecastUnavailable(Exception):
    """The forecast service could not answer (down, or past the deadline)."""


class ForecastClient:
    def __init__(self, target: str, deadline_s: float = DEADLINE_S) -> None:
        self._channel = grpc.aio.insecure_channel(
            target, options=MESSAGE_LIMITS, interceptors=[TracingClientInterceptor()]
        )
        self._stub = pb_grpc.ForecastServiceStub(self._channel)
        self._deadline = deadline_s

    async def close(self) -> None:
        await self._channel.close()

    async def forecast(self, scope: str, horizon_days: int, currency: str, *, tenant_id: str) -> CostForecast:
        request = pb.ForecastRequest(scope=scope, horizon_days=horizon_days, currency=currency, tenant_id=tenant_id)
        try:
            return from_message(await self._stub.Forecast(request, timeout=self._deadline))
        except grpc.aio.AioRpcError as exc:
            raise _translated(exc) from None

    async def forecast_batch(self, scopes: list[str], horizon_days: int, *, tenant_id: str) -> list[CostForecast]:
        request = pb.ForecastBatchRequest(scopes=scopes, horizon_days=horizon_days, tenant_id=tenant_id)
        try:
            reply = await self._stub.ForecastBatch(request, timeout=self._deadline)
        except grpc.aio.AioRpcError as exc:
            raise _translated(exc) from None
        return [from_message(m) for m in reply.forecasts]

    async def budget_status(self, budget_id: str, *, tenant_id: str) -> BudgetStatus:
        request = pb.BudgetStatusRequest(budget_id=budget_id, tenant_id=tenant_id)
        try:
            reply = await self._stub.BudgetStatus(request, timeout=self._deadline)
        except grpc.aio.AioRpcError as exc:
            raise _translated(exc) from None
        return budget_messages.from_message(reply)

    async def budget_report(self, *, tenant_id: str) -> list[BudgetStatus]:
        try:
            reply = await self._stub.BudgetReport(pb.BudgetReportRequest(tenant_id=tenant_id), timeout=self._deadline)
        except grpc.aio.AioRpcError as exc:
            raise _translated(exc) from None
        return [budget_messages.from_message(m) for m in reply.budgets]


def _translated(exc: grpc.aio.AioRpcError) -> Exception:
    detail = exc.details() or ""
    code = exc.code()
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        field, _, message = detail.partition(": ")
        return QueryError([FieldError(field, message or detail)])
    if code is grpc.StatusCode.NOT_FOUND:
        return HTTPException(404, detail)
    return ForecastUnavailable(f"{code.name}: {detail}")
