"""API key authentication for every /v1 route, REST and WebSocket.

The key comes from the environment (`OUTLAY_API_KEY`); `outlay run` generates one when none is set.
Clients send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`; browsers' WebSocket API cannot
set headers, so `/v1/stream` also accepts `?api_key=<key>`. Keys are compared as SHA-256 digests in
constant time and never logged. Without a configured key the gateway serves only on a loopback address
(a developer's own machine): `serve` refuses to listen elsewhere.

Issue 6 replaces the single key with per-tenant keys, scopes and roles behind this same dependency.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from fastapi import HTTPException, WebSocketException, status
from starlette.requests import HTTPConnection

WS_POLICY_VIOLATION = 1008


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def presented_key(conn: HTTPConnection) -> str | None:
    auth = conn.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    header = conn.headers.get("x-api-key")
    if header:
        return header.strip()
    if conn.scope.get("type") == "websocket":
        return conn.query_params.get("api_key")
    return None


class ApiKeyAuth:
    """A FastAPI dependency: accepts the request when it carries the configured key."""

    def __init__(self, api_key: str | None) -> None:
        self._digest = _digest(api_key) if api_key else None

    @property
    def enabled(self) -> bool:
        return self._digest is not None

    def accepts(self, key: str | None) -> bool:
        if self._digest is None:
            return True
        return key is not None and hmac.compare_digest(_digest(key), self._digest)

    async def __call__(self, conn: HTTPConnection) -> None:
        if self.accepts(presented_key(conn)):
            return
        if conn.scope.get("type") == "websocket":
            raise WebSocketException(code=WS_POLICY_VIOLATION, reason="missing or invalid API key")
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
