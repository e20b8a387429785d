"""HTTP request metrics for ASGI apps (the gateway): count and time every request by route template.

The label is the matched route's template (`/v1/costs`, never `/v1/costs?start=…` or an id in a path),
and `unmatched` for a path no route knows, so a scanner probing random URLs cannot grow the series.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outlay.telemetry import tracing
from outlay.telemetry.metrics import record_http_request

UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    # The router puts the matched route into the scope it passes down; routes have a `path` template.
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class HttpMetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware), so streamed responses pass through untouched.

    Sits inside Starlette's error middleware: an exception that escapes the app is counted as the 500
    the error middleware then sends.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # WebSockets and lifespan are not requests
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_counting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            # Span names stay few (the method); the path is an attribute.
            with tracing.server_span(f"HTTP {scope['method']}", scope.get("headers"), **{"http.target": scope["path"]}):
                await self.app(scope, receive, send_counting)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "other"
            record_http_request(method, route_template(scope), status, time.perf_counter() - started)
