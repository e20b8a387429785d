"""Signing in with an e-mail and a password, through the real gateway (uvicorn on a loopback port, PostgreSQL):
set-password tokens, the session cookie and its flags, wrong passwords, throttling, idle and absolute expiry,
sign-out, cross-site refusal (CSRF, Origin) on REST and the WebSocket, tenants and roles; and the migration on
SQLite too.

Cookies are sent by hand (a `Cookie` header per request), like a browser that holds one cookie, so each test says
exactly which session a request carries."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy import update
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from outlay.events.plan import ActionPlan, Kind, PlannedChange, PlanStatus, Risk
from outlay.kafka.embedded_broker import free_port
from outlay.settings import Settings
from outlay.store.engine import alembic_config, make_engine, upgrade
from outlay.store.models import SessionRow
from outlay.store.plans import PlanStore
from services.gateway.app import create_app
from services.gateway.main import serving
from services.gateway.routes.session import LoginThrottle

OPERATOR = "session-operator-key-0123456789"
PASSWORD = "a long enough passphrase"
COSTS = "/v1/costs?start=2024-05-01&end=2024-05-02&granularity=day"
CSRF = {"X-Outlay-CSRF": "1"}
NOW = datetime.now(UTC).replace(microsecond=0)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Gateway:
    app: FastAPI
    http: httpx.AsyncClient  # to http://127.0.0.1:<port>: keeps no cookies (each request names its own)
    port: int
    store_url: str

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def call(
        self, method: str, path: str, *, session: str | None = None, headers: dict[str, str] | None = None,
        json_body: Any = None,
    ) -> httpx.Response:  # fmt: skip
        sent = dict(headers or {})
        if session is not None:
            sent["Cookie"] = f"outlay_session={session}"
        self.http.cookies.clear()  # (httpx would otherwise send back what the last answer set)
        answer = await self.http.request(method, path, headers=sent, json=json_body)
        self.http.cookies.clear()
        return answer

    async def person(self, admin: str, email: str, role: str, password: str = PASSWORD) -> str:
        """A person of the admin key's tenant, with `password` set through a one-time token; their user id."""
        made = await self.call("POST", "/v1/users", headers=bearer(admin), json_body={"email": email, "role": role})
        assert made.status_code == 201, made.text
        user_id = str(made.json()["user_id"])
        issued = await self.call("POST", f"/v1/users/{user_id}/password-token", headers=bearer(admin))
        assert issued.status_code == 201, issued.text
        done = await self.call(
            "POST", "/v1/session/password", json_body={"token": issued.json()["token"], "password": password}
        )
        assert done.status_code == 200, done.text
        return user_id

    async def sign_in(self, email: str, password: str = PASSWORD, **more: Any) -> httpx.Response:
        body = {"email": email, "password": password, **more}
        return await self.call("POST", "/v1/session", headers={**CSRF, "Origin": self.origin}, json_body=body)

    async def session_of(self, email: str, password: str = PASSWORD, **more: Any) -> str:
        """The session token a sign-in set in the cookie."""
        answer = await self.sign_in(email, password, **more)
        assert answer.status_code == 200, answer.text
        return str(answer.cookies["outlay_session"])

    async def tenant(self, tenant_id: str) -> str:
        made = await self.call("POST", "/v1/tenants", headers=bearer(OPERATOR),
                               json_body={"tenant_id": tenant_id, "name": tenant_id})  # fmt: skip
        assert made.status_code == 201, made.text
        return str(made.json()["admin_key"])


@pytest.fixture
async def gateway(store_url: str) -> AsyncIterator[Gateway]:
    app = create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=OPERATOR), heartbeat_seconds=0.3)
    port = free_port()
    async with (
        serving(app, port, within=30),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http,
    ):
        yield Gateway(app, http, port, store_url)


@pytest.fixture
async def planned(store_url: str, broker: str) -> AsyncIterator[Gateway]:
    """A gateway that publishes decisions to a broker, over a store holding one proposed plan (`plan-session`)."""
    engine = make_engine(store_url)
    try:
        await PlanStore(engine).propose([_plan()], "us-east-1", NOW)
    finally:
        await engine.dispose()
    app = create_app(Settings(DATABASE_URL=store_url, KAFKA_BOOTSTRAP_SERVERS=broker, OUTLAY_API_KEY=OPERATOR))
    port = free_port()
    async with (
        serving(app, port, within=30),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http,
    ):
        yield Gateway(app, http, port, store_url)


