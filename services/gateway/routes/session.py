"""Signing in with an e-mail and a password: the browser's session.

- `POST /v1/session` {email, password[, tenant_id]} starts a session: a random token (256 bits) in a cookie, stored
  server-side only as its SHA-256 digest. The cookie is HttpOnly (no script reads it), SameSite=Strict (no other
  site's page makes the browser send it), Path=/, and Secure (named `__Host-outlay_session`) unless the request is
  plain http to a loopback address, where browsers would drop a Secure cookie (a developer's `make run`; named
  `outlay_session` there). A session ends after 12 hours unused or 7 days after sign-in, whichever is first
  (`outlay.store.sessions`), when the person signs out, sets a new password, or is disabled.
- A wrong password, an unknown e-mail, a disabled person and a person with no password get the same 401 (and cost
  the same scrypt check), so the answer does not tell which e-mails have accounts. After `LoginThrottle.failures`
  failures for one e-mail from one client address within `LoginThrottle.window` seconds, sign-ins for that pair are
  refused with 429 and `Retry-After` until the oldest failure is out of the window (per gateway process).
- `DELETE /v1/session` signs out: the session ends server-side (its cookie is refused from the next request on,
  wherever a copy of it is) and the browser is told to drop the cookie.
- `GET /v1/session` says whether the browser is signed in, and as whom (200 either way, so the dashboard can ask on
  load without a failed request).
- `POST /v1/session/password` {token, password} sets a person's password with the one-time token an admin issued
  (`POST /v1/users/{user_id}/password-token`); their other sessions end.

POST and DELETE here need the `X-Outlay-CSRF` header and, when the browser sends them, a same-origin `Origin` and
`Sec-Fetch-Site` (services/gateway/auth.py): no other site's page can sign a browser in or out. Passwords and tokens
are never logged, stored or echoed in errors.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from outlay.passwords import MAX_LENGTH, decoy_hash, hash_password, password_problem, verify_password
from outlay.store.audit import AuditEvent
from outlay.store.sessions import SESSION_IDLE, SESSION_MAX, StoredSession
from outlay.store.tenants import User
from outlay.tenancy import TENANT_PATTERN
from outlay.text import printable
from services.gateway.auth import (
    SECURE_SESSION_COOKIE,
    SESSION_COOKIE,
    cookie_is_secure,
    cross_site_refusal,
    session_token,
)
from services.gateway.permissions import ROLES, effective_scopes
from services.gateway.routes.costs import reject_unknown
from services.gateway.schemas import PROBLEM_RESPONSES
from services.gateway.tenant_stores import TenantStores, bind

router = APIRouter(prefix="/v1/session", tags=["session"])

WRONG = "email or password is wrong"  # one answer for every failed sign-in: it must not tell which part was wrong


class LoginThrottle:
    """Failed sign-ins per (e-mail, client address) in a sliding window: after `failures` of them within `window`
    seconds, that pair waits until the oldest is out of the window. A success forgets the pair's failures. Keyed on
    both, so one address guessing many e-mails, or many addresses guessing one, is slowed where it guesses, and a
    stranger's failures never lock a person out from their own address."""

    MAX_KEYS = 100_000  # pairs remembered; beyond, the longest-untouched are forgotten first

    def __init__(self, failures: int = 5, window: float = 900.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures = failures
        self.window = window
        self._clock = clock
        self._seen: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        times = self._seen.get(key, deque())
        cutoff = self._clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        return times

    def wait(self, key: tuple[str, str]) -> float:
        """0 when the pair may try now; else the seconds until it may."""
        times = self._recent(key)
        if len(times) < self.failures:
            return 0.0
        return max(0.0, times[0] + self.window - self._clock())

    def failed(self, key: tuple[str, str]) -> None:
        times = self._recent(key)
        times.append(self._clock())
        self._seen[key] = times
        self._seen.move_to_end(key)
        while len(self._seen) > self.MAX_KEYS:
            self._seen.popitem(last=False)

    def succeeded(self, key: tuple[str, str]) -> None:
        self._seen.pop(key, None)


class SignInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, description="The e-mail an admin added you with")
    password: str = Field(min_length=1, max_length=MAX_LENGTH, description="Your password (never stored or logged)")
    tenant_id: str | None = Field(
        default=None, max_length=64, pattern=TENANT_PATTERN,
        description="The organisation, needed only when this e-mail and password sign in to several",
    )  # fmt: skip

    _printable = field_validator("email")(printable)


class SetPasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(
        min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$", description="The one-time token an admin gave you"
    )
    password: str = Field(description="The new password: at least 12 characters")

    @field_validator("password")
    @classmethod
    def _strong_enough(cls, value: str) -> str:
        problem = password_problem(value)
        if problem is not None:
            raise ValueError(problem)  # (the message names the rule, never the value)
        return value


class SessionOut(BaseModel):
    signed_in: bool
    tenant_id: str | None = None
    user_id: str | None = None
    email: str | None = None
    name: str | None = None
    role: str | None = None
    scopes: list[str] = Field(default_factory=list)
    session_id: str | None = Field(default=None, description="The session's public id (not its secret)")
    idle_expires_at: datetime | None = Field(default=None, description="When it ends unless used before")
    expires_at: datetime | None = Field(default=None, description="When it ends, used or not")


class PasswordSetOut(BaseModel):
    tenant_id: str
    user_id: str
    email: str


def _out(user: User, session: StoredSession) -> SessionOut:
    scopes = effective_scopes(frozenset(), user.role) if user.role in ROLES else frozenset()
    return SessionOut(
        signed_in=True, tenant_id=user.tenant_id, user_id=user.user_id, email=user.email, name=user.name,
        role=user.role, scopes=sorted(s.value for s in scopes), session_id=session.session_id,
        idle_expires_at=session.idle_until(SESSION_IDLE), expires_at=session.expires_at,
    )  # fmt: skip


def _refuse_cross_site(request: Request, *, need_header: bool) -> None:
    refusal = cross_site_refusal(request, need_header=need_header)
    if refusal is not None:
        raise HTTPException(403, refusal)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _template(request: Request) -> TenantStores:
    return request.app.state.tenant_stores  # type: ignore[no-any-return]


@router.post(
    "", response_model=SessionOut, responses=PROBLEM_RESPONSES,
    summary="Sign in with an e-mail and a password (sets the session cookie)",
)  # fmt: skip
async def sign_in(request: Request, response: Response, body: SignInIn) -> SessionOut:
    reject_unknown(request, frozenset())
    _refuse_cross_site(request, need_header=True)
    throttle: LoginThrottle = request.app.state.login_throttle
    who = (body.email.strip().lower(), _client(request))
    wait = throttle.wait(who)
    if wait > 0:
        raise HTTPException(
            429, f"too many failed sign-ins for this e-mail from this address: try again in {math.ceil(wait)} s",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )  # fmt: skip
    # Counted as a failure now, before the password check (no await in between): concurrent guesses cannot all pass
    # the check above while the first ones are still hashing. A success forgets the pair's failures.
    throttle.failed(who)
    template = _template(request)
    candidates = await template.sign_ins.login_candidates(body.email, body.tenant_id)
    # scrypt takes ~50 ms of CPU: in a thread, so the gateway's other requests and streams go on meanwhile.
    matched = [c for c in candidates if await asyncio.to_thread(verify_password, body.password, c.password_hash)]
    if not candidates:
        await asyncio.to_thread(verify_password, body.password, decoy_hash())  # as long as a wrong password
    if not matched:
        raise HTTPException(401, WRONG)
    if len(matched) > 1:
        tenants = ", ".join(c.tenant_id for c in matched)
        raise HTTPException(422, f"tenant_id: this e-mail and password sign in to several organisations ({tenants})")
    throttle.succeeded(who)
    found = matched[0]
    stores = bind(request, found.tenant_id)
    user = await stores.users.get(found.user_id)
    if user is None:  # (removed between the two reads)
        raise HTTPException(401, WRONG)
    now = datetime.now(UTC)
    previous = session_token(request)
    if previous is not None:  # a browser signing in again leaves no session of its old cookie behind
        await template.sign_ins.end_session(previous, now)
    session, token = await stores.sign_ins.start_session(user.user_id, now)
    secure = cookie_is_secure(request)
    response.set_cookie(
        SECURE_SESSION_COOKIE if secure else SESSION_COOKIE, token, max_age=int(SESSION_MAX.total_seconds()),
        path="/", secure=secure, httponly=True, samesite="strict",
    )  # fmt: skip
    actor = f"{user.name or user.email} (session {session.session_id}, user {user.user_id})"
    await stores.audit.append([AuditEvent(now, actor, f"user:{user.user_id}", "signed_in", f"from {_client(request)}")])
    return _out(user, session)


