"""gRPC calls carry the caller's trace: the client puts `traceparent` in the call's metadata, the server
continues the trace from it (both do nothing while tracing is off)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from outlay.telemetry import tracing


class TracingClientInterceptor(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_unary(
        self, continuation: Callable[[Any, Any], Awaitable[Any]], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        if not tracing.enabled():
            return await continuation(details, request)
        method = details.method.decode() if isinstance(details.method, bytes) else str(details.method)
        with tracing.span(f"grpc {method}", tracing.SpanKind.CLIENT):
            metadata = grpc.aio.Metadata(*(details.metadata or ()), *tracing.http_headers().items())
            traced = grpc.aio.ClientCallDetails(
                details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
            )
            return await continuation(traced, request)


class TracingServerInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: grpc.HandlerCallDetails
    ) -> Any:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None or not tracing.enabled():
            return handler
        inner = handler.unary_unary
        metadata = details.invocation_metadata

        async def traced(request: Any, context: grpc.aio.ServicerContext) -> Any:
            with tracing.server_span(f"grpc {details.method}", metadata):
                return await inner(request, context)

        return grpc.unary_unary_rpc_method_handler(
            traced, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
        )