def _set_cookie(answer: httpx.Response) -> str:
    cookies = answer.headers.get_list("set-cookie")
    assert len(cookies) == 1, cookies
    return cookies[0]


async def test_a_person_sets_a_password_with_a_one_time_token_and_signs_in(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    made = await gateway.call("POST", "/v1/users", headers=bearer(OPERATOR),
                              json_body={"email": "Ann@Example.test", "name": "Ann", "role": "approver"})  # fmt: skip
    user_id = made.json()["user_id"]
    issued = await gateway.call("POST", f"/v1/users/{user_id}/password-token", headers=bearer(OPERATOR))
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    assert token.startswith("olp_") and issued.json()["set_password_path"] == f"/#set-password={token}"
    listed = await gateway.call("GET", "/v1/users", headers=bearer(OPERATOR))
    assert token not in listed.text and listed.json()["users"][0]["has_password"] is False

    short = await gateway.call("POST", "/v1/session/password", json_body={"token": token, "password": "short"})
    assert short.status_code == 422
    assert short.json()["errors"] == [
        {"field": "password", "message": "Value error, must be at least 12 characters long"}
    ]
    assert "short" not in short.json()["detail"]
    done = await gateway.call("POST", "/v1/session/password", json_body={"token": token, "password": PASSWORD})
    assert done.status_code == 200, done.text
    assert done.json() == {"tenant_id": "default", "user_id": user_id, "email": "ann@example.test"}
    again = await gateway.call("POST", "/v1/session/password", json_body={"token": token, "password": PASSWORD + "!"})
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "token"  # one time only

    signed = await gateway.sign_in("ANN@example.test")  # e-mails compare without case, as they are stored
    assert signed.status_code == 200, signed.text
    assert signed.json()["role"] == "approver" and signed.json()["user_id"] == user_id
    cookie = _set_cookie(signed)
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    # Plain http on loopback: no Secure (a browser would drop it there), every other protection on.
    assert {"httponly", "samesite=strict", "path=/"} <= flags and "secure" not in flags, cookie
    assert cookie.startswith("outlay_session=")
    session = signed.cookies["outlay_session"]
    assert session not in signed.text  # only in the cookie

    me = await gateway.call("GET", "/v1/me", session=session)
    assert me.status_code == 200, me.text
    assert me.json()["user_id"] == user_id and me.json()["tenant_id"] == "default"
    assert me.json()["scopes"] == ["approve:plans", "read:anomalies", "read:budgets", "read:costs", "read:forecasts",
                                   "read:plans", "read:policies"]  # fmt: skip
    assert me.json()["operator"] is False and me.json()["key_id"].startswith("session-")
    status = (await gateway.call("GET", "/v1/session", session=session)).json()
    assert status["signed_in"] is True and status["email"] == "ann@example.test" and status["role"] == "approver"
    assert (await gateway.call("GET", "/v1/session")).json() == {**status, "signed_in": False, **_nobody()}
    listed = await gateway.call("GET", "/v1/users", headers=bearer(OPERATOR))
    assert listed.json()["users"][0]["has_password"] is True

    trail = (await gateway.call("GET", "/v1/audit", headers=bearer(OPERATOR))).json()
    events = [e["event"] for e in trail["entries"]]
    assert {"password_token_issued", "password_set", "signed_in"} <= set(events), events
    # The gateway's own log lines (this test's HTTP client logs what it sends at DEBUG: not the gateway's).
    logged = [r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    shown = json.dumps(trail) + "\n".join(logged)
    for secret in (PASSWORD, token, session):
        assert secret not in shown  # never in the audit trail nor any log line


def _nobody() -> dict[str, Any]:
    return {"tenant_id": None, "user_id": None, "email": None, "name": None, "role": None, "scopes": [],
            "session_id": None, "idle_expires_at": None, "expires_at": None}  # fmt: skip


async def test_off_loopback_the_cookie_is_secure_and_host_prefixed(gateway: Gateway) -> None:
    await gateway.person(OPERATOR, "sec@example.test", "viewer")
    answer = await gateway.call(
        "POST", "/v1/session", headers={**CSRF, "Host": "outlay.example.com", "Origin": "https://outlay.example.com"},
        json_body={"email": "sec@example.test", "password": PASSWORD},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    cookie = _set_cookie(answer)
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert cookie.startswith("__Host-outlay_session=")
    assert {"secure", "httponly", "samesite=strict", "path=/"} <= flags and not any(
        f.startswith("domain") for f in flags
    )
    token = cookie.split(";")[0].split("=", 1)[1]
    host = {"Host": "outlay.example.com"}  # where a browser sends a Secure cookie back
    me = await gateway.call("GET", "/v1/me", headers={**host, "Cookie": f"__Host-outlay_session={token}"})
    assert me.status_code == 200 and me.json()["scopes"][0] == "read:anomalies"
    # There the plain name is not read: a sibling host or a plain-http answer could have planted it.
    planted = await gateway.call("GET", "/v1/me", headers={**host, "Cookie": f"outlay_session={token}"})
    assert planted.status_code == 401


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(gateway: Gateway) -> None:
    await gateway.person(OPERATOR, "vic@example.test", "viewer")
    wrong = await gateway.sign_in("vic@example.test", PASSWORD + "x")
    unknown = await gateway.sign_in("nobody@example.test", PASSWORD)
    no_password = await gateway.call("POST", "/v1/users", headers=bearer(OPERATOR),
                                     json_body={"email": "keys-only@example.test", "role": "viewer"})  # fmt: skip
    assert no_password.status_code == 201
    keys_only = await gateway.sign_in("keys-only@example.test", PASSWORD)
    for answer in (wrong, unknown, keys_only):
        assert answer.status_code == 401
        assert answer.json()["detail"] == "email or password is wrong"
        assert "set-cookie" not in answer.headers
        assert PASSWORD not in answer.text
    bad = await gateway.call("POST", "/v1/session", headers=CSRF, json_body={"email": "vic@example.test"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "password"
    bad = await gateway.call("POST", "/v1/session", headers=CSRF,
                             json_body={"email": "vic@example.test", "password": "x", "tenant_id": "NOT A TENANT"})  # fmt: skip
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "tenant_id"
    # A disabled person is refused the same way, and their open sessions stop at once.
    people = (await gateway.call("GET", "/v1/users", headers=bearer(OPERATOR))).json()["users"]
    user_id = next(p["user_id"] for p in people if p["email"] == "vic@example.test")
    session = await gateway.session_of("vic@example.test")
    assert (await gateway.call("GET", COSTS, session=session)).status_code == 200
    await gateway.call("PATCH", f"/v1/users/{user_id}", headers=bearer(OPERATOR), json_body={"disabled": True})
    assert (await gateway.call("GET", COSTS, session=session)).status_code == 401
    assert (await gateway.sign_in("vic@example.test")).json()["detail"] == "email or password is wrong"
    # Enabled again, they sign in afresh: the sessions open before were ended, not just paused (a stolen cookie).
    await gateway.call("PATCH", f"/v1/users/{user_id}", headers=bearer(OPERATOR), json_body={"disabled": False})
    assert (await gateway.call("GET", COSTS, session=session)).status_code == 401
    assert (await gateway.sign_in("vic@example.test")).status_code == 200


async def test_repeated_failures_are_throttled_per_email_and_address(gateway: Gateway) -> None:
    await gateway.person(OPERATOR, "tom@example.test", "viewer")
    now = [0.0]
    gateway.app.state.login_throttle = LoginThrottle(failures=5, window=900, clock=lambda: now[0])
    for _ in range(5):
        assert (await gateway.sign_in("tom@example.test", "not the password")).status_code == 401
    refused = await gateway.sign_in("tom@example.test")  # even the right password: the pair must wait
    assert refused.status_code == 429, refused.text
    assert refused.headers["retry-after"] == "900" and "try again in 900 s" in refused.json()["detail"]
    assert "set-cookie" not in refused.headers
    # Unknown e-mails are throttled alike (no hint which ones exist).
    for _ in range(5):
        await gateway.sign_in("ghost@example.test")
    assert (await gateway.sign_in("ghost@example.test")).status_code == 429
    # Another client address (uvicorn takes X-Forwarded-For from a loopback proxy) is not this pair.
    elsewhere = await gateway.call("POST", "/v1/session", headers={**CSRF, "X-Forwarded-For": "203.0.113.7"},
                                   json_body={"email": "tom@example.test", "password": PASSWORD})  # fmt: skip
    assert elsewhere.status_code == 200, elsewhere.text
    now[0] = 901.0  # the failures left the window
    assert (await gateway.sign_in("tom@example.test")).status_code == 200


async def test_sessions_end_when_idle_too_long_or_past_their_end(gateway: Gateway) -> None:
    await gateway.person(OPERATOR, "ida@example.test", "viewer")
    idle, old, fresh = [await gateway.session_of("ida@example.test") for _ in range(3)]
    assert len({idle, old, fresh}) == 3
    ids = {}
    for name, token in (("idle", idle), ("old", old)):
        ids[name] = (await gateway.call("GET", "/v1/session", session=token)).json()["session_id"]
    engine = make_engine(gateway.store_url)
    try:
        async with engine.begin() as conn:
            # 12 hours and a minute unused; and one used now but signed in 8 days ago.
            await conn.execute(update(SessionRow).where(SessionRow.session_id == ids["idle"])
                               .values(last_seen_at=(NOW - timedelta(hours=12, minutes=1)).replace(tzinfo=None)))  # fmt: skip
            await conn.execute(update(SessionRow).where(SessionRow.session_id == ids["old"])
                               .values(expires_at=(NOW - timedelta(seconds=1)).replace(tzinfo=None)))  # fmt: skip
    finally:
        await engine.dispose()
    for token in (idle, old):
        assert (await gateway.call("GET", "/v1/me", session=token)).status_code == 401
        assert (await gateway.call("GET", "/v1/session", session=token)).json()["signed_in"] is False
    assert (await gateway.call("GET", "/v1/me", session=fresh)).status_code == 200
    status = (await gateway.call("GET", "/v1/session", session=fresh)).json()
    now = datetime.now(UTC)
    expires = datetime.fromisoformat(status["expires_at"].replace("Z", "+00:00"))
    idle_until = datetime.fromisoformat(status["idle_expires_at"].replace("Z", "+00:00"))
    assert timedelta(days=6, hours=23) < expires.replace(tzinfo=UTC) - now <= timedelta(days=7)
    assert timedelta(hours=11) < idle_until.replace(tzinfo=UTC) - now <= timedelta(hours=12)


async def test_sign_out_ends_the_session_server_side(gateway: Gateway) -> None:
    await gateway.person(OPERATOR, "sol@example.test", "viewer")
    session = await gateway.session_of("sol@example.test")
    other = await gateway.session_of("sol@example.test")  # another browser of the same person
    assert (await gateway.call("DELETE", "/v1/session", session=session)).status_code == 403  # no CSRF header
    out = await gateway.call("DELETE", "/v1/session", session=session, headers={**CSRF, "Origin": gateway.origin})
    assert out.status_code == 204, out.text
    cleared = out.headers.get_list("set-cookie")
    assert any(c.startswith("outlay_session=") and "Max-Age=0" in c for c in cleared), cleared
    # A copy of the cookie kept elsewhere is refused too: the session ended on the server, not only in the browser.
    assert (await gateway.call("GET", "/v1/me", session=session)).status_code == 401
    assert (await gateway.call("GET", "/v1/me", session=other)).status_code == 200  # only that session
    # Signing in again in a browser that holds a session ends the old one (no session left behind by its cookie).
    again_in = await gateway.call("POST", "/v1/session", session=other, headers=CSRF,
                                  json_body={"email": "sol@example.test", "password": PASSWORD})  # fmt: skip
    assert again_in.status_code == 200 and again_in.cookies["outlay_session"] != other
    assert (await gateway.call("GET", "/v1/me", session=other)).status_code == 401
    other = again_in.cookies["outlay_session"]
    again = await gateway.call("DELETE", "/v1/session", session=session, headers=CSRF)
    assert again.status_code == 204  # signing out twice is not an error
    trail = (await gateway.call("GET", "/v1/audit", headers=bearer(OPERATOR))).json()["entries"]
    assert [e["event"] for e in trail].count("signed_out") == 1
    # A new password ends every session of the person.
    user_id = (await gateway.call("GET", "/v1/session", session=other)).json()["user_id"]
    issued = await gateway.call("POST", f"/v1/users/{user_id}/password-token", headers=bearer(OPERATOR))
    reset = await gateway.call("POST", "/v1/session/password",
                               json_body={"token": issued.json()["token"], "password": PASSWORD + " anew"})  # fmt: skip
    assert reset.status_code == 200
    assert (await gateway.call("GET", "/v1/me", session=other)).status_code == 401
    assert (await gateway.sign_in("sol@example.test")).status_code == 401  # the old password no longer works
    assert (await gateway.sign_in("sol@example.test", PASSWORD + " anew")).status_code == 200


async def test_signed_in_changes_need_the_csrf_header_and_this_origin(gateway: Gateway) -> None:
    await gateway.person(OPERATOR, "fin@example.test", "finance")
    session = await gateway.session_of("fin@example.test")
    budget = {"name": "team", "scope": "total", "amount": "100", "currency": "USD", "period": "monthly"}
    same = {**CSRF, "Origin": gateway.origin, "Sec-Fetch-Site": "same-origin"}
    for headers, why in (
        ({}, "X-Outlay-CSRF"),
        ({**CSRF, "Origin": "https://evil.example"}, "another origin"),
        ({**CSRF, "Origin": "null"}, "another origin"),
        ({**CSRF, "Sec-Fetch-Site": "cross-site"}, "cross-site"),
        ({**CSRF, "Sec-Fetch-Site": "same-site"}, "same-site"),
    ):
        refused = await gateway.call("POST", "/v1/budgets", session=session, headers=headers, json_body=budget)
        assert refused.status_code == 403 and why in refused.json()["detail"], (headers, refused.text)
    assert (await gateway.call("GET", "/v1/budgets", session=session)).json()["budgets"] == []  # nothing was made
    made = await gateway.call("POST", "/v1/budgets", session=session, headers=same, json_body=budget)
    assert made.status_code == 201, made.text
    assert (
        await gateway.call("GET", "/v1/budgets", session=session, headers={"Origin": "https://evil.example"})
    ).status_code == 403  # fmt: skip  (a read from a foreign page is refused too when the browser says so)
    assert (await gateway.call("GET", "/v1/budgets", session=session)).status_code == 200  # reads need no header
    # GraphQL mutations and queries by POST are changes too, as far as the check goes.
    gql = await gateway.call("POST", "/graphql", session=session, json_body={"query": "{ __typename }"})
    assert gql.status_code == 403
    # Signing in itself needs the header (no other site's form can sign a browser in).
    login = await gateway.call("POST", "/v1/session", json_body={"email": "fin@example.test", "password": PASSWORD})
    assert login.status_code == 403
    # Keys are unchanged: no header needed, a cookie alongside is ignored, and a wrong key never falls back to it.
    with_key = await gateway.call("POST", "/v1/budgets", session=session, headers=bearer(OPERATOR),
                                  json_body={**budget, "name": "ops"})  # fmt: skip
    assert with_key.status_code == 201, with_key.text
    wrong_key = await gateway.call(
        "GET", "/v1/budgets", session=session, headers=bearer("olk_000000000000_" + "x" * 30)
    )
    assert wrong_key.status_code == 401


async def test_a_session_is_confined_to_its_tenant(gateway: Gateway) -> None:
    acme, globex = await gateway.tenant("acme"), await gateway.tenant("globex")
    ann_acme = await gateway.person(acme, "ann@shared.test", "admin")
    ann_globex = await gateway.person(globex, "ann@shared.test", "viewer", password=PASSWORD + " globex")
    bob_acme = await gateway.person(acme, "bob@acme.test", "viewer")
    # The same e-mail in two organisations: the password says which.
    as_acme = await gateway.session_of("ann@shared.test")
    as_globex = await gateway.session_of("ann@shared.test", PASSWORD + " globex")
    acme_me = (await gateway.call("GET", "/v1/me", session=as_acme)).json()
    globex_me = (await gateway.call("GET", "/v1/me", session=as_globex)).json()
    assert (acme_me["tenant_id"], acme_me["user_id"], acme_me["scopes"]) == ("acme", ann_acme, ["admin"])
    assert (globex_me["tenant_id"], globex_me["user_id"]) == ("globex", ann_globex)
    # Acme's admin session sees and changes Acme's people only; Globex's ids are as if they did not exist.
    people = (await gateway.call("GET", "/v1/users", session=as_acme)).json()["users"]
    assert {p["user_id"] for p in people} == {ann_acme, bob_acme}
    for path, method in ((f"/v1/users/{ann_globex}", "PATCH"), (f"/v1/users/{ann_globex}/password-token", "POST")):
        crossed = await gateway.call(method, path, session=as_acme, headers=CSRF,
                                     json_body={"role": "admin"} if method == "PATCH" else None)  # fmt: skip
        assert crossed.status_code == 404, crossed.text
    assert (await gateway.call("GET", "/v1/users", session=as_globex)).status_code == 403  # a viewer there
    budget = {"name": "acme only", "scope": "total", "amount": "5", "currency": "USD", "period": "monthly"}
    assert (
        await gateway.call("POST", "/v1/budgets", session=as_acme, headers=CSRF, json_body=budget)
    ).status_code == 201
    assert (await gateway.call("GET", "/v1/budgets", session=as_globex)).json()["budgets"] == []
    # The same password in both: the organisation must be named, and then it decides.
    issued = await gateway.call("POST", f"/v1/users/{ann_globex}/password-token", headers=bearer(globex))
    await gateway.call(
        "POST", "/v1/session/password", json_body={"token": issued.json()["token"], "password": PASSWORD}
    )
    both = await gateway.sign_in("ann@shared.test")
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "tenant_id", both.text
    named = await gateway.session_of("ann@shared.test", tenant_id="globex")
    assert (await gateway.call("GET", "/v1/me", session=named)).json()["tenant_id"] == "globex"
    assert (await gateway.sign_in("ann@shared.test", tenant_id="initech")).status_code == 401


async def test_every_role_keeps_its_permissions_in_a_session(planned: Gateway) -> None:
    gateway = planned
    ids = {role: await gateway.person(OPERATOR, f"{role}@example.test", role)
           for role in ("viewer", "engineer", "approver")}  # fmt: skip
    viewer, engineer, approver = [await gateway.session_of(f"{r}@example.test") for r in ids]
    plan = "/v1/plans/plan-session"
    assert (await gateway.call("GET", COSTS, session=viewer)).status_code == 200
    for session, path in ((viewer, "approve"), (viewer, "request-approval"), (engineer, "approve")):
        refused = await gateway.call("POST", f"{plan}/{path}", session=session, headers=CSRF, json_body={})
        assert refused.status_code == 403, refused.text
    assert (await gateway.call("GET", "/v1/users", session=viewer)).status_code == 403
    asked = await gateway.call("POST", f"{plan}/request-approval", session=engineer, headers=CSRF,
                               json_body={"comment": "low risk"})  # fmt: skip
    assert asked.status_code == 200 and asked.json()["requested_by"] == f"user:{ids['engineer']}", asked.text
    approved = await gateway.call("POST", f"{plan}/approve", session=approver, headers=CSRF, json_body={})
    assert approved.status_code == 202, approved.text
    trail = (await gateway.call("GET", f"{plan}/audit", session=approver)).json()
    actors = {e["event"]: e["actor"] for e in trail["entries"]}
    assert f"user {ids['engineer']}" in actors["approval_requested"], trail
    assert f"user {ids['approver']}" in actors["approve_requested"], trail
    # A role change applies to open sessions at once.
    await gateway.call("PATCH", f"/v1/users/{ids['viewer']}", headers=bearer(OPERATOR), json_body={"role": "admin"})
    assert (await gateway.call("GET", "/v1/users", session=viewer)).status_code == 200


def _plan() -> ActionPlan:
    change = PlannedChange(
        resource_id="i-0session", kind=Kind.RIGHTSIZE, summary="resize", monthly_saving=Decimal("50"), confidence=1,
        risk=Risk.LOW, current="m5.2xlarge", proposed="m5.large",
    )  # fmt: skip
    return ActionPlan(
        plan_id="plan-session", status=PlanStatus.PROPOSED, region="us-east-1", title="Rightsize", changes=[change],
        monthly_saving=Decimal(50), risk=Risk.LOW, requires_approval=True, created_at=NOW, updated_at=NOW,
    )  # fmt: skip


async def test_the_stream_takes_the_session_from_this_origin_only(gateway: Gateway) -> None:
    await gateway.person(OPERATOR, "wes@example.test", "viewer")
    session = await gateway.session_of("wes@example.test")
    url = f"ws://127.0.0.1:{gateway.port}/v1/stream"
    cookie = {"Cookie": f"outlay_session={session}"}
    for origin in ("https://evil.example", None):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url, additional_headers=cookie, origin=origin):  # type: ignore[arg-type]
                pass
        assert refused.value.response.status_code == 403
    async with connect(url, additional_headers=cookie, origin=gateway.origin) as ws:  # type: ignore[arg-type]
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["type"] == "hello"
        # Signing out closes the open stream at its next check (each heartbeat, 0.3 s here).
        out = await gateway.call("DELETE", "/v1/session", session=session, headers=CSRF)
        assert out.status_code == 204
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(10):
                while True:
                    await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_the_migration_makes_the_tables_on_sqlite_and_goes_down_and_up(sqlite_url: str) -> None:
    def tables() -> set[str]:
        with sqlite3.connect(sqlite_url.split("///", 1)[1]) as conn:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    mine = {"user_passwords", "password_tokens", "user_sessions"}
    assert mine <= tables()
    await asyncio.to_thread(command.downgrade, alembic_config(sqlite_url), "0019")
    assert not mine & tables() and "iac_estimates" in tables()
    await upgrade(sqlite_url)
    assert mine <= tables()


async def test_the_stores_work_on_both_dialects(dialect_url: str) -> None:
    from outlay.passwords import hash_password
    from outlay.store.sessions import SignInStore
    from outlay.store.tenants import UserStore

    engine = make_engine(dialect_url)
    try:
        user = await UserStore(engine).create("dia@example.test", "Dia", "viewer")
        store = SignInStore(engine)
        token, _ = await store.issue_password_token(user.user_id, "test", NOW)
        newer, _ = await store.issue_password_token(user.user_id, "test", NOW)
        assert await store.set_password(token, hash_password(PASSWORD), NOW) is None  # replaced by the newer one
        assert await store.set_password(newer, hash_password(PASSWORD), NOW) == ("default", user.user_id)
        assert await store.set_password(newer, hash_password(PASSWORD), NOW) is None  # used
        assert [c.user_id for c in await store.login_candidates(" DIA@example.test ")] == [user.user_id]
        session, secret = await store.start_session(user.user_id, NOW)
        assert (await store.session(secret, NOW + timedelta(hours=11))) is not None
        assert (await store.session(secret, NOW + timedelta(hours=11) + timedelta(hours=12, seconds=1))) is None
        ended = await store.end_session(secret, NOW)
        assert ended is not None and ended.session_id == session.session_id
        assert await store.session(secret, NOW) is None
        assert await store.end_session(secret, NOW) is None  # once
    finally:
        await engine.dispose()


async def test_an_admin_who_set_an_approvers_password_cannot_approve_their_own_request_through_it(
    planned: Gateway,
) -> None:
    """Two people approve a plan: whoever issued the token an approver's password was set with could know that
    password, so, like the maker of a key, they are refused an approval of their own request through that session."""
    gateway = planned
    await gateway.person(OPERATOR, "boss@example.test", "admin")
    made = await gateway.call("POST", "/v1/users", headers=bearer(OPERATOR),
                              json_body={"email": "ann@example.test", "role": "approver"})  # fmt: skip
    ann_id = made.json()["user_id"]
    boss = await gateway.session_of("boss@example.test")
    plan = "/v1/plans/plan-session"
    asked = await gateway.call("POST", f"{plan}/request-approval", session=boss, headers=CSRF, json_body={})
    assert asked.status_code == 200, asked.text
    token = await gateway.call("POST", f"/v1/users/{ann_id}/password-token", session=boss, headers=CSRF)
    assert token.status_code == 201, token.text
    done = await gateway.call("POST", "/v1/session/password", headers=CSRF,
                              json_body={"token": token.json()["token"], "password": "the boss knows this"})  # fmt: skip
    assert done.status_code < 300, done.text
    ann = await gateway.session_of("ann@example.test", "the boss knows this")
    refused = await gateway.call("POST", f"{plan}/approve", session=ann, headers=CSRF, json_body={})
    assert refused.status_code == 403, refused.text


async def test_concurrent_wrong_passwords_are_throttled_as_they_arrive(gateway: Gateway) -> None:
    """Guesses sent at once are counted before their passwords are checked: at most the limit get an answer."""
    await gateway.person(OPERATOR, "cara@example.test", "viewer")
    body = {"email": "cara@example.test", "password": "not the right one at all"}
    replies = await asyncio.gather(*(gateway.http.post("/v1/session", json=body, headers=CSRF) for _ in range(20)))
    codes = sorted(r.status_code for r in replies)
    assert codes.count(401) == LoginThrottle().failures and codes.count(429) == 20 - LoginThrottle().failures, codes