@router.get("", response_model=SessionOut, responses=PROBLEM_RESPONSES, summary="Whether this browser is signed in")
async def session_status(request: Request) -> SessionOut:
    reject_unknown(request, frozenset())
    token = session_token(request)
    if token is None:
        return SessionOut(signed_in=False)
    template = _template(request)
    session = await template.sign_ins.session(token, datetime.now(UTC))
    user = None if session is None else await template.users.for_tenant(session.tenant_id).get(session.user_id)
    if session is None or user is None or user.disabled_at is not None:
        return SessionOut(signed_in=False)
    return _out(user, session)


@router.delete("", status_code=204, responses=PROBLEM_RESPONSES, summary="Sign out (ends the session server-side)")
async def sign_out(request: Request) -> Response:
    reject_unknown(request, frozenset())
    _refuse_cross_site(request, need_header=True)
    token = session_token(request)
    now = datetime.now(UTC)
    ended = None if token is None else await _template(request).sign_ins.end_session(token, now)
    if ended is not None:
        stores = bind(request, ended.tenant_id)
        actor = f"session {ended.session_id}, user {ended.user_id}"
        await stores.audit.append([AuditEvent(now, actor, f"user:{ended.user_id}", "signed_out", "")])
    response = Response(status_code=204)
    for name, secure in ((SECURE_SESSION_COOKIE, True), (SESSION_COOKIE, False)):
        response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="strict")
    return response


@router.post(
    "/password", response_model=PasswordSetOut, responses=PROBLEM_RESPONSES,
    summary="Set your password with the one-time token an admin gave you (ends your other sessions)",
)  # fmt: skip
async def set_password(request: Request, body: SetPasswordIn) -> PasswordSetOut:
    reject_unknown(request, frozenset())
    _refuse_cross_site(request, need_header=False)  # the token authenticates; a foreign page must still not post it
    now = datetime.now(UTC)
    refused = HTTPException(422, "token: unknown, already used or expired: ask an admin for a new one")
    # Looked up before the (deliberately slow) hash: a made-up token costs a query, not 16 MiB of scrypt.
    if not await _template(request).sign_ins.token_is_open(body.token, now):
        raise refused
    hashed = await asyncio.to_thread(hash_password, body.password)
    done = await _template(request).sign_ins.set_password(body.token, hashed, now)
    if done is None:  # used by a request that raced this one
        raise refused
    tenant_id, user_id = done
    stores = bind(request, tenant_id)
    user = await stores.users.get(user_id)
    assert user is not None  # (set_password checked it, in the same transaction)
    actor = f"{user.name or user.email} (set-password token, user {user_id})"
    await stores.audit.append([AuditEvent(now, actor, f"user:{user_id}", "password_set", "")])
    return PasswordSetOut(tenant_id=tenant_id, user_id=user_id, email=user.email)
