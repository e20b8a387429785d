"""API key authentication for every /v1 route, REST and WebSocket.

The key comes from the environment (`OUTLAY_API_KEY`); `outlay run` generates one when none is set.
Clients send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`; browsers' WebSocket API cannot
set headers, so `/v1/stream` also accepts `?api_key=<key>`. Keys are compared as SHA-256 digests in
constant time and never logged. Without a configured key the gateway serves only on a loopback address
(a developer's own machine): `serve` refuses to listen elsewhere.

Beside the operator's key, admins make keys with scopes and optional expiry (`POST /v1/keys`, shown once, stored
as a digest); each route names the scope it needs (`requires`), and each key has a request rate
(`OUTLAY_RATE_LIMIT_PER_MINUTE`; `429` with `Retry-After` beyond it).

People also sign in with an e-mail and a password (`POST /v1/session`, services/gateway/routes/session.py): the
browser then holds a random session token in an HttpOnly, SameSite=Strict cookie, and a request without a key is
the cookie's person, with their role's scopes, in their tenant. A key, when one is presented, always wins (and a
wrong key is a 401, never a fall back to the cookie). Since a browser sends cookies by itself, a cookie-authenticated
request that changes something (POST, PUT, PATCH, DELETE) must carry the `X-Outlay-CSRF` header (which no other
site's page can set without this gateway's CORS consent, and it gives none) and, when the browser says where it comes
from (`Origin`, `Sec-Fetch-Site`), come from this gateway's own origin; a WebSocket handshake with the cookie must
come from this origin (`Origin`, which browsers always send there). Otherwise: 403.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from fastapi import HTTPException, WebSocketException, status
from starlette.requests import HTTPConnection

from outlay.tenancy import DEFAULT_TENANT
from services.gateway.permissions import Principal, Scope, effective_scopes
from services.gateway.tenant_stores import TenantStores, bind

WS_POLICY_VIOLATION = 1008
WS_TRY_AGAIN_LATER = 1013
SCOPE_VALUES = frozenset(s.value for s in Scope)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


# The session cookie: `__Host-` when Secure (the browser then insists on Secure, Path=/ and no Domain, so no other
# host or path can plant or shadow it); plainly named on plain-http loopback, where a browser keeps no Secure cookie.
SESSION_COOKIE = "outlay_session"
SECURE_SESSION_COOKIE = "__Host-outlay_session"
CSRF_HEADER = "X-Outlay-CSRF"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SESSION_KEY_PREFIX = "session-"  # a session's principal id reads "session-<session id>" (never its token)


def cookie_is_secure(conn: HTTPConnection) -> bool:
    """Secure everywhere but plain http to a loopback address (there a browser would not keep a Secure cookie, and
    the traffic never leaves the machine)."""
    # From the scope, not `conn.url`: building the URL decodes the query string, which a bad request may not allow.
    scheme = str(conn.scope.get("scheme", "http"))
    host = urlsplit(f"//{conn.headers.get('host', '')}").hostname or ""
    if not host and conn.scope.get("server"):
        host = str(conn.scope["server"][0])
    return not (scheme in ("http", "ws") and is_loopback(host))


def session_token(conn: HTTPConnection) -> str | None:
    """The session token the browser sent in the cookie this connection uses: only the `__Host-` one where cookies
    are Secure, since a sibling host or a plain-http answer can plant the plain one (and sign a victim in to an
    attacker's account)."""
    token = conn.cookies.get(SECURE_SESSION_COOKIE if cookie_is_secure(conn) else SESSION_COOKIE)
    return token.strip() if token and token.strip() else None


def _same_origin(origin: str, host: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == host.lower()


def cross_site_refusal(conn: HTTPConnection, *, need_header: bool) -> str | None:
    """Why a cookie-carrying request must be refused as possibly forged by another site, or None when it is this
    gateway's own page. `need_header`: an HTTP request that changes something must carry `X-Outlay-CSRF`."""
    websocket = conn.scope.get("type") == "websocket"
    origin = conn.headers.get("origin")
    host = conn.headers.get("host", "")
    if websocket and origin is None:
        return "a signed-in WebSocket must come from the dashboard's own page (no Origin header)"
    if origin is not None and not _same_origin(origin, host):
        return "the request comes from another origin than this gateway's (Origin header)"
    fetch_site = conn.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"the browser says the request is {fetch_site} (Sec-Fetch-Site header)"
    if need_header and not websocket and not conn.headers.get(CSRF_HEADER):
        return f"a signed-in request that changes something needs the {CSRF_HEADER} header (cross-site protection)"
    return None


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


MAX_BUCKETS = 100_000  # rate-limit buckets kept per limiter (one per key that made requests lately)


class RateLimiter:
    """A token bucket per key: `per_minute` requests a minute, in bursts of up to that many; 0 means no limit.
    Per gateway process (several gateways each allow the rate)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, when)

    def take(self, key_id: str) -> float:
        """0 when the request may go (and it takes a token); else the seconds until it may."""
        if self.per_minute <= 0:
            return 0.0
        now = self._clock()
        tokens, then = self._buckets.get(key_id, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - then) * self.per_minute / 60.0)
        if tokens >= 1.0:
            if len(self._buckets) >= MAX_BUCKETS and key_id not in self._buckets:
                self._buckets.clear()  # (a full bucket is the same as none: only recent heavy users lose)
            self._buckets[key_id] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key_id] = (tokens, now)
        return (1.0 - tokens) * 60.0 / self.per_minute


OPERATOR = Principal("operator", "operator", DEFAULT_TENANT, frozenset({Scope.ADMIN}), operator=True)
LOCAL = Principal("local", "local (no key configured)", DEFAULT_TENANT, frozenset({Scope.ADMIN}), operator=True)


class ApiKeyAuth:
    """A FastAPI dependency: the caller's `Principal` (also put on `request.state.principal`), or 401.

    The operator's key (`OUTLAY_API_KEY`) is an admin; keys made through `POST /v1/keys` are looked up in the store
    on every call, so a revoked or expired key is refused at once. Without an operator key nothing is checked
    (the gateway then listens on loopback only)."""

    def __init__(self, api_key: str | None, limiter: RateLimiter | None = None) -> None:
        self._digest = _digest(api_key) if api_key else None
        self._limiter = limiter or RateLimiter(0)

    @property
    def enabled(self) -> bool:
        return self._digest is not None

    async def principal(self, conn: HTTPConnection, key: str | None) -> Principal | None:
        if key is None:
            # No key: the session cookie's person, if it is an open session. (Without an operator key nothing is
            # checked, but a signed-in person still acts as themselves, with their role.)
            token = session_token(conn)
            person = None if token is None else await self.session_principal(conn, token)
            if person is not None:
                return person
            return LOCAL if self._digest is None else None
        if self._digest is None:
            return LOCAL
        if hmac.compare_digest(_digest(key), self._digest):
            return OPERATOR
        stores: TenantStores | None = getattr(conn.app.state, "tenant_stores", None)
        found = None if stores is None else await stores.api_keys.verify(key, datetime.now(UTC))
        if found is None or stores is None:
            return None
        scopes = frozenset(Scope(s) for s in found.scopes if s in SCOPE_VALUES)
        role = None
        if found.user_id is not None:
            user = await stores.users.for_tenant(found.tenant_id).get(found.user_id)
            if user is None or user.disabled_at is not None:
                return None  # a disabled person's keys stop working at once
            role = user.role
        return Principal(
            found.key_id, found.name, found.tenant_id, effective_scopes(scopes, role), found.user_id,
            maker=found.created_by_identity, follows_role=role is not None and not found.scopes,
            expires_at=found.expires_at,
        )  # fmt: skip

    async def session_principal(self, conn: HTTPConnection, token: str) -> Principal | None:
        """The person whose open session `token` is, acting with their role as it is now; None when the session is
        unknown, ended or expired, or its person is gone or disabled."""
        stores: TenantStores | None = getattr(conn.app.state, "tenant_stores", None)
        if stores is None:
            return None
        found = await stores.sign_ins.session(token, datetime.now(UTC))
        if found is None:
            return None
        user = await stores.users.for_tenant(found.tenant_id).get(found.user_id)
        if user is None or user.disabled_at is not None:
            return None  # a disabled person is signed out at once, as their keys stop
        conn.state.session = found
        # Whoever issued the token the password was set with could have set it themselves: like a key's maker, they
        # may be behind this session (the approval rule refuses them an approval of their own request through it).
        issuer = await stores.sign_ins.for_tenant(found.tenant_id).known_to(found.user_id)
        return Principal(
            f"{SESSION_KEY_PREFIX}{found.session_id}", user.name or user.email, found.tenant_id,
            effective_scopes(frozenset(), user.role), user.user_id, follows_role=True, password_issuer=issuer,
        )  # fmt: skip

    async def __call__(self, conn: HTTPConnection) -> Principal:
        websocket = conn.scope.get("type") == "websocket"
        conn.state.session = None
        principal = await self.principal(conn, presented_key(conn))
        if principal is None:
            if websocket:
                raise WebSocketException(code=WS_POLICY_VIOLATION, reason="missing or invalid API key or session")
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="missing or invalid API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>', "
                "or sign in (POST /v1/session)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if conn.state.session is not None:  # the browser's cookie authenticated this: refuse what another site forged
            method = "GET" if websocket else str(conn.scope.get("method", "GET")).upper()
            refusal = cross_site_refusal(conn, need_header=method in UNSAFE_METHODS)
            if refusal is not None:
                if websocket:
                    raise WebSocketException(code=WS_POLICY_VIOLATION, reason=refusal)
                raise HTTPException(status.HTTP_403_FORBIDDEN, refusal)
        wait = self._limiter.take(principal.key_id)
        if wait > 0:
            if websocket:
                raise WebSocketException(code=WS_TRY_AGAIN_LATER, reason="rate limit: try again later")
            raise HTTPException(
                status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                detail=f"rate limit of {self._limiter.per_minute} requests a minute for this key reached",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        conn.state.principal = principal
        bind(conn, principal.tenant_id)
        return principal


def requires(scope: Scope) -> Callable[[HTTPConnection], Awaitable[None]]:
    """A route dependency: 403 unless the caller's key has `scope` (or admin). Runs after `ApiKeyAuth`."""

    async def check(conn: HTTPConnection) -> None:
        principal: Principal | None = getattr(conn.state, "principal", None)
        if principal is not None and principal.may(scope):
            return
        if conn.scope.get("type") == "websocket":
            raise WebSocketException(code=WS_POLICY_VIOLATION, reason=f"this key lacks the scope {scope.value}")
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"this key lacks the scope {scope.value!r}")

    return check


def principal_of(conn: HTTPConnection) -> Principal:
    return conn.state.principal  # type: ignore[no-any-return]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
